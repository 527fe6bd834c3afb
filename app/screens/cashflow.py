"""Leadership cash flow (现金流): the whole chain on one page — how much cash comes in and when, which
receivables and deals are at risk, and where money gets stuck and who owns it. Every figure comes from
core.metrics (the same functions `ltc metrics` prints); finance sees the cash tabs, leaders see all.
Only the open tab is computed; each metric's definition (core.metrics.DEFINITIONS) is its help text.
The tabs are drawn by app/views/cashflow_*.py; tiles, tables and chart titles share cashflow_kit."""
from __future__ import annotations

from datetime import timedelta

import streamlit as st

from app import fmt, ui
from app.views.cashflow_kit import helptext
from app.views.cashflow_overview import overview_tab
from app.views.cashflow_projects import projects_tab
from app.views.cashflow_receivables import receivables_tab
from app.views.cashflow_sales import funnel_tab, stuck_tab
from core.metrics import Filters
from core.metrics.filters import month_start
from core.queries import cashflow as q

ui.guard("metrics.cash")
LEADER = ui.can("metrics.view")
st.title(ui.t("page.cashflow"))

# -- filters -------------------------------------------------------------------------------------------
opts = ui.read(q.filter_options)
sb = st.sidebar
sb.subheader(ui.t("cashflow.filters"))
as_of = sb.date_input(ui.t("cashflow.as_of"), value=fmt.today(), key="cf-as-of", help=helptext("as_of"))
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


# -- tabs: only the open one is drawn (its metrics run); choosing another reruns the page ---------------------
TABS = [("cashflow.tab.overview", lambda: overview_tab(f, previous(f), LEADER)),
        ("cashflow.tab.receivables", lambda: receivables_tab(f))]
if LEADER:
    TABS += [("cashflow.tab.funnel", lambda: funnel_tab(f)), ("cashflow.tab.stuck", lambda: stuck_tab(f)),
             ("cashflow.tab.projects", lambda: projects_tab(f))]
for tab, (_, draw) in zip(st.tabs([ui.t(k) for k, _ in TABS], key="cf-tab", on_change="rerun"), TABS):
    if tab.open:
        with tab:
            draw()
