"""Delivery acceptance (交付验收): a signed contract's milestones (planned and forecast dates), acceptance
certificates (初验/终验; a final acceptance releases the milestone's payment terms), cost entries, the
four calculations (四算) and the closure (final accounts, review, a leader's decision). Reads through
core.queries.delivery, writes through core.services.delivery and core.services.closure.

A contract opens by address (`?contract=<id>`), a milestone too (`?milestone=<id>`: its contract, the
Acceptance tab and the milestone chosen), even when the filters would hide its contract."""
import streamlit as st

from app import fmt, records, tables, ui
from app.views import delivery_acceptance, delivery_closure, delivery_milestones, delivery_money
from core.queries import delivery as q

who = ui.guard("delivery.view")
ui.flash()
st.title(ui.t("page.delivery"))

TABS = [("delivery.tab.milestones", delivery_milestones.draw), ("delivery.tab.acceptance", delivery_acceptance.draw),
        ("delivery.tab.costs", delivery_money.costs), ("delivery.tab.calculations", delivery_money.calculations),
        ("delivery.tab.closure", delivery_closure.draw)]

# -- the address: a milestone or a contract, opened once per new address ---------------------------
offers_mine = ui.read(q.offers_mine)   # core decides from the person's roles and data scope now
st.session_state.setdefault("delivery-mine", ui.read(q.mine_by_default))
st.session_state.setdefault("delivery-closed", False)
if st.session_state.pop("delivery-show-closed", False):   # a project just closed here: keep showing it
    st.session_state["delivery-closed"] = True
ms_addr, c_addr = records.opened("milestone"), records.opened("contract")
seen_addr = st.session_state.get("delivery-addr")
if ms_addr and c_addr and seen_addr and seen_addr[0] == ms_addr and seen_addr[1] != c_addr:
    records.go("milestone", None)    # the person chose another contract: its milestone no longer applies
    ms_addr = None
if (ms_addr or c_addr) and st.session_state.get("delivery-addr") != (ms_addr, c_addr):
    target = ui.read(q.contract_of, contract_id=c_addr, milestone_id=ms_addr)
    if target is None:
        kind, rid = ("milestone", ms_addr) if ms_addr else ("contract", c_addr)
        st.warning(ui.t("record.not_visible", kind=ui.t(f"record.kind.{kind}"), id=rid))
        records.go(kind, None)
    else:
        cid_wanted = target["contract_id"]
        if ms_addr and c_addr != cid_wanted:
            records.go("contract", cid_wanted)        # the contract picker follows the milestone's contract
            c_addr = cid_wanted
        if target["closed"]:
            st.session_state["delivery-closed"] = True
        if st.session_state["delivery-mine"] and offers_mine:
            mine = ui.read(q.contracts, mine=True, include_closed=st.session_state["delivery-closed"])
            if cid_wanted not in set(mine["ID"]):
                st.session_state["delivery-mine"] = False   # the address names a contract outside my projects
        if ms_addr:
            st.session_state["delivery-tab"] = ui.t("delivery.tab.acceptance")
    st.session_state["delivery-addr"] = (records.opened("milestone"), c_addr)

# -- which contract --------------------------------------------------------------------------------
c1, c2 = st.columns(2)
mine = False
if offers_mine:
    mine = c1.toggle(ui.t("delivery.mine"), key="delivery-mine")
closed = c2.toggle(ui.t("delivery.include_closed"), key="delivery-closed")
contracts = ui.read(q.contracts, mine=mine, include_closed=closed)
if contracts.empty:
    st.info(ui.t("delivery.no_contracts"))
    st.stop()
by_id = contracts.set_index("ID")
choices = {int(i): f"{r['Contract']} · {r['Customer']} · {r['Name']}" for i, r in by_id.iterrows()}
cid = records.picker("contract", choices, label=ui.t("delivery.contract"), key="delivery-contract")
if cid is None:
    st.info(ui.t("delivery.choose_contract"))
    st.stop()
cid = int(cid)
info = by_id.loc[cid]
st.caption(ui.t("delivery.summary", customer=fmt.text(info["Customer"]), amount=fmt.money(info["Amount"]),
                signed_on=fmt.day(info["Signed on"]), fr=fmt.text(info["FR"]), ar=fmt.text(info["AR"]),
                warranty=fmt.day(info["Warranty ends"]), status=tables.value(info["Status"])))
records.history("contract", cid, key=f"delivery-contract-history-{cid}")

# Only the open tab is drawn (its queries and downloads run); choosing another tab reruns the page.
for tab, (_, draw) in zip(st.tabs([ui.t(k) for k, _ in TABS], key="delivery-tab", on_change="rerun"), TABS):
    if tab.open:
        with tab:
            draw(cid, info, contracts)
