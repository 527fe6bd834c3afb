"""Delivery acceptance, Closure tab (项目决算与复盘): the final accounts against estimate, budget and actuals,
what still blocks closing (core's words, with the figures), the review and the leader's decision. Finance
records the final accounts, the FR writes the review and asks to close, a leader approves or rejects; each
form drawn only when core offers it to this person now (core.queries.delivery.closure)."""
from __future__ import annotations

import streamlit as st

from app import fmt, forms, ui
from app.views.bids_common import approve_reject, decision_label, offered
from app.views.delivery_common import MAX_DAY, MIN_DAY
from app.views.delivery_money import calculation_table
from core.queries import delivery as q
from core.services import closure as svc
from core.services import delivery


def draw(cid: int, info, contracts) -> None:
    st.subheader(ui.t("delivery.closure"))
    state = ui.read(q.closure, cid)
    calculation_table(state["calculations"], key=f"delivery-closure-calc-{cid}", download=f"final-{info['Contract']}")
    if state["closed_on"]:
        st.success(ui.t("delivery.closure.closed", on=fmt.day(state["closed_on"])))
    if state["held"]:
        st.info(ui.t("delivery.closure.held", terms=", ".join(state["held"]), on=fmt.day(state["warranty_ends_on"])))
    if state["blockers"]:
        st.warning(ui.t("delivery.closure.blockers"))
        st.caption(ui.t("delivery.closure.blockers_today"))
        st.markdown("\n".join(f"- {ui.words(b)}" for b in state["blockers"]))
    _review(state)
    offers, done = state["offers"], st.rerun
    _warranty(cid, state, offers, done)
    _final_accounts(cid, offers, done)
    _request(cid, offers, done)
    name, title = f"delivery-closure-decide-{cid}", ui.t("delivery.closure.decide")
    if offered(offers, "closure.decide", name, title):
        def decided() -> None:
            st.session_state["delivery-show-closed"] = True   # approved: the contract, closed, stays on the page
            done()

        forms.decision_form(name, svc.decide_closure, cid, choices=approve_reject(), title=title, after=decided,
                            success=lambda d: ui.t("delivery.closure.decided", decision=decision_label(d)))


def _review(state: dict) -> None:
    review, decision = state["review"], state["decision"]
    if review is None:
        return
    st.markdown(f"**{ui.t('delivery.closure.review')}** · {fmt.day(review['closed_on'])} · {fmt.text(review['by'])}")
    for key in ("went_well", "went_badly", "lessons"):
        if review[key]:
            st.markdown(f"*{ui.t(f'delivery.closure.{key}')}*: {fmt.text(review[key])}")
    if decision is not None and decision["decision"] == "pending":
        st.caption(ui.t("delivery.closure.waiting", by=fmt.text(decision["requested_by"])))
    elif decision is not None:
        st.caption(ui.t("delivery.closure.decision", decision=decision_label(decision["decision"]),
                        by=fmt.text(decision["by"]), rationale=fmt.text(decision["rationale"])))


def _warranty(cid: int, state: dict, offers: dict, done) -> None:
    """The warranty's end, set by hand with the reason (its retention is released on that day)."""
    if state["warranty_note"]:
        st.caption(ui.t("delivery.warranty.set_because", on=fmt.day(state["warranty_ends_on"]),
                        reason=fmt.text(state["warranty_note"])))
    name, title = f"delivery-warranty-{cid}", ui.t("delivery.warranty.title")
    if not offered(offers, "warranty.set", name, title):
        return
    labels = {"ends_on": ui.t("delivery.warranty.ends_on"), "reason": ui.t("delivery.warranty.reason")}
    with forms.once_form(name, title) as f:
        c1, c2 = st.columns([1, 2])
        ends = c1.date_input(labels["ends_on"], value=state["warranty_ends_on"], key=f.key("on"), min_value=MIN_DAY,
                             max_value=MAX_DAY)
        reason = c2.text_input(labels["reason"], key=f.key("reason"), max_chars=ui.limit("note"))
        if st.form_submit_button(title, key=f.key("submit")):
            if f.submit(delivery.set_warranty_end, cid, ends_on=ends, reason=reason, labels=labels,
                        success=ui.t("delivery.warranty.done")):
                done()


def _final_accounts(cid: int, offers: dict, done) -> None:
    name, title = f"delivery-final-{cid}", ui.t("delivery.final.title")
    if not offered(offers, "closure.final_accounts", name, title):
        return
    labels = {"revenue": ui.t("delivery.final.revenue"), "cost": ui.t("delivery.final.cost"),
              "note": ui.t("delivery.final.note")}
    with forms.once_form(name, title) as f:
        st.caption(ui.t("delivery.final.defaults"))
        c1, c2 = st.columns(2)
        revenue = c1.text_input(labels["revenue"], key=f.key("revenue"), max_chars=ui.limit("amount"))
        cost = c2.text_input(labels["cost"], key=f.key("cost"), max_chars=ui.limit("amount"))
        note = st.text_input(labels["note"], key=f.key("note"), max_chars=ui.limit("note"))
        if st.form_submit_button(title, key=f.key("submit")):
            if f.submit(svc.record_final_accounts, cid, revenue=revenue or None, cost=cost or None, note=note,
                        labels=labels, success=ui.t("delivery.final.done")):
                done()


def _request(cid: int, offers: dict, done) -> None:
    name, title = f"delivery-closure-request-{cid}", ui.t("delivery.closure.request")
    if not offered(offers, "closure.request", name, title):
        return
    labels = {k: ui.t(f"delivery.closure.{k}") for k in ("went_well", "went_badly", "lessons", "closed_on")}
    with forms.once_form(name, title) as f:
        on = st.date_input(labels["closed_on"], value=fmt.today(), key=f.key("on"), min_value=MIN_DAY,
                           max_value=MAX_DAY)
        texts = {k: st.text_area(labels[k], key=f.key(k), max_chars=ui.limit(k))
                 for k in ("went_well", "went_badly", "lessons")}
        if st.form_submit_button(title, key=f.key("submit")):
            if f.submit(svc.request_closure, cid, closed_on=on, labels=labels, **texts,
                        success=ui.t("delivery.closure.requested")):
                done()
