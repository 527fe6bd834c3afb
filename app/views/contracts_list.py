"""The contracts tab's list (a clicked row opens the contract) and the form that drafts a contract (no
opportunity preselected; the new draft opens)."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import forms, records, tables, ui
from app.views.bids_common import PREFIX, choose_first, deal_names, decision_label, status_label
from core.enums import ContractStatus
from core.queries.contracts import contract_detail, contract_list
from core.services import contracts

DRAFT = "bc-draft"


def _draft(deals: list[dict]) -> None:
    names = deal_names(deals)
    labels = {"opp_id": ui.t("bids_contracts.col.opportunity"), "number": ui.t("bids_contracts.col.number"),
              "name": ui.t("bids_contracts.col.name"), "amount": ui.t("bids_contracts.col.amount"),
              "warranty_months": ui.t("bids_contracts.warranty_months"), "scope": ui.t("bids_contracts.scope")}
    with st.expander(ui.t("bids_contracts.draft")):
        with forms.once_form(DRAFT) as f:
            opp = st.selectbox(labels["opp_id"], list(names), index=None, key=f.key("opp"),
                               placeholder=ui.t("record.choose"), format_func=lambda v: names.get(v, str(v)))
            c1, c2 = st.columns(2)
            number = c1.text_input(labels["number"], key=f.key("number"), max_chars=ui.limit("number"))
            name = c2.text_input(labels["name"], key=f.key("name"), max_chars=ui.limit("name"))
            amount = c1.text_input(labels["amount"], key=f.key("amount"))
            months = c2.number_input(labels["warranty_months"], 0, 240, 12, key=f.key("warranty"))
            scope = st.text_area(labels["scope"], key=f.key("scope"), max_chars=ui.limit("scope"))
            if st.form_submit_button(ui.t("bids_contracts.draft.submit"), key=f.key("submit")):
                if opp is None:
                    choose_first(DRAFT, labels["opp_id"])
                else:
                    new_id = f.submit(contracts.draft_contract, opp, number=number, name=name, amount=amount,
                                      scope=scope, warranty_months=int(months), labels=labels,
                                      success=ui.t("bids_contracts.draft.done", number=number))
                    if new_id:
                        records.go("contract", new_id)   # the new draft opens, in this tab
                        st.rerun()


def options(clist: pd.DataFrame) -> dict[int, str]:
    """The contracts to pick from: those listed, and the one the address names when the filter hides it."""
    names = {int(r["ID"]): f"{r['Number']} · {r['Name']} · {status_label(r['Status'])}" for _, r in clist.iterrows()}

    def label(contract_id: int) -> str:
        c = ui.read(contract_detail, contract_id)
        return f"{c['number']} · {c['name']} · {status_label(c['status'])}"

    return records.including_addressed("contract", names, label)


def show(deals: list[dict]) -> dict[int, str]:
    """The list and the draft form; returns the contracts to pick from."""
    f1, _ = st.columns([1, 3])
    statuses: dict[str, str] = {"": ui.t("all"), **{s.value: status_label(s.value) for s in ContractStatus}}
    status = f1.selectbox(ui.t("bids_contracts.col.status"), list(statuses), key="bc-contracts-status",
                          format_func=lambda v: statuses.get(v, v))
    clist = ui.read(contract_list, status=status or None)
    shown = clist.assign(Legal=clist["Legal"].map(decision_label), Finance=clist["Finance"].map(decision_label))
    tables.table(shown, PREFIX, key="bc-contracts", opens="contract", money=("Amount",))
    if ui.can("contract.draft"):
        _draft(deals)
    return options(clist)
