"""Leadership cash flow (现金流): the whole chain on one page — how much cash comes in and when, which
receivables and deals are at risk, and where money gets stuck and who owns it. Every figure comes from
core.metrics (the same functions `ltc metrics` prints); finance sees the cash tabs, leaders see all.
Only the open tab is computed; each metric's definition (core.metrics.DEFINITIONS) is its help text."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import altair as alt
import pandas as pd
import streamlit as st

from app import ui
from core import metrics as M
from core.enums import OPEN_STAGES
from core.metrics import Filters
from core.metrics.filters import month_start
from core.queries import cashflow as q

ui.guard("metrics.cash")
LEADER = ui.can("metrics.view")
st.title(ui.t("page.cashflow"))
DEFINITIONS = getattr(M, "DEFINITIONS", {})


def helptext(*names: str) -> str | None:
    """The definitions of these metrics in the person's language, one paragraph each."""
    texts = []
    for name in names:
        d = DEFINITIONS.get(name)
        if isinstance(d, dict) and (d.get(ui.lang()) or d.get("en")):
            texts.append(d.get(ui.lang()) or d.get("en"))
    return "\n\n".join(texts) or None


def num(v) -> float:
    return 0.0 if v is None or v == "" else float(v)


def short(v) -> str:
    """Money on a tile: millions as "12.35 M" so the figure fits (the tables give it to the cent)."""
    if v is None:
        return "—"
    v = Decimal(v)
    return f"{v / 1_000_000:,.2f} M" if abs(v) >= 1_000_000 else f"{v:,.2f}"


def pct(v) -> str:
    return "—" if v is None else f"{Decimal(v) * 100:.1f}%"


def days(v) -> str:
    return "—" if v is None else f"{Decimal(v):,.1f}"


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows or []))


def first(df: pd.DataFrame, col: str) -> pd.DataFrame:
    """The same table with `col` (the readable name) as its first column."""
    return df[[col, *[c for c in df.columns if c != col]]] if col in df.columns else df


def table(df: pd.DataFrame, name: str, key: str) -> None:
    if df.empty:
        st.info(ui.t("nothing"))
        return
    st.dataframe(df, hide_index=True, width="stretch", column_config=ui.column_labels(df, "cashflow"))
    ui.downloads(df, name, key=key)


def tile(col, label: str, value, fmt, name: str, before=None, lower_is_better: bool = False) -> None:
    """A KPI tile with its change against the previous period (when that is known)."""
    delta = None
    if before is not None and value is not None:
        delta = fmt(Decimal(value) - Decimal(before))
        if not delta.startswith("-"):
            delta = "+" + delta
    col.metric(label, fmt(value), delta, help=helptext(name),
               delta_color="inverse" if lower_is_better else "normal")


def chart(c) -> None:
    st.altair_chart(c, width="stretch")


# -- filters -------------------------------------------------------------------------------------------
opts = ui.read(q.filter_options)
sb = st.sidebar
sb.subheader(ui.t("cashflow.filters"))
as_of = sb.date_input(ui.t("cashflow.as_of"), value=date.today(), key="cf-as-of",
                       help=helptext("as_of"))
period = sb.date_input(ui.t("cashflow.period"), value=(month_start(as_of, 11), as_of), key="cf-period",
                       help=helptext("as_of"))
ALL = ui.t("cashflow.all")
region = sb.selectbox(ui.t("cashflow.region"), [None, *opts["regions"]], key="cf-region",
                      format_func=lambda v: ALL if v is None else v)
industry = sb.selectbox(ui.t("cashflow.industry"), [None, *opts["industries"]], key="cf-industry",
                        format_func=lambda v: ALL if v is None else v)
ar_names = {a["id"]: a["name"] for a in opts["ars"]}
ar_id = sb.selectbox(ui.t("cashflow.ar"), [None, *ar_names], key="cf-ar",
                     format_func=lambda v: ALL if v is None else ar_names[v])
customer_names = {c["id"]: c["name"] for c in opts["customers"]}
account_id = sb.selectbox(ui.t("cashflow.customer"), [None, *customer_names], key="cf-customer",
                          format_func=lambda v: ALL if v is None else customer_names[v])
start, end = (period if isinstance(period, (tuple, list)) and len(period) == 2 else (None, None))
f = Filters(as_of=as_of, period_start=start, period_end=end, region=region, industry=industry, ar_id=ar_id,
            account_id=account_id)


