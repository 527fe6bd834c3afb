"""Cash-flow overview tab: the KPI tiles against the previous period and cash in per month (collected, then
the forecast's layers)."""
from __future__ import annotations

from decimal import Decimal

import altair as alt
import pandas as pd
import streamlit as st

from app import ui
from app.views.cashflow_kit import chart, col, days, frame, helptext, money, num, ratio, table, tile, tip
from core import metrics as M
from core.metrics import Filters


def totals(rows: list[dict]) -> dict:
    out: dict = {}
    for r in rows or []:
        for k in ("bookings", "accepted", "invoiced", "collected"):
            out[k] = out.get(k, Decimal("0")) + Decimal(r.get(k) or 0)
    return out


def overview_tab(f: Filters, pf: Filters, leader: bool) -> None:
    now_m, now_a = ui.read(M.monthly, f), ui.read(M.ageing, f)
    before_m, before_a = ui.read(M.monthly, pf), ui.read(M.ageing, pf)
    tn, tb = totals(now_m), totals(before_m)
    c = st.columns(4)
    tile(c[0], ui.t("cashflow.kpi.bookings"), tn.get("bookings"), money, "bookings", tb.get("bookings"))
    tile(c[1], ui.t("cashflow.kpi.invoiced"), tn.get("invoiced"), money, "invoiced", tb.get("invoiced"))
    tile(c[2], ui.t("cashflow.kpi.collected"), tn.get("collected"), money, "collected", tb.get("collected"))
    tile(c[3], ui.t("cashflow.kpi.outstanding"), now_a.get("total_outstanding"), money, "outstanding",
         before_a.get("total_outstanding"), lower_is_better=True)
    c = st.columns(4)
    tile(c[0], ui.t("cashflow.kpi.overdue_share"), now_a.get("overdue_share"), ratio, "overdue_share",
         before_a.get("overdue_share"), lower_is_better=True)
    tile(c[1], ui.t("cashflow.kpi.dso"), now_a.get("dso"), days, "dso", before_a.get("dso"), lower_is_better=True)
    tile(c[2], ui.t("cashflow.kpi.cei"), now_a.get("cei"), ratio, "cei", before_a.get("cei"))
    tile(c[3], ui.t("cashflow.kpi.unbilled"), now_a.get("unbilled"), money, "unbilled", before_a.get("unbilled"),
         lower_is_better=True)
    col_now, col_before = ui.read(M.collection, f), ui.read(M.collection, pf)
    c = st.columns(4)
    tile(c[0], ui.t("cashflow.kpi.plan_attainment"), col_now.get("plan_attainment"), ratio, "plan_attainment",
         col_before.get("plan_attainment"))
    tile(c[1], ui.t("cashflow.kpi.contract_to_cash"), col_now.get("contract_to_cash_days"), days,
         "contract_to_cash_days", col_before.get("contract_to_cash_days"), lower_is_better=True)
    tile(c[2], ui.t("cashflow.kpi.acceptance_to_invoice"), now_a.get("acceptance_to_invoice_days"), days,
         "acceptance_to_invoice_days", before_a.get("acceptance_to_invoice_days"), lower_is_better=True)
    if leader:
        w_now, w_before = ui.read(M.win_rates, f), ui.read(M.win_rates, pf)
        st.caption(ui.t("cashflow.leader_only"))
        c = st.columns(4)
        for where, k, show in ((c[0], "win_rate_count", ratio), (c[1], "win_rate_value", ratio),
                               (c[2], "bid_hit_rate", ratio), (c[3], "weighted_pipeline", money)):
            tile(where, ui.t(f"cashflow.kpi.{k}"), w_now.get(k), show, k, w_before.get(k))
    cash_chart(f, now_m)


def cash_chart(f: Filters, monthly_rows: list[dict]) -> None:
    """Collected per month in the period, then the forecast's layers (open invoices, contracted, pipeline)."""
    st.subheader(ui.t("cashflow.cash_in"), help=helptext("forecast_receivables", "forecast_contracted",
                                                         "forecast_pipeline", "payment_delay"))
    rows = [{"Month": r["month"], "Layer": ui.t("cashflow.layer.collected"), "Amount": num(r.get("collected"))}
            for r in monthly_rows]
    fc = frame(ui.read(M.forecast, f))
    layers = [(k, ui.t(label)) for k, label in (("receivables", "cashflow.layer.receivables"),
                                                 ("contracted", "cashflow.layer.contracted"),
                                                 ("pipeline", "cashflow.layer.pipeline")) if k in fc.columns]
    for r in fc.to_dict("records"):
        rows += [{"Month": r["month"], "Layer": label, "Amount": num(r.get(k))} for k, label in layers]
    df = pd.DataFrame(rows, columns=["Month", "Layer", "Amount"])
    if df.empty:
        st.info(ui.t("nothing"))
        return
    chart(alt.Chart(df).mark_bar().encode(
        x=alt.X("Month:N", title=col("month")), xOffset="Layer:N",
        y=alt.Y("Amount:Q", title=col("amount")), color=alt.Color("Layer:N", title=col("layer")),
        tooltip=[tip("Month"), tip("Layer"), tip("Amount", "Q", money=True)]))
    st.markdown(f"**{ui.t('cashflow.monthly')}**", help=helptext("bookings", "accepted", "invoiced", "collected"))
    table(frame(monthly_rows), f"monthly-{f.as_of}", "cf-monthly-dl")
    if not fc.empty:
        st.markdown(f"**{ui.t('cashflow.forecast')}**", help=helptext("forecast_receivables", "forecast_contracted",
                                                                      "forecast_pipeline", "payment_delay"))
        table(fc, f"forecast-{f.as_of}", "cf-forecast-dl")
