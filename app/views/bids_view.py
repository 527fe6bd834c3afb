"""One bid, opened by its address (?bid=<id>): its details, ATB history and record history, and exactly the
actions core offers now (core.services.bids.LIFECYCLE): allowed ones as forms, refused ones disabled with
core's reason."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import fmt, forms, records, tables, ui
from app.views.bids_common import PREFIX, approve_reject, day_input, decision_label, offered, status_label
from app.views.bids_list import bids_done
from core.enums import BidStatus
from core.queries.contracts import bid_detail
from core.queries.offers import offers as offers_of
from core.services import bids


def options(listing: pd.DataFrame) -> dict[int, str]:
    """The bids to pick from: those listed, and the one the address names when it is not listed (e.g. won)."""
    names = {int(r["ID"]): f"{r['Title']} · {status_label(r['Status'])} (#{int(r['ID'])})"
             for _, r in listing.iterrows()}

    def label(bid_id: int) -> str:
        b = ui.read(bid_detail, bid_id)
        return f"{b['title']} · {status_label(b['status'])} (#{bid_id})"

    return records.including_addressed("bid", names, label)


def _details(b: dict) -> None:
    left = b["days_left"]   # a passed deadline is said below in words, not as "-366 days left"
    ui.tiles([(ui.t("bids_contracts.col.status"), status_label(b["status"])),
              (ui.t("bids_contracts.col.deadline"), fmt.day(b["deadline"]),
               None if left is None or left < 0 else ui.t("bids_contracts.days_left", n=left)),
              (ui.t("bids_contracts.col.bond"), fmt.money(b["bid_bond"])),
              (ui.t("bids_contracts.col.floor"), fmt.money(b["price_floor"])),
              (ui.t("bids_contracts.col.quote"), fmt.money(b["quoted_price"]))])
    st.caption(" · ".join(fmt.text(v) for v in (b["opportunity"], b["competitors"]) if not fmt.is_empty(v)))
    if b["overdue"]:
        st.error(ui.t("bids_contracts.bid.overdue", date=fmt.day(b["deadline"])))
    if b["loss_reason"]:
        st.caption(ui.t("bids_contracts.bid.lost", reason=b["loss_reason"], winner=b["winner"] or fmt.EMPTY))
    if b["atb_pending"]:
        st.info(ui.t("bids_contracts.atb.pending", price=fmt.money(b["atb_pending"]["proposed_price"]),
                     floor=fmt.money(b["atb_pending"]["proposed_floor"])))


def _request_atb(bid_id: int, offers: dict) -> None:
    name, title = f"bc-atb-request-{bid_id}", ui.t("bids_contracts.atb.request")
    if not offered(offers, "atb.request", name, title):
        return
    labels = {"proposed_price": ui.t("bids_contracts.atb.price"), "proposed_floor": ui.t("bids_contracts.atb.floor")}
    with forms.once_form(name, title) as f:
        c1, c2 = st.columns(2)
        price = c1.text_input(labels["proposed_price"], key=f.key("price"))
        floor = c2.text_input(labels["proposed_floor"], key=f.key("floor"))
        if st.form_submit_button(title, key=f.key("submit")):
            if f.submit(bids.request_atb, bid_id, proposed_price=price, proposed_floor=floor, labels=labels,
                        success=ui.t("bids_contracts.atb.requested")):
                bids_done()


def _decide_atb(b: dict, offers: dict) -> None:
    bid_id = b["id"]
    name, title = f"bc-atb-decide-{bid_id}", ui.t("bids_contracts.atb.decide")
    if not offered(offers, "atb.decide", name, title):
        return
    proposed = (b["atb_pending"] or {}).get("proposed_floor")
    est = b["estimate"]
    if est is None:
        st.caption(ui.t("bids_contracts.atb.no_estimate"))
    else:   # the figures the decision is taken against (core refuses a floor above the price, and asks why under cost)
        ui.tiles([(ui.t("bids_contracts.atb.est_revenue"), fmt.money(est["revenue"])),
                  (ui.t("bids_contracts.atb.est_cost"), fmt.money(est["cost"])),
                  (ui.t("bids_contracts.atb.est_margin"), fmt.money(est["margin"]))])
        if proposed is not None and proposed < est["cost"]:
            st.warning(ui.t("bids_contracts.atb.under_cost", floor=fmt.money(proposed), cost=fmt.money(est["cost"])))

    def floor(f: forms.Once) -> dict:
        fields = {"price_floor": st.text_input(ui.t("bids_contracts.atb.approved_floor"),
                                               "" if proposed is None else f"{proposed:f}", key=f.key("floor"))}
        if est is not None:
            fields["below_cost_reason"] = st.text_input(ui.t("bids_contracts.atb.below_cost_reason"),
                                                        key=f.key("below-cost"), max_chars=1000)
        return fields

    forms.decision_form(name, bids.decide_atb, bid_id, choices=approve_reject(), title=title, extra=floor,
                        success=lambda d: ui.t("bids_contracts.review.done", decision=decision_label(d)),
                        after=bids_done)


def _submit(bid_id: int, offers: dict) -> None:
    name, title = f"bc-submit-{bid_id}", ui.t("bids_contracts.submit")
    if not offered(offers, "bid.submit", name, title):
        return
    labels = {"quoted_price": ui.t("bids_contracts.col.quote"), "submitted_on": ui.t("bids_contracts.submit.on")}
    with forms.once_form(name, title) as f:
        c1, c2 = st.columns(2)
        quote = c1.text_input(labels["quoted_price"], key=f.key("quote"))
        on = day_input(c2, labels["submitted_on"], f.key("on"))
        if st.form_submit_button(title, key=f.key("submit")):
            if f.submit(bids.submit_bid, bid_id, quoted_price=quote, submitted_on=on, labels=labels,
                        success=ui.t("bids_contracts.submit.done")):
                bids_done()


def _result(bid_id: int, offers: dict) -> None:
    name, title = f"bc-result-{bid_id}", ui.t("bids_contracts.result")
    if not offered(offers, "bid.result", name, title):
        return
    labels = {"result_on": ui.t("bids_contracts.col.result_on"), "loss_reason": ui.t("bids_contracts.col.loss_reason"),
              "winner": ui.t("bids_contracts.col.winner")}
    outcomes = {True: status_label(BidStatus.WON.value), False: status_label(BidStatus.LOST.value)}
    with forms.once_form(name, title) as f:
        won = st.radio(title, list(outcomes), horizontal=True, key=f.key("outcome"), format_func=outcomes.get)
        c1, c2, c3 = st.columns(3)
        on = day_input(c1, labels["result_on"], f.key("on"))
        reason = c2.text_input(labels["loss_reason"], key=f.key("reason"), max_chars=ui.limit("loss_reason"))
        winner = c3.text_input(labels["winner"], key=f.key("winner"), max_chars=ui.limit("winner"))
        if st.form_submit_button(ui.t("bids_contracts.result.save"), key=f.key("submit")):
            if f.submit(bids.record_result, bid_id, won=won, result_on=on, loss_reason=reason,
                        winner=winner, labels=labels, success=ui.t("bids_contracts.result.done")):
                bids_done()


def show(names: dict[int, str]) -> None:
    bid_id = records.picker("bid", names, label=ui.t("bids_contracts.bid.select"), key="bc-bid")
    if bid_id is None:
        return
    b = ui.read(bid_detail, bid_id)
    offers = ui.read(offers_of, "bid", bid_id)
    _details(b)
    _request_atb(bid_id, offers)
    _decide_atb(b, offers)
    _submit(bid_id, offers)
    _result(bid_id, offers)
    st.markdown(f"**{ui.t('bids_contracts.atb.history')}**")
    tables.table(b["atb"], PREFIX, key=f"bc-atb-history-{bid_id}", money=("Price", "Floor"))
    records.history("bid", bid_id, key=f"bc-bid-history-{bid_id}")
