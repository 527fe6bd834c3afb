"""Cash-flow tabs for leaders: the funnel and open pipeline, and where deals are stuck (days in stage, gate
waits, holds past review, the longest-stuck deals, each opening its opportunity)."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app import tables, ui
from app.views.cashflow_kit import chart, col, frame, helptext, num, step, table, tip, word
from core import metrics as M
from core.enums import OPEN_STAGES
from core.metrics import Filters

STAGE = {"stage": tables.value}


def measure(code) -> str:
    return col(str(code))


def funnel_tab(f: Filters) -> None:
    st.subheader(ui.t("cashflow.funnel"), help=helptext("funnel"))
    fn = frame(ui.read(M.funnel, f))
    if not fn.empty:
        fc = fn.assign(Step=fn["step"].map(step), Count=fn["count"].map(num),
                       Conversion=fn["conversion"].map(lambda v: None if v is None else num(v)))
        chart(alt.Chart(fc[["Step", "Count", "Conversion"]]).mark_bar().encode(
            y=alt.Y("Step:N", sort=list(fc["Step"]), title=col("step")), x=alt.X("Count:Q", title=col("count")),
            tooltip=[tip("Step"), tip("Count", "Q"),
                     alt.Tooltip("Conversion:Q", title=col("conversion"), format=".1%")]))
    table(fn, f"funnel-{f.as_of}", "cf-funnel-dl", coded={"step": step})
    st.subheader(ui.t("cashflow.pipeline"), help=helptext("weighted_pipeline"))
    by_stage = ui.read(M.win_rates, f).get("pipeline_by_stage") or {}
    pl = pd.DataFrame([{"stage": str(k), **by_stage[str(k)]} for k in OPEN_STAGES if str(k) in by_stage],
                      columns=["stage", "count", "amount", "weighted"])
    if pl.empty:
        st.info(ui.t("nothing"))
        return
    long = pl.melt(id_vars=["stage"], value_vars=["amount", "weighted"], var_name="Measure", value_name="Amount")
    long["Amount"] = long["Amount"].map(num)
    long["Stage"] = long["stage"].map(tables.value)
    long["Measure"] = long["Measure"].map(measure)
    chart(alt.Chart(long[["Stage", "Measure", "Amount"]]).mark_bar().encode(
        x=alt.X("Stage:N", sort=[tables.value(s) for s in pl["stage"]], title=col("stage")), xOffset="Measure:N",
        y=alt.Y("Amount:Q", title=col("amount")), color=alt.Color("Measure:N", title=col("measure")),
        tooltip=[tip("Stage"), tip("Measure"), tip("Amount", "Q", money=True)]))
    table(pl, f"pipeline-{f.as_of}", "cf-pipeline-dl", coded=STAGE)


def stuck_tab(f: Filters) -> None:
    s = ui.read(M.stages, f)
    st.subheader(ui.t("cashflow.durations"), help=helptext("stage_days"))
    dur = frame(s.get("days_in_stage") or s.get("durations"))
    if not dur.empty and {"stage", "median"} <= set(dur.columns):
        d = pd.DataFrame({"Stage": dur["stage"].map(tables.value), "Median": dur["median"].map(num),
                          "Worst": dur.get("worst", dur["median"]).map(num)})
        top = d["Median"].max()
        d["Bottleneck"] = d["Median"].eq(top) & (top > 0)
        base = alt.Chart(d).encode(x=alt.X("Stage:N", sort=list(d["Stage"]), title=col("stage")))
        chart(base.mark_bar().encode(
            y=alt.Y("Median:Q", title=ui.t("cashflow.median_days")),
            color=alt.condition("datum.Bottleneck", alt.value("#d62728"), alt.value("#4c78a8")),
            tooltip=[tip("Stage"), tip("Median", "Q"), tip("Worst", "Q")])
            + base.mark_tick(color="black", thickness=2, size=20).encode(y=alt.Y("Worst:Q", title=col("worst"))))
    table(dur, f"stage-days-{f.as_of}", "cf-durations-dl", coded=STAGE)
    st.subheader(ui.t("cashflow.gates"), help=helptext("gate_wait_days"))
    table(frame(s.get("gate_waits") or s.get("gates")), f"gate-waits-{f.as_of}", "cf-gates-dl",
          coded={"kind": lambda k: word("value", k)})
    st.subheader(ui.t("cashflow.holds"), help=helptext("holds_past_review"))
    table(frame(s.get("holds_past_review") or s.get("holds")), f"holds-{f.as_of}", "cf-holds-dl",
          opens="opportunity", id_col="opportunity_id")
    st.subheader(ui.t("cashflow.stuck"), help=helptext("stuck"))
    table(frame(s.get("stuck")), f"stuck-{f.as_of}", "cf-stuck-dl", coded=STAGE, opens="opportunity",
          id_col="opportunity_id")
