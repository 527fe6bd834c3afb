"""One contract, opened by its address (?contract=<id>, or ?change_order=<id> on its Changes tab): its details,
its tabs (terms, ATC, changes, timeline) kept open across saves, its record history, and the actions core
offers now."""
from __future__ import annotations

import streamlit as st

from app import fmt, records, tables, ui
from app.views import contracts_atc, contracts_changes, contracts_terms
from app.views.bids_common import CONTRACT_TAB_KEY, PREFIX, decision_label, status_label, tabs
from core.queries.contracts import contract_detail, contract_timeline
from core.queries.offers import offers as offers_of

MINE = ("bc-seen-", "bc-terms-", "bc-milestone-", "bc-atc-", "bc-sign-", "bc-edit-", "bc-change-")
KINDS = {"drafted": "bids_contracts.kind.drafted", "stage": "bids_contracts.kind.stage",
         "gate.request": "bids_contracts.kind.gate_request", "gate.decision": "bids_contracts.kind.gate_decision",
         "acceptance": "bids_contracts.kind.acceptance", "term": "bids_contracts.kind.term",
         "invoice": "bids_contracts.kind.invoice", "payment": "bids_contracts.kind.payment"}


TABS = ["terms", "atc", "changes", "timeline"]   # the codes of ?tab= (a My work ATC item opens "atc")


def tab_labels() -> list[str]:
    return [ui.t("bids_contracts.tab.terms"), ui.t("bids_contracts.tab.atc"), ui.t("bids_contracts.tab.changes"),
            ui.t("bids_contracts.tab.timeline")]


def fresh(record: int) -> None:
    """Forget what the person read and typed about this contract: the next run reads it afresh."""
    for k in [k for k in st.session_state if k.startswith(MINE) and k.endswith(f"-{record}")]:
        del st.session_state[k]


def _details(c: dict) -> None:
    st.subheader(f"{c['number']} · {c['name']}")
    st.caption(c["customer"] if c["opportunity"] == c["customer"] else f"{c['customer']} · {c['opportunity']}")
    st.button(ui.t("bids_contracts.reload"), key=f"bc-reload-{c['id']}", on_click=fresh, args=(c["id"],))
    ui.tiles([(ui.t("bids_contracts.col.amount"), fmt.money(c["amount"])),
              (ui.t("bids_contracts.col.status"), status_label(c["status"])),
              (ui.t("bids_contracts.col.signed_on"), fmt.day(c["signed_on"]) if c["signed_on"] else fmt.EMPTY),
              (ui.t("bids_contracts.col.legal"), decision_label(c["atc_state"]["legal"])),
              (ui.t("bids_contracts.col.finance"), decision_label(c["atc_state"]["finance"]))])


def _timeline(c: dict) -> None:
    events = ui.read(contract_timeline, c["id"])
    shown = events.assign(Kind=events["Kind"].map(lambda k: ui.t(KINDS[k]) if k in KINDS else k),
                          Event=events["Event"].map(ui.words))   # core's words, stored codes as words
    tables.table(shown, PREFIX, key=f"bc-timeline-{c['id']}", download=f"timeline-{c['number']}")


def show(names: dict[int, str]) -> None:
    cid = records.picker("contract", names, label=ui.t("bids_contracts.contract.select"), key="bc-contract")
    if cid is None:
        return
    c = ui.read(contract_detail, cid)
    offers = ui.read(offers_of, "contract", cid)
    # saves carry the version the person first read; "Reload" shows what others changed since
    version = st.session_state.setdefault(f"bc-seen-{cid}", c["version"])

    def done() -> None:
        fresh(cid)
        st.rerun()

    _details(c)
    t_terms, t_atc, t_changes, t_timeline = tabs(CONTRACT_TAB_KEY, tab_labels(), TABS)
    with t_terms:
        contracts_terms.show(c, offers, done)
    with t_atc:
        contracts_atc.show(c, version, offers, done)
    with t_changes:
        contracts_changes.show(c, offers, done)
    with t_timeline:
        _timeline(c)
    records.history("contract", cid, key=f"bc-contract-history-{cid}")
