"""Bids and contracts (投标与合同): bids with their deadline countdown and the ATB gate; contracts with the ATC
reviews (legal and finance), the payment-terms editor, signing, change orders and the deal's timeline.

Every record opens by its address: ?bid=<id> on the Bids tab, ?contract=<id> on the Contracts tab,
?change_order=<id> on its contract's Changes tab (links from My work). The open tab stays open after a save.
The parts live in app/views/bids_*.py and app/views/contracts_*.py."""
from __future__ import annotations

import streamlit as st

from app import records, ui
from app.views import bids_list, bids_view, contracts_list, contracts_view
from app.views.bids_common import TAB_KEY, TAB_PARAM, open_tab, tabs
from core.errors import LtcError
from core.queries.contracts import change_order_contract, deal_options

who = ui.guard("contract.view")
st.title(ui.t("page.bids_contracts"))
ui.flash()

labels = [ui.t("bids_contracts.tab.bids"), ui.t("bids_contracts.tab.contracts")]


def follow_address() -> None:
    """A new address opens its tab once (then the person's clicks decide): a bid on Bids, a contract on
    Contracts, a change order on its contract's Changes tab."""
    change = records.opened("change_order")
    if change is not None:
        try:
            records.go("contract", ui.read(change_order_contract, change))
            st.query_params[TAB_PARAM] = "changes"
        except LtcError:
            st.warning(ui.t("record.not_visible", kind=ui.t("record.kind.change_order"), id=change))
        records.go("change_order", None)
    seen = st.session_state.get("bc-address")
    now = (records.opened("bid"), records.opened("contract"))
    if seen != now:
        st.session_state["bc-address"] = now
        before = seen or (None, None)
        if now[1] is not None and now[1] != before[1]:
            open_tab(TAB_KEY, labels[1])
        elif now[0] is not None and now[0] != before[0]:
            open_tab(TAB_KEY, labels[0])


follow_address()
# where bids and drafts start
deals = ui.read(deal_options) if ui.can("bid.create") or ui.can("contract.draft") else []
tab_bids, tab_contracts = tabs(TAB_KEY, labels)

with tab_bids:
    listing = bids_list.show(deals)
    bids_view.show(bids_view.options(listing))

with tab_contracts:
    contract_names = contracts_list.show(deals)
    contracts_view.show(contract_names)