def previous(f: Filters) -> Filters:
    """The period of the same length just before (as of its last day), for the tiles' change."""
    span = (f.end - f.start).days + 1
    p_end = f.start - timedelta(days=1)
    return Filters(as_of=p_end, period_start=p_end - timedelta(days=span - 1), period_end=p_end, region=f.region,
                   industry=f.industry, ar_id=f.ar_id, account_id=f.account_id)


def totals(rows: list[dict]) -> dict:
    out: dict = {}
    for r in rows or []:
        for k in ("bookings", "accepted", "invoiced", "collected"):
            out[k] = out.get(k, Decimal("0")) + Decimal(r.get(k) or 0)
    return out


# -- tabs ----------------------------------------------------------------------------------------------
def overview_tab():
    now_m, now_a = ui.read(M.monthly, f), ui.read(M.ageing, f)
    pf = previous(f)
    before_m, before_a = ui.read(M.monthly, pf), ui.read(M.ageing, pf)
    tn, tb = totals(now_m), totals(before_m)
    c = st.columns(4)
    tile(c[0], ui.t("cashflow.kpi.bookings"), tn.get("bookings"), short, "bookings", tb.get("bookings"))
    tile(c[1], ui.t("cashflow.kpi.invoiced"), tn.get("invoiced"), short, "invoiced", tb.get("invoiced"))
    tile(c[2], ui.t("cashflow.kpi.collected"), tn.get("collected"), short, "collected", tb.get("collected"))
    tile(c[3], ui.t("cashflow.kpi.outstanding"), now_a.get("total_outstanding"), short, "outstanding",
         before_a.get("total_outstanding"), lower_is_better=True)
    c = st.columns(4)
    tile(c[0], ui.t("cashflow.kpi.overdue_share"), now_a.get("overdue_share"), pct, "overdue_share",
         before_a.get("overdue_share"), lower_is_better=True)
    tile(c[1], ui.t("cashflow.kpi.dso"), now_a.get("dso"), days, "dso", before_a.get("dso"), lower_is_better=True)
    tile(c[2], ui.t("cashflow.kpi.cei"), now_a.get("cei"), pct, "cei", before_a.get("cei"))
    tile(c[3], ui.t("cashflow.kpi.unbilled"), now_a.get("unbilled"), short, "unbilled", before_a.get("unbilled"),
         lower_is_better=True)
    col_now, col_before = ui.read(M.collection, f), ui.read(M.collection, pf)
    c = st.columns(4)
    tile(c[0], ui.t("cashflow.kpi.plan_attainment"), col_now.get("plan_attainment"), pct, "plan_attainment",
         col_before.get("plan_attainment"))
    tile(c[1], ui.t("cashflow.kpi.contract_to_cash"), col_now.get("contract_to_cash_days"), days,
         "contract_to_cash_days", col_before.get("contract_to_cash_days"), lower_is_better=True)
    tile(c[2], ui.t("cashflow.kpi.acceptance_to_invoice"), now_a.get("acceptance_to_invoice_days"), days,
         "acceptance_to_invoice_days", before_a.get("acceptance_to_invoice_days"), lower_is_better=True)
    if LEADER:
        w_now, w_before = ui.read(M.win_rates, f), ui.read(M.win_rates, pf)
        st.caption(ui.t("cashflow.leader_only"))
        c = st.columns(4)
        for col, k, fmt in ((c[0], "win_rate_count", pct), (c[1], "win_rate_value", pct),
                            (c[2], "bid_hit_rate", pct), (c[3], "weighted_pipeline", short)):
            tile(col, ui.t(f"cashflow.kpi.{k}"), w_now.get(k), fmt, k, w_before.get(k))
    cash_chart(now_m)


def cash_chart(monthly_rows: list[dict]):
    """Collected per month in the period, then the forecast's two layers (contracted, pipeline) side by side."""
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
        x=alt.X("Month:N", title=None), xOffset="Layer:N", y=alt.Y("Amount:Q", title=None),
        color=alt.Color("Layer:N", title=None), tooltip=["Month", "Layer", alt.Tooltip("Amount:Q", format=",.2f")]))
    st.markdown(f"**{ui.t('cashflow.monthly')}**", help=helptext("bookings", "accepted", "invoiced", "collected"))
    table(frame(monthly_rows), f"monthly-{f.as_of}", "cf-monthly-dl")
    if not fc.empty:
        st.markdown(f"**{ui.t('cashflow.forecast')}**", help=helptext("forecast_receivables", "forecast_contracted",
                                                                          "forecast_pipeline", "payment_delay"))
        table(fc, f"forecast-{f.as_of}", "cf-forecast-dl")


