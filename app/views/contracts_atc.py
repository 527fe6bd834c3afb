"""A contract's ATC tab: requesting ATC, the legal and finance reviews, signing, editing the draft and the ATC
history; each action drawn from core's offers (core.services.contracts.LIFECYCLE)."""
from __future__ import annotations

import streamlit as st

from app import forms, tables, ui
from app.views.bids_common import PREFIX, day_input, offered, reviews
from core.services import contracts


def _request(cid: int, offers: dict, done) -> None:
    name = f"bc-atc-request-{cid}"
    if "atc.request" not in offers or not ui.can("atc.request"):
        return
    if forms.action_button(offers, "atc.request", ui.t("bids_contracts.atc.request"), key=name):
        if ui.act(contracts.request_atc, cid, where=name, success=ui.t("bids_contracts.atc.requested")):
            done()
    ui.flash(name)


def _reviews(cid: int, offers: dict, done) -> None:
    reviews(offers, cid, gate="atc", done=done)


def _sign(c: dict, offers: dict, done) -> None:
    cid = c["id"]
    name, title = f"bc-sign-{cid}", ui.t("bids_contracts.sign")
    if not offered(offers, "contract.sign", name, title):
        return
    labels = {"signed_on": ui.t("bids_contracts.col.signed_on"), "budget_cost": ui.t("bids_contracts.sign.budget_cost")}
    with forms.once_form(name, title) as f:
        c1, c2 = st.columns(2)
        signed_on = day_input(c1, labels["signed_on"], f.key("on"))
        budget = c2.text_input(labels["budget_cost"], key=f.key("budget"))
        if st.form_submit_button(title, key=f.key("submit")):
            if f.submit(contracts.sign_contract, cid, signed_on=signed_on, budget_cost=budget or None, labels=labels,
                        success=ui.t("bids_contracts.sign.done", number=c["number"])):
                done()


def _edit(c: dict, version: int, offers: dict, done) -> None:
    """Edit the draft (not a create: it carries the version the person first read; Reload shows others' edits)."""
    cid = c["id"]
    name, title = f"bc-edit-{cid}", ui.t("bids_contracts.edit")
    if not offered(offers, "contract.draft", name, title):
        st.caption(c["scope"])
        return
    labels = {"name": ui.t("bids_contracts.col.name"), "amount": ui.t("bids_contracts.col.amount"),
              "warranty_months": ui.t("bids_contracts.warranty_months"), "scope": ui.t("bids_contracts.scope")}
    with st.form(name):
        st.markdown(f"**{title}**")
        st.caption(ui.t("bids_contracts.edit.resets"))   # an approval given on the old text no longer counts
        c1, c2 = st.columns(2)
        new_name = c1.text_input(labels["name"], c["name"], key=f"bc-edit-name-{cid}", max_chars=ui.limit("name"))
        amount = c2.text_input(labels["amount"], f"{c['amount']:f}", key=f"bc-edit-amount-{cid}")
        months = c1.number_input(labels["warranty_months"], 0, 240, c["warranty_months"],
                                 key=f"bc-edit-warranty-{cid}")
        scope = st.text_area(labels["scope"], c["scope"], key=f"bc-edit-scope-{cid}", max_chars=ui.limit("scope"))
        if st.form_submit_button(ui.t("save"), key=f"bc-edit-submit-{cid}"):
            if ui.act(contracts.update_contract, cid, version=version, name=new_name, amount=amount, scope=scope,
                      warranty_months=int(months), where=name, labels=labels):
                done()
    ui.flash(name)


def show(c: dict, version: int, offers: dict, done) -> None:
    _request(c["id"], offers, done)
    _reviews(c["id"], offers, done)
    _sign(c, offers, done)
    _edit(c, version, offers, done)
    steps = " → ".join(ui.t(f"bids_contracts.atc.{k}") for k in c["atc_path"])
    st.caption(ui.t("bids_contracts.atc.path", steps=steps))   # the steps this contract takes, in order
    st.markdown(f"**{ui.t('bids_contracts.atc.history')}**")
    tables.table(c["atc"], PREFIX, key=f"bc-atc-history-{c['id']}")
