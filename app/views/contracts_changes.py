"""A contract's change orders: the list, the pending one with its legal and finance reviews (offers of the
change order's lifecycle), and the change request form (offered while the contract is signed with none
pending)."""
from __future__ import annotations

import streamlit as st

from app import fmt, forms, tables, ui
from app.views import contracts_terms as terms
from app.views.bids_common import PREFIX, decision_label, offered, reviews
from core.queries.contracts import terms_preview
from core.queries.offers import offers as offers_of
from core.services import contracts


def _pending(c: dict, done) -> None:
    pending = c["pending_change"]
    st.info(ui.t("bids_contracts.change.pending", number=pending["number"], amount=fmt.money(pending["new_amount"]),
                 legal=decision_label(pending["review"]["legal"]),
                 finance=decision_label(pending["review"]["finance"])))
    tables.table(pending["terms"], PREFIX, key=f"bc-change-terms-{pending['id']}", money=("Amount",))
    offers = ui.read(offers_of, "change_order", pending["id"])
    reviews(offers, pending["id"], gate="change", done=done)


def _request(c: dict, offers: dict, done) -> None:
    cid = c["id"]
    name, title = f"bc-change-{cid}", ui.t("bids_contracts.change.request")
    if not offered(offers, "change.request", name, title):
        return
    labels = {"number": ui.t("bids_contracts.col.number"), "new_amount": ui.t("bids_contracts.col.new_amount"),
              "new_cost": ui.t("bids_contracts.change.new_cost"), "reason": ui.t("bids_contracts.col.reason"),
              "new_scope": ui.t("bids_contracts.col.new_scope")}
    # the new amount and plan sit outside the form: the running total follows every keystroke and edit
    st.markdown(f"**{title}**")
    once = forms.Once(name)
    new_amount = st.text_input(labels["new_amount"], f"{c['amount']:f}", key=once.key("amount"),
                               max_chars=ui.limit("amount"))
    plan = None
    if st.checkbox(ui.t("bids_contracts.change.replace_terms", released=fmt.money(c["released_total"])),
                   key=f"bc-change-replace-{cid}"):
        edited = terms.editor(f"bc-change-plan-{cid}", c["unreleased_input"], c["milestones"])
        plan = terms.from_editor(edited, {ms["label"]: ms["id"] for ms in c["milestones"]})
        terms.show_total(ui.read(terms_preview, cid, plan, amount=new_amount, released=c["released_total"]))
    with forms.once_form(name) as f:
        c1, c2 = st.columns(2)
        number = c1.text_input(labels["number"], key=f.key("number"), max_chars=ui.limit("number"))
        new_cost = c2.text_input(labels["new_cost"], key=f.key("cost"), max_chars=ui.limit("amount"))
        reason = st.text_input(labels["reason"], key=f.key("reason"), max_chars=contracts.CHANGE_REASON_MAX)
        new_scope = st.text_area(labels["new_scope"], c["scope"], key=f.key("scope"), max_chars=ui.limit("new_scope"))
        if st.form_submit_button(ui.t("bids_contracts.change.submit"), key=f.key("submit")):
            if f.submit(contracts.request_change, cid, number=number, reason=reason, new_amount=new_amount,
                        new_scope=new_scope, new_cost=new_cost or None, new_terms=plan, labels=labels,
                        success=ui.t("bids_contracts.change.requested", number=number)):
                done()


def show(c: dict, offers: dict, done) -> None:
    changes = c["changes"].assign(Legal=c["changes"]["Legal"].map(decision_label),
                                  Finance=c["changes"]["Finance"].map(decision_label))
    tables.table(changes, PREFIX, key=f"bc-changes-{c['id']}", money=("New amount",))
    if c["pending_change"]:
        _pending(c, done)
    _request(c, offers, done)