def receivables_tab():
    a = ui.read(M.ageing, f)
    st.subheader(ui.t("cashflow.ageing"), help=helptext("ageing"))
    cols = ["current", *a["buckets"]]
    totals = pd.DataFrame([{"bucket": k, "amount": a["current"] if k == "current" else a["buckets"][k]} for k in cols])
    cust = frame(a["customers"])
    if not cust.empty:
        long = cust.melt(id_vars=["customer"], value_vars=cols, var_name="Bucket", value_name="Amount")
        long["Amount"] = long["Amount"].map(num)
        long["Age"] = long["Bucket"].map(cols.index)   # stacked from current to the oldest bucket
        top = list(cust["customer"].head(20))           # the customers owing most (ageing sorts them)
        chart(alt.Chart(long[long["customer"].isin(top)]).mark_bar().encode(
            y=alt.Y("customer:N", sort=top, title=None), x=alt.X("Amount:Q", title=None),
            color=alt.Color("Bucket:N", title=None, scale=alt.Scale(domain=cols, scheme="orangered")),
            order=alt.Order("Age:Q"),
            tooltip=["customer", "Bucket", alt.Tooltip("Amount:Q", format=",.2f")]))
    table(totals, f"ageing-buckets-{f.as_of}", "cf-buckets-dl")
    table(first(cust, "customer"), f"ageing-{f.as_of}", "cf-ageing-dl")

    st.subheader(ui.t("cashflow.overdue"), help=helptext("overdue_customers"))
    od = frame(ui.read(M.overdue_customers, f, limit=10))
    table(first(od, "customer"), f"overdue-customers-{f.as_of}", "cf-overdue-dl")
    if od.empty:
        return
    names = dict(zip(od["account_id"], od["customer"]))
    pick = st.selectbox(ui.t("cashflow.drill"), [None, *names], key="cf-drill",
                        format_func=lambda v: "—" if v is None else str(names[v]))
    if pick is not None:
        st.markdown(f"**{ui.t('cashflow.invoices_of', name=names[pick])}**")
        table(frame(ui.read(M.customer_invoices, f, int(pick))), f"invoices-{pick}-{f.as_of}", "cf-invoices-dl")


def funnel_tab():
    st.subheader(ui.t("cashflow.funnel"), help=helptext("funnel"))
    fn = frame(ui.read(M.funnel, f))
    chart(alt.Chart(fn.assign(Count=fn["count"].map(num), Conversion=fn["conversion"].map(pct))).mark_bar().encode(
        y=alt.Y("step:N", sort=list(fn["step"]), title=None), x=alt.X("Count:Q", title=None),
        tooltip=["step", "Count", "Conversion"]))
    table(fn, f"funnel-{f.as_of}", "cf-funnel-dl")
    st.subheader(ui.t("cashflow.pipeline"), help=helptext("weighted_pipeline"))
    by_stage = ui.read(M.win_rates, f).get("pipeline_by_stage") or {}
    pl = pd.DataFrame([{"stage": str(k), **by_stage[str(k)]} for k in OPEN_STAGES if str(k) in by_stage],
                      columns=["stage", "count", "amount", "weighted"])
    if pl.empty:
        st.info(ui.t("nothing"))
        return
    long = pl.melt(id_vars=["stage"], value_vars=["amount", "weighted"], var_name="Measure", value_name="Amount")
    long["Amount"] = long["Amount"].map(num)
    chart(alt.Chart(long).mark_bar().encode(
        x=alt.X("stage:N", sort=list(pl["stage"]), title=None), xOffset="Measure:N", y=alt.Y("Amount:Q", title=None),
        color=alt.Color("Measure:N", title=None), tooltip=["stage", "Measure", alt.Tooltip("Amount:Q", format=",.2f")]))
    table(pl, f"pipeline-{f.as_of}", "cf-pipeline-dl")


