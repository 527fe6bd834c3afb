"""Invoicing and cash (开票与回款): terms to invoice, invoices (due dates editable), payments and their
allocation, AR ageing (账龄), dunning (催款), customer statements and write-offs. Reads through
core.queries.cash, writes through core.services.billing; each person sees the customers of their data scope
(core.scope: an AR their deals', a sales manager their teams', finance and leaders all).

Every record opens by its address: ?term=<id> (To invoice, the term chosen in the Issue invoice form),
?invoice=<id> (Invoices, the invoice in full), ?payment=<id> (Payments, the payment with its allocations),
?account=<id> (Statement, the customer's statement). The open tab is kept across reruns and saves."""
import streamlit as st

from app import ui
from app.views.cash_invoices import invoices_tab, to_invoice_tab
from app.views.cash_payments import payments_tab
from app.views.cash_reports import ageing_tab, dunning_tab, statement_tab
from core.queries import cash as q

who = ui.guard("billing.view")
ui.flash()
st.title(ui.t("page.cash"))

customers = ui.read(q.customers)
names = {c["id"]: c["name"] for c in customers}
reach = ui.read(q.reach)   # own, team or all: the person's data scope, as core decides it
st.caption(ui.t("cash.scope.all") if reach == "all" else
           ui.t("cash.scope.team" if reach == "team" else "cash.scope.mine", n=len(customers)))

# Only the open tab is drawn (its queries and downloads run); choosing another tab reruns the page.
TABS = [("cash.tab.to_invoice", to_invoice_tab), ("cash.tab.invoices", lambda: invoices_tab(names)),
        ("cash.tab.payments", lambda: payments_tab(names)), ("cash.tab.ageing", ageing_tab),
        ("cash.tab.dunning", dunning_tab), ("cash.tab.statement", lambda: statement_tab(names))]
# the tab each kind of address opens; a new address opens its tab once, then the person's choice holds
ADDRESSED = {"term": "cash.tab.to_invoice", "invoice": "cash.tab.invoices", "payment": "cash.tab.payments",
             "account": "cash.tab.statement"}
for kind, tab_key in ADDRESSED.items():
    raw = st.query_params.get(kind)
    if raw and st.session_state.get(f"cash-tab-from-{kind}") != raw:
        st.session_state[f"cash-tab-from-{kind}"] = raw
        st.session_state["cash-tab"] = ui.t(tab_key)

for tab, (_, draw) in zip(st.tabs([ui.t(k) for k, _ in TABS], key="cash-tab", on_change="rerun"), TABS):
    if tab.open:
        with tab:
            draw()
