"""Cash-flow projects tab: the four calculations (概算, 预算, 核算, 决算) of each project and, for one chosen
project, its margin from estimate to final with a link to its contract."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app import records, ui
from app.views.cashflow_kit import chart, col, first, frame, helptext, num, ratio, table
from core import metrics as M
from core.metrics import Filters

CALCS = ("estimate", "budget", "actual", "final")


def flat(row: dict) -> dict:
    """A project row with each calculation's figures as columns (estimate_revenue, estimate_cost, ...)."""
    out = {k: v for k, v in row.items() if k not in CALCS}
    for calc in CALCS:
        for k, v in (row.get(calc) or {}).items():
            out[f"{calc}_{k}"] = v
    return out


def projects_tab(f: Filters) -> None:
    rows = ui.read(M.projects, f)
    pr = first(frame(flat(r) for r in rows), "number")
    st.subheader(ui.t("cashflow.projects"), help=helptext("four_calculations"))
    table(pr, f"projects-{f.as_of}", "cf-projects-dl", opens="contract", id_col="contract_id")
    if not rows:
        return
    names = {i: f"{r.get('number', '')} · {r.get('name', '')}" for i, r in enumerate(rows)}
    pick = st.selectbox(ui.t("cashflow.project"), list(names), key="cf-project", index=None,
                        format_func=lambda v: names.get(v, v), placeholder=ui.t("record.choose"))
    if pick is None:
        return
    row = rows[pick]
    if row.get("contract_id"):
        label = ui.t("cashflow.open", kind=ui.t("record.kind.contract"), id=row.get("number") or row["contract_id"])
        records.link("contract", int(row["contract_id"]), label)
    st.subheader(ui.t("cashflow.waterfall"), help=helptext("estimate_accuracy"))
    # each calculation's margin as a bar from the previous one's (a rise blue, a fall red), the first from zero
    steps, prev = [], None
    for calc in CALCS:
        figs = row.get(calc)
        if not figs:
            continue
        v = num(figs.get("margin"))
        start = 0.0 if prev is None else prev
        steps.append({"Step": ui.t(f"cashflow.calc.{calc}"), "From": start, "To": v,
                      "Change": v - start if prev is not None else v})
        prev = v
    c = st.columns(2)
    c[0].metric(ui.t("cashflow.kpi.estimate_accuracy"), ratio(row.get("estimate_accuracy")),
                help=helptext("estimate_accuracy"))
    c[1].metric(ui.t("cashflow.kpi.budget_execution"), ratio(row.get("budget_execution")),
                help=helptext("budget_execution"))
    if steps:
        base = alt.Chart(pd.DataFrame(steps)).encode(
            x=alt.X("Step:N", sort=[str(s["Step"]) for s in steps], title=col("step_name")))
        chart(base.mark_bar().encode(
            y=alt.Y("From:Q", title=ui.t("cashflow.margin")), y2="To:Q",
            color=alt.condition("datum.Change >= 0", alt.value("#4c78a8"), alt.value("#d62728")),
            tooltip=[alt.Tooltip("Step:N", title=col("step_name")),
                     alt.Tooltip("To:Q", format=",.2f", title=col("margin")),
                     alt.Tooltip("Change:Q", format=",.2f", title=col("change"))])
            + base.mark_tick(color="black", thickness=2).encode(y="To:Q")
            + base.mark_text(dy=-8).encode(y="To:Q", text=alt.Text("To:Q", format=",.0f")))