def stuck_tab():
    s = ui.read(M.stages, f)
    st.subheader(ui.t("cashflow.durations"), help=helptext("stage_days"))
    dur = frame(s.get("days_in_stage") or s.get("durations"))
    if not dur.empty and {"stage", "median"} <= set(dur.columns):
        d = dur.assign(Median=dur["median"].map(num), Worst=dur.get("worst", dur["median"]).map(num))
        top = d["Median"].max()
        d["Bottleneck"] = d["Median"].eq(top) & (top > 0)
        base = alt.Chart(d).encode(x=alt.X("stage:N", sort=list(d["stage"]), title=None))
        chart(base.mark_bar().encode(
            y=alt.Y("Median:Q", title=ui.t("cashflow.median_days")),
            color=alt.condition("datum.Bottleneck", alt.value("#d62728"), alt.value("#4c78a8")),
            tooltip=["stage", "Median", "Worst"])
            + base.mark_tick(color="black", thickness=2, size=20).encode(y="Worst:Q"))
    table(dur, f"stage-days-{f.as_of}", "cf-durations-dl")
    st.subheader(ui.t("cashflow.gates"), help=helptext("gate_wait_days"))
    table(frame(s.get("gate_waits") or s.get("gates")), f"gate-waits-{f.as_of}", "cf-gates-dl")
    st.subheader(ui.t("cashflow.holds"), help=helptext("holds_past_review"))
    table(frame(s.get("holds_past_review") or s.get("holds")), f"holds-{f.as_of}", "cf-holds-dl")
    st.subheader(ui.t("cashflow.stuck"), help=helptext("stuck"))
    table(frame(s.get("stuck")), f"stuck-{f.as_of}", "cf-stuck-dl")


CALCS = ("estimate", "budget", "actual", "final")


def flat(row: dict) -> dict:
    """A project row with each calculation's figures as columns (estimate_revenue, estimate_cost, ...)."""
    out = {k: v for k, v in row.items() if k not in CALCS}
    for calc in CALCS:
        for k, v in (row.get(calc) or {}).items():
            out[f"{calc}_{k}"] = v
    return out


def projects_tab():
    rows = ui.read(M.projects, f)
    pr = first(frame(flat(r) for r in rows), "number")
    st.subheader(ui.t("cashflow.projects"), help=helptext("four_calculations"))
    table(pr, f"projects-{f.as_of}", "cf-projects-dl")
    if not rows:
        return
    names = {i: f"{r.get('number', '')} · {r.get('name', '')}" for i, r in enumerate(rows)}
    pick = st.selectbox(ui.t("cashflow.project"), list(names), key="cf-project", format_func=names.get)
    row = rows[pick]
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
    c[0].metric(ui.t("cashflow.kpi.estimate_accuracy"), pct(row.get("estimate_accuracy")),
                help=helptext("estimate_accuracy"))
    c[1].metric(ui.t("cashflow.kpi.budget_execution"), pct(row.get("budget_execution")),
                help=helptext("budget_execution"))
    if steps:
        base = alt.Chart(pd.DataFrame(steps)).encode(x=alt.X("Step:N", sort=[s["Step"] for s in steps], title=None))
        chart(base.mark_bar().encode(
            y=alt.Y("From:Q", title=ui.t("cashflow.margin")), y2="To:Q",
            color=alt.condition("datum.Change >= 0", alt.value("#4c78a8"), alt.value("#d62728")),
            tooltip=["Step", alt.Tooltip("To:Q", format=",.2f"), alt.Tooltip("Change:Q", format=",.2f")])
            + base.mark_tick(color="black", thickness=2).encode(y="To:Q")
            + base.mark_text(dy=-8).encode(y="To:Q", text=alt.Text("To:Q", format=",.0f")))


# Only the open tab is drawn (its metrics run); choosing another tab reruns the page.
TABS = [("cashflow.tab.overview", overview_tab), ("cashflow.tab.receivables", receivables_tab)]
if LEADER:
    TABS += [("cashflow.tab.funnel", funnel_tab), ("cashflow.tab.stuck", stuck_tab),
             ("cashflow.tab.projects", projects_tab)]
for tab, (_, draw) in zip(st.tabs([ui.t(k) for k, _ in TABS], key="cf-tab", on_change="rerun"), TABS):
    if tab.open:
        with tab:
            draw()
