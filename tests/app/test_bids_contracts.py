"""Bids and contracts (投标与合同) on the demo data: bids with their countdown and the ATB gate; contracts with
the payment-terms editor, the ATC reviews, signing, change orders and the timeline; every action through core."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, update
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core import clock
from app.i18n import catalogue
from core.calculations import active_terms
from core.context import SYSTEM, unit_of_work
from core.enums import BidStatus, ChangeStatus, ContractStatus, Decision, GateKind, Stage
from core.errors import PermissionDenied
from core.models import Bid, ChangeOrder, Contract, GateDecision, Invoice, Opportunity, User
from core.services import bids, contracts, users
from core.services import opportunities as opps_svc
from tests.app.conftest import assert_unreachable, texts

PAGE = "screens/bids_contracts.py"
WITH = ["ar", "sr", "legal", "finance", "leader"]
WITHOUT = ["admin", "marketing", "fr"]
TODAY = clock.today()


def read(url, fn):
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        return fn(ctx)


def act(url, login, fn, *args, **kwargs):
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        who = users.actor(ctx, login)
    with unit_of_work(who, "test", url=url) as ctx:
        return fn(ctx, *args, **kwargs)


def guidance_opps(url) -> list[int]:
    """The demo's deals in guidance, each made `ar`'s (the tests act as ar, whose data scope is their own deals)."""
    def pick(ctx):
        ar = ctx.session.exec(select(User.id).where(User.login == "ar")).one()
        opps = ctx.session.exec(select(Opportunity).where(Opportunity.stage == Stage.GUIDANCE)
                                .order_by(Opportunity.id)).all()
        for o in opps:
            o.ar_id = ar
        return [o.id for o in opps]
    return read(url, pick)


def new_bid(url, opp_id, **kw) -> int:
    kw = {"title": "Tender for the data platform", "deadline": TODAY + timedelta(days=10), "bid_bond": "20000",
          "competitors": "Huawei", **kw}
    return act(url, "sr", bids.create_bid, opp_id, **kw)


def approved_bid(url, opp_id, floor="900000") -> int:
    bid_id = new_bid(url, opp_id)
    act(url, "sr", bids.request_atb, bid_id, proposed_price="1000000", proposed_floor=floor)
    act(url, "leader", bids.decide_atb, bid_id, "approve", price_floor=floor, rationale="margin holds",
        below_cost_reason="a reference deal")   # the demo's estimates may cost more than these round figures
    return bid_id


def draft(url, opp_id, number="HT-TEST-0001", amount=None) -> int:
    """A draft at the deal's amount by default: a margin over the estimated cost that needs no leader's step."""
    amount = amount or read(url, lambda ctx: ctx.session.get(Opportunity, opp_id).amount)
    return act(url, "ar", contracts.draft_contract, opp_id, number=number, name="Data platform", amount=amount)


def atc_pending(url, opp_id, number="HT-TEST-0001") -> int:
    cid = draft(url, opp_id, number)
    act(url, "ar", contracts.set_payment_terms, cid, [{"name": "Advance", "percent": "30%", "trigger": "signing"},
                                                       {"name": "Retention", "percent": "70%", "trigger": "warranty"}])
    act(url, "ar", contracts.request_atc, cid)
    return cid


def signed_with_open_terms(url) -> int:
    """A demo contract, signed, with payment terms not yet released and no change order pending."""
    def pick(ctx):
        pending = select(ChangeOrder.contract_id).where(ChangeOrder.status == ChangeStatus.PENDING)
        for c in ctx.session.exec(select(Contract).where(Contract.status == ContractStatus.SIGNED,
                                                         Contract.id.not_in(pending)).order_by(Contract.id)).all():
            if any(t.released_on is None for t in active_terms(ctx.session, c.id)):
                return c.id
    return read(url, pick)


def open_bid(page, login, bid_id, lang="en") -> AppTest:
    at = page(login, PAGE, lang=lang)
    at.selectbox(key="bc-bid").set_value(bid_id).run()
    assert not at.exception, at.exception
    return at


def open_contract(page, login, cid) -> AppTest:
    at = page(login, PAGE)
    at.selectbox(key="bc-contract").set_value(cid).run()
    assert not at.exception, at.exception
    return at


def successes(at) -> list[str]:
    return [s.value for s in at.success]


def w(at, kind: str, form: str, field: str):
    """A widget of a one-time form (forms.once_form keys its widgets `<form>-<field>-<one-time key>`)."""
    for e in getattr(at, kind):
        if (e.key or "").startswith(f"{form}-{field}-"):
            return e
    raise KeyError(f"{form}-{field}")


def keys(at) -> set[str]:
    return {b.key for b in at.button}


# -- access -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", WITH)
def test_every_role_with_access_sees_bids_and_a_contract(page, demo_url, role):
    bid_id = new_bid(demo_url, guidance_opps(demo_url)[0])
    cid = atc_pending(demo_url, guidance_opps(demo_url)[1])
    at = page(role, PAGE)
    assert not at.exception
    assert "Bids and contracts" in [t.value for t in at.title]
    at.selectbox(key="bc-bid").set_value(bid_id).run()
    assert not at.exception and not at.error
    for contract in (cid, signed_with_open_terms(demo_url)):
        at.selectbox(key="bc-contract").set_value(contract).run()
        assert not at.exception, at.exception
        assert not at.error


@pytest.mark.parametrize("role", WITHOUT)
def test_roles_without_access_cannot_reach_the_page(page, role):
    assert_unreachable(page, role, PAGE)


def test_chinese_labels(page, demo_url):
    at = page("leader", PAGE, lang="zh")
    at.selectbox(key="bc-contract").set_value(signed_with_open_terms(demo_url)).run()
    assert not at.exception
    shown = texts(at)
    assert "投标与合同" in shown and "已签约" in shown


def test_dynamic_labels_exist_in_both_languages():
    keys = catalogue()
    names = [f"value.{s.value}" for s in (*BidStatus, *ContractStatus)]
    names += [f"value.{s}" for s in ("guidance", "bidding", "negotiation")]
    names += [f"value.{d}" for d in ("approve", "reject", "pending", "not_requested")]
    assert [k for k in names if k not in keys] == []


# -- bids -------------------------------------------------------------------------------------------

def test_open_bids_with_countdown_and_overdue_flag(page, demo_url):
    opps = guidance_opps(demo_url)
    soon = new_bid(demo_url, opps[0], title="Due in ten days")
    late = new_bid(demo_url, opps[1], title="Forgotten tender")
    read(demo_url, lambda ctx: ctx.session.execute(update(Bid).where(Bid.id == late)
                                                   .values(deadline=TODAY - timedelta(days=3))))
    at = page("leader", PAGE)
    shown = at.dataframe[0].value
    expected = read(demo_url, lambda ctx: set(ctx.session.exec(select(Bid.id).where(Bid.status.in_(
        [BidStatus.DRAFT, BidStatus.ATB_PENDING, BidStatus.APPROVED, BidStatus.SUBMITTED]))).all()))
    assert set(shown["ID"]) == expected
    rows = shown.set_index("ID")
    assert (rows.at[soon, "Days left"], bool(rows.at[soon, "Overdue"])) == (10, False)
    assert (rows.at[late, "Days left"], bool(rows.at[late, "Overdue"])) == (-3, True)
    overdue = read(demo_url, lambda ctx: ctx.session.exec(select(Bid.title).where(
        Bid.status.in_([BidStatus.DRAFT, BidStatus.ATB_PENDING, BidStatus.APPROVED]), Bid.deadline < TODAY)).all())
    assert "Forgotten tender" in overdue                 # the demo may have forgotten a tender of its own
    assert f"{len(overdue)} bids past the deadline and not submitted: " in at.warning[0].value
    assert all(title in at.warning[0].value for title in overdue)
    # the whole list, newest deadline first
    at.toggle(key="bc-bids-all").set_value(True).run()
    assert len(at.dataframe[0].value) == read(demo_url, lambda ctx: ctx.session.exec(
        select(func.count()).select_from(Bid)).one())


def test_sr_creates_a_bid_and_requests_atb(page, demo_url):
    opp_id = guidance_opps(demo_url)[0]
    at = page("sr", PAGE)
    w(at, "selectbox", "bc-bid-new", "opp").set_value(opp_id)
    w(at, "text_input", "bc-bid-new", "title").input("Smart grid tender")
    w(at, "date_input", "bc-bid-new", "deadline").set_value(TODAY + timedelta(days=21))
    w(at, "text_input", "bc-bid-new", "bond").input("50,000")
    w(at, "text_input", "bc-bid-new", "competitors").input("Inspur, Neusoft")
    w(at, "button", "bc-bid-new", "submit").click().run()
    assert not at.error and "Bid created." in successes(at)
    bid = read(demo_url, lambda ctx: ctx.session.exec(select(Bid).where(Bid.title == "Smart grid tender")).one())
    assert (bid.opportunity_id, bid.status, bid.bid_bond, bid.deadline) == (
        opp_id, BidStatus.DRAFT, Decimal("50000.00"), TODAY + timedelta(days=21))
    assert read(demo_url, lambda ctx: ctx.session.get(Opportunity, opp_id).stage) == Stage.BIDDING

    at.selectbox(key="bc-bid").set_value(bid.id).run()
    form = f"bc-atb-request-{bid.id}"
    w(at, "text_input", form, "price").input("1,000,000")
    w(at, "text_input", form, "floor").input("1,200,000")
    w(at, "button", form, "submit").click().run()
    assert "Proposed price floor: 1,200,000.00 is above the proposed price 1,000,000.00" in at.error[0].value
    assert read(demo_url, lambda ctx: ctx.session.get(Bid, bid.id).status) == BidStatus.DRAFT
    w(at, "text_input", form, "floor").input("850,000")
    w(at, "button", form, "submit").click().run()
    assert not at.error
    gate = read(demo_url, lambda ctx: ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == GateKind.ATB, GateDecision.subject_id == bid.id)).one())
    assert (gate.decision, gate.amount, gate.price_floor) == (Decision.PENDING, Decimal("1000000.00"),
                                                              Decimal("850000.00"))


def test_leader_approves_atb_with_a_floor(page, demo_url):
    from core.services.opportunities import latest_estimate
    opp_id = guidance_opps(demo_url)[0]
    cost = read(demo_url, lambda ctx: latest_estimate(ctx, opp_id)).cost   # floors above it need no reason
    bid_id = new_bid(demo_url, opp_id)
    act(demo_url, "sr", bids.request_atb, bid_id, proposed_price=str(cost * 2), proposed_floor=str(cost + 1000))
    at = open_bid(page, "leader", bid_id)
    form = f"bc-atb-decide-{bid_id}"
    assert w(at, "text_input", form, "floor").value == f"{cost + 1000:.2f}"   # the proposed floor
    w(at, "text_input", form, "floor").input(f"{cost + 5000:,.2f}")
    w(at, "text_area", form, "rationale").input("30% margin at the floor")
    w(at, "button", form, "submit").click().run()
    assert not at.error, at.error[0].value
    bid = read(demo_url, lambda ctx: ctx.session.get(Bid, bid_id))
    assert (bid.status, bid.price_floor) == (BidStatus.APPROVED, cost + 5000)


def test_the_atb_decision_shows_the_estimate_and_asks_why_under_cost(page, demo_url):
    """Issue 12: ATB never showed the estimate (概算); a floor under the estimated cost needs the leader's reason."""
    from core.services.opportunities import latest_estimate
    opp_id = guidance_opps(demo_url)[0]
    est = read(demo_url, lambda ctx: latest_estimate(ctx, opp_id))
    if est is None:
        act(demo_url, "sr", opps_svc.set_estimate, opp_id, revenue="1000000", cost="700000")
        est = read(demo_url, lambda ctx: latest_estimate(ctx, opp_id))
    under = (est.cost * Decimal("0.9")).quantize(Decimal("1"))
    bid_id = new_bid(demo_url, opp_id)
    act(demo_url, "sr", bids.request_atb, bid_id, proposed_price=str(est.cost * 2), proposed_floor=str(under))
    at = open_bid(page, "leader", bid_id)
    assert f"{est.cost:,.2f}" in texts(at) and f"{est.revenue - est.cost:,.2f}" in texts(at)
    assert any("is under the estimated cost" in x.value for x in at.warning)
    form = f"bc-atb-decide-{bid_id}"
    w(at, "text_area", form, "rationale").input("Reference customer")
    w(at, "button", form, "submit").click().run()
    assert "needs a reason for bidding under cost" in at.error[0].value
    assert read(demo_url, lambda ctx: ctx.session.get(Bid, bid_id).status) == BidStatus.ATB_PENDING
    w(at, "text_input", form, "below-cost").input("The follow-on phase pays for it")
    w(at, "button", form, "submit").click().run()
    assert not at.error
    assert read(demo_url, lambda ctx: ctx.session.get(Bid, bid_id).status) == BidStatus.APPROVED


@pytest.mark.parametrize("role", ["ar", "sr", "legal", "finance"])
def test_others_do_not_see_the_atb_decision_and_core_refuses_them(page, demo_url, role):
    bid_id = new_bid(demo_url, guidance_opps(demo_url)[0])
    act(demo_url, "sr", bids.request_atb, bid_id, proposed_price="1000000", proposed_floor="850000")
    at = open_bid(page, role, bid_id)
    assert not [k for k in keys(at) if k.startswith(f"bc-atb-decide-{bid_id}-")]
    assert "ATB pending: price 1,000,000.00, floor 850,000.00." in [i.value for i in at.info]
    with pytest.raises(PermissionDenied, match="may not perform 'atb.decide'"):
        act(demo_url, role, bids.decide_atb, bid_id, "approve", price_floor="850000", rationale="fine")
    assert read(demo_url, lambda ctx: ctx.session.get(Bid, bid_id).status) == BidStatus.ATB_PENDING


def test_a_quote_under_the_floor_is_refused_then_submitted_and_lost(page, demo_url):
    opp_id = guidance_opps(demo_url)[0]
    bid_id = approved_bid(demo_url, opp_id, floor="900000")
    at = open_bid(page, "sr", bid_id)
    form = f"bc-submit-{bid_id}"
    w(at, "text_input", form, "quote").input("850,000")
    w(at, "button", form, "submit").click().run()
    assert "under the approved price floor 900,000.00" in at.error[0].value
    bid = read(demo_url, lambda ctx: ctx.session.get(Bid, bid_id))
    assert (bid.status, bid.quoted_price) == (BidStatus.APPROVED, None)

    w(at, "text_input", form, "quote").input("950,000")
    w(at, "button", form, "submit").click().run()
    assert not at.error and "Bid submitted." in successes(at)
    bid = read(demo_url, lambda ctx: ctx.session.get(Bid, bid_id))
    assert (bid.status, bid.quoted_price, bid.submitted_on) == (BidStatus.SUBMITTED, Decimal("950000.00"), TODAY)

    at = open_bid(page, "ar", bid_id)
    form = f"bc-result-{bid_id}"
    w(at, "radio", form, "outcome").set_value(False)   # lost
    w(at, "button", form, "submit").click().run()
    assert "Loss reason: is required" in at.error[0].value   # the field named as the form labels it
    w(at, "text_input", form, "reason").input("Price 8% above the winner")
    w(at, "text_input", form, "winner").input("Huawei")
    w(at, "button", form, "submit").click().run()
    assert not at.error
    bid = read(demo_url, lambda ctx: ctx.session.get(Bid, bid_id))
    assert (bid.status, bid.loss_reason, bid.winner) == (BidStatus.LOST, "Price 8% above the winner", "Huawei")
    assert read(demo_url, lambda ctx: ctx.session.get(Opportunity, opp_id).stage) == Stage.LOST


def bid_row(at, bid_id) -> int:
    shown = at.data_editor(key="bc-bids-0").value
    return int(shown.index[shown["ID"] == bid_id][0])


def test_bid_fields_are_edited_in_the_table(page, demo_url):
    bid_id = new_bid(demo_url, guidance_opps(demo_url)[0])
    at = page("sr", PAGE)
    at.toggle(key="bc-bids-edit").set_value(True).run()   # the list becomes an edit table
    at.session_state["bc-bids-0"] = {"edited_rows": {bid_row(at, bid_id): {
        "Title": "Renamed tender", "Deadline": str(TODAY + timedelta(days=30)), "Competitors": "Inspur"}},
        "added_rows": [], "deleted_rows": []}
    at.button(key="bc-bids-save").click().run()
    assert not at.exception and not at.error
    bid = read(demo_url, lambda ctx: ctx.session.get(Bid, bid_id))
    assert (bid.title, bid.deadline, bid.competitors) == ("Renamed tender", TODAY + timedelta(days=30), "Inspur")


def test_a_stale_bid_edit_is_refused_naming_who_changed_it(page, demo_url):
    bid_id = new_bid(demo_url, guidance_opps(demo_url)[0])
    at = page("sr", PAGE)
    at.toggle(key="bc-bids-edit").set_value(True).run()
    row = bid_row(at, bid_id)
    act(demo_url, "ar", bids.update_bid, bid_id, title="Changed by the AR")   # meanwhile
    at.session_state["bc-bids-0"] = {"edited_rows": {row: {"Title": "Mine"}}, "added_rows": [], "deleted_rows": []}
    at.button(key="bc-bids-save").click().run()
    assert "stale" in at.error[0].value and "'ar'" in at.error[0].value
    assert read(demo_url, lambda ctx: ctx.session.get(Bid, bid_id).title) == "Changed by the AR"


def test_leader_and_legal_see_bids_read_only(page, demo_url):
    new_bid(demo_url, guidance_opps(demo_url)[0])
    for role in ("leader", "legal"):
        at = page(role, PAGE)
        assert not [e for e in at.data_editor if e.key == "bc-bids-0"]
        assert not [t for t in at.toggle if t.key == "bc-bids-edit"]   # no way to switch to editing either


# -- contracts --------------------------------------------------------------------------------------

def terms_of(url, cid):
    return read(url, lambda ctx: [(t.name, t.amount, t.trigger.value) for t in active_terms(ctx.session, cid)])


def test_ar_drafts_a_contract_from_an_opportunity(page, demo_url):
    opp_id = guidance_opps(demo_url)[0]
    at = page("ar", PAGE)
    w(at, "selectbox", "bc-draft", "opp").set_value(opp_id)
    w(at, "text_input", "bc-draft", "number").input("HT-NEW-0001")
    w(at, "text_input", "bc-draft", "name").input("Data platform")
    w(at, "text_input", "bc-draft", "amount").input("1,000,000")
    w(at, "number_input", "bc-draft", "warranty").set_value(24)
    w(at, "text_area", "bc-draft", "scope").input("Platform and two years of support")
    w(at, "button", "bc-draft", "submit").click().run()
    assert not at.exception and not at.error
    c = read(demo_url, lambda ctx: ctx.session.exec(select(Contract).where(Contract.number == "HT-NEW-0001")).one())
    assert (c.opportunity_id, c.amount, c.warranty_months, c.status) == (
        opp_id, Decimal("1000000.00"), 24, ContractStatus.DRAFT)
    assert at.selectbox(key="bc-contract").value == c.id   # the new draft is opened

    # a second draft with the same number is refused by core
    w(at, "selectbox", "bc-draft", "opp").set_value(opp_id)
    w(at, "text_input", "bc-draft", "number").input("HT-NEW-0001")
    w(at, "text_input", "bc-draft", "name").input("Again")
    w(at, "text_input", "bc-draft", "amount").input("5")
    w(at, "button", "bc-draft", "submit").click().run()
    assert "contract number 'HT-NEW-0001' is already used" in at.error[0].value


def test_terms_that_do_not_add_up_are_refused_with_cores_message(page, demo_url):
    cid = draft(demo_url, guidance_opps(demo_url)[0], amount="1000000")
    at = open_contract(page, "ar", cid)
    request = at.button(key=f"bc-atc-request-{cid}")   # no terms yet: core refuses ATC and says why
    assert request.disabled
    assert "payment terms of contract 'HT-TEST-0001' add up to 0.00, not the contract amount" in request.help

    at.session_state[f"bc-terms-{cid}"] = {"edited_rows": {}, "deleted_rows": [], "added_rows": [
        {"Name": "Advance", "Percent": "30%", "Trigger": "signing", "Due days": 15},
        {"Name": "Retention", "Percent": "60%", "Trigger": "warranty", "Due days": 30}]}
    at.run()
    assert "Payment terms add up to 900,000.00 of 1,000,000.00 (90.0%). Difference: -100,000.00." in \
        [w.value for w in at.warning]
    at.button(key=f"bc-terms-save-{cid}").click().run()
    assert ("payment terms of contract 'HT-TEST-0001' add up to 900,000.00, not the contract amount "
            "1,000,000.00 (2 term(s))") in at.error[0].value
    assert terms_of(demo_url, cid) == []

    at.session_state[f"bc-terms-{cid}"] = {"edited_rows": {}, "deleted_rows": [], "added_rows": [
        {"Name": "Advance", "Percent": "30%", "Trigger": "signing", "Due days": 15},
        {"Name": "Retention", "Percent": "", "Amount": "700,000", "Trigger": "warranty", "Due days": 30}]}
    at.run()
    assert "Payment terms add up to 1,000,000.00 of 1,000,000.00 (100.0%)." in successes(at)
    at.button(key=f"bc-terms-save-{cid}").click().run()
    assert not at.error and "Payment terms saved." in successes(at)
    assert terms_of(demo_url, cid) == [("Advance", Decimal("300000.00"), "signing"),
                                       ("Retention", Decimal("700000.00"), "warranty")]
    # the editor now shows the saved plan
    assert list(at.data_editor(key=f"bc-terms-{cid}").value["Name"]) == ["Advance", "Retention"]

    at.button(key=f"bc-atc-request-{cid}").click().run()
    assert not at.error
    assert read(demo_url, lambda ctx: ctx.session.get(Contract, cid).status) == ContractStatus.ATC_PENDING


def atc_rows(url, cid):
    return read(url, lambda ctx: {g.reviewer_role: g.decision for g in ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == GateKind.ATC, GateDecision.subject_id == cid).order_by(GateDecision.id)).all()})


def test_a_contract_below_the_won_bids_floor_shows_the_leader_review_and_signs_only_after_it(page, demo_url):
    """Issue 12: the leader's review of an amount below the won bid's floor, on the page, naming both figures."""
    opp_id = guidance_opps(demo_url)[0]
    bid_id = approved_bid(demo_url, opp_id, floor="900000")
    act(demo_url, "sr", bids.submit_bid, bid_id, quoted_price="950000")
    act(demo_url, "sr", bids.record_result, bid_id, won=True)
    cid = atc_pending(demo_url, opp_id)      # drafted at the deal's amount ...
    act(demo_url, "ar", contracts.update_contract, cid, amount="600000",
        version=read(demo_url, lambda ctx: ctx.session.get(Contract, cid).version))   # ... and cut to 600,000
    for who, fn in (("legal", contracts.review_atc_legal), ("finance", contracts.review_atc_finance)):
        act(demo_url, who, fn, cid, "approve", rationale="fine")
    at = open_contract(page, "ar", cid)
    sign = at.button(key=f"bc-sign-{cid}-refused")
    assert sign.disabled and "at 600,000.00 is below the approved floor 900,000.00 of won bid" in sign.help
    assert not [k for k in keys(at) if k.startswith(f"bc-atc-leader-{cid}")]   # the leader's to decide
    at = open_contract(page, "leader", cid)
    form = f"bc-atc-leader-{cid}"
    w(at, "text_area", form, "rationale").input("Phase one only")
    w(at, "button", form, "submit").click().run()
    assert not at.error
    assert atc_rows(demo_url, cid)["leader"] == Decision.APPROVE
    at = open_contract(page, "ar", cid)
    assert not [b for b in at.button if b.key == f"bc-sign-{cid}-refused"]   # now core offers signing


def test_a_contract_without_a_won_bid_shows_no_leader_review(page, demo_url):
    cid = atc_pending(demo_url, guidance_opps(demo_url)[0])
    at = open_contract(page, "leader", cid)
    assert not [k for k in keys(at) if k.startswith(f"bc-atc-leader-{cid}")]


def test_legal_then_finance_approve_atc_and_ar_signs(page, demo_url):
    opp_id = guidance_opps(demo_url)[0]
    cid = atc_pending(demo_url, opp_id)
    at = open_contract(page, "legal", cid)
    legal, finance = f"bc-atc-legal-{cid}", f"bc-atc-finance-{cid}"
    w(at, "button", legal, "submit")
    assert not [k for k in keys(at) if k.startswith(finance)]
    w(at, "text_area", legal, "rationale").input("Liability capped at 100%")
    w(at, "button", legal, "submit").click().run()
    assert not at.error
    assert atc_rows(demo_url, cid) == {"legal": Decision.APPROVE, "finance": Decision.PENDING}
    with pytest.raises(KeyError):   # decided: the form is gone, core says why
        w(at, "button", legal, "submit")
    assert "already decided" in at.button(key=f"{legal}-refused").help

    at = open_contract(page, "ar", cid)
    sign = at.button(key=f"bc-sign-{cid}-refused")   # finance has not approved yet: core refuses signing
    assert sign.disabled and "legal: approve, finance: pending" in sign.help

    at = open_contract(page, "finance", cid)
    assert not [k for k in keys(at) if k.startswith(legal)]
    w(at, "radio", finance, "decision").set_value("approve")
    w(at, "text_area", finance, "rationale").input("Plan acceptable")
    w(at, "button", finance, "submit").click().run()
    assert not at.error
    assert atc_rows(demo_url, cid) == {"legal": Decision.APPROVE, "finance": Decision.APPROVE}

    at = open_contract(page, "ar", cid)
    w(at, "button", f"bc-sign-{cid}", "submit").click().run()
    assert not at.error and "Contract HT-TEST-0001 signed." in successes(at)
    c = read(demo_url, lambda ctx: ctx.session.get(Contract, cid))
    assert (c.status, c.signed_on) == (ContractStatus.SIGNED, TODAY)
    assert read(demo_url, lambda ctx: ctx.session.get(Opportunity, opp_id).stage) == Stage.WON


def test_a_legal_rejection_needs_a_rationale_and_sends_the_draft_back(page, demo_url):
    cid = atc_pending(demo_url, guidance_opps(demo_url)[0])
    at = open_contract(page, "legal", cid)
    legal = f"bc-atc-legal-{cid}"
    w(at, "radio", legal, "decision").set_value("reject")
    w(at, "button", legal, "submit").click().run()
    assert "Rationale: is required" in at.error[0].value
    assert atc_rows(demo_url, cid)["legal"] == Decision.PENDING
    w(at, "text_area", legal, "rationale").input("No liability cap")
    w(at, "button", legal, "submit").click().run()
    assert not at.error
    assert read(demo_url, lambda ctx: ctx.session.get(Contract, cid).status) == ContractStatus.DRAFT


def test_a_stale_contract_edit_is_refused_naming_who_changed_it(page, demo_url):
    cid = draft(demo_url, guidance_opps(demo_url)[0], amount="1000000")
    at = open_contract(page, "ar", cid)
    act(demo_url, "legal", contracts.update_contract, cid, scope="Scope agreed with legal")   # meanwhile
    at.text_input(key=f"bc-edit-amount-{cid}").input("1,100,000")
    at.button(key=f"bc-edit-submit-{cid}").click().run()
    assert "stale" in at.error[0].value and "'legal'" in at.error[0].value
    c = read(demo_url, lambda ctx: ctx.session.get(Contract, cid))
    assert (c.amount, c.scope) == (Decimal("1000000.00"), "Scope agreed with legal")
    at.button(key=f"bc-reload-{cid}").click().run()   # reload: the other change shows and a save goes through
    at.text_input(key=f"bc-edit-amount-{cid}").input("1,100,000")
    at.button(key=f"bc-edit-submit-{cid}").click().run()
    assert not at.error
    assert read(demo_url, lambda ctx: ctx.session.get(Contract, cid).amount) == Decimal("1100000.00")


def test_ar_requests_a_change_order_and_legal_reviews_it(page, demo_url):
    cid = signed_with_open_terms(demo_url)
    amount = read(demo_url, lambda ctx: ctx.session.get(Contract, cid).amount)
    at = open_contract(page, "ar", cid)
    form = f"bc-change-{cid}"
    w(at, "text_input", form, "number").input("CO-TEST-01")
    w(at, "text_input", form, "reason").input("Second site")
    w(at, "text_area", form, "scope").input("Two sites")
    w(at, "text_input", form, "amount").input(f"{amount + 100000:f}")
    w(at, "button", form, "submit").click().run()   # terms kept: they no longer add up
    assert "payment terms add up to" in at.error[0].value and "not the new amount" in at.error[0].value
    assert read(demo_url, lambda ctx: ctx.session.exec(select(ChangeOrder).where(
        ChangeOrder.number == "CO-TEST-01")).first()) is None

    w(at, "text_input", form, "amount").input(f"{amount:f}")
    w(at, "button", form, "submit").click().run()
    assert not at.error and "Change order CO-TEST-01 requested." in successes(at)
    change = read(demo_url, lambda ctx: ctx.session.exec(select(ChangeOrder).where(
        ChangeOrder.number == "CO-TEST-01")).one())
    assert (change.status, change.new_scope, change.new_amount) == (ChangeStatus.PENDING, "Two sites", amount)

    at = open_contract(page, "legal", cid)
    assert not [k for k in keys(at) if k.startswith(f"bc-change-finance-{change.id}")]
    w(at, "text_area", f"bc-change-legal-{change.id}", "rationale").input("Same terms")
    w(at, "button", f"bc-change-legal-{change.id}", "submit").click().run()
    assert not at.error
    rows = read(demo_url, lambda ctx: {g.reviewer_role: g.decision for g in ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == GateKind.CHANGE_ORDER, GateDecision.subject_id == change.id)).all()})
    assert rows == {"legal": Decision.APPROVE, "finance": Decision.PENDING}


def test_a_change_orders_running_total_follows_the_new_amount_before_submitting(page, demo_url):
    """The walk saw the new plan's total compared with the old amount until the form was submitted."""
    from app import fmt

    cid = signed_with_open_terms(demo_url)
    amount = read(demo_url, lambda ctx: ctx.session.get(Contract, cid).amount)
    at = open_contract(page, "ar", cid)
    at.checkbox(key=f"bc-change-replace-{cid}").check().run()
    w(at, "text_input", f"bc-change-{cid}", "amount").input(f"{amount + 100000:f}").run()
    assert not at.exception
    totals = [m.value for m in (*at.warning, *at.success) if "add up to" in m.value]
    # the unreleased terms are measured against the new amount (less what is released): 100,000 short now
    assert totals and f"Difference: {fmt.money(-100000)}" in totals[-1], totals
    assert read(demo_url, lambda ctx: ctx.session.exec(select(ChangeOrder).where(
        ChangeOrder.contract_id == cid)).first()) is None      # nothing was submitted


def test_timeline_of_a_contract_in_date_order(page, demo_url):
    cid = read(demo_url, lambda ctx: ctx.session.exec(select(Invoice.contract_id).order_by(Invoice.id)).first())
    at = open_contract(page, "leader", cid)
    timeline = next(df.value for df in at.dataframe if "Event" in df.value.columns)
    numbers = read(demo_url, lambda ctx: ctx.session.exec(
        select(Invoice.number).where(Invoice.contract_id == cid)).all())
    assert numbers and all(any(f"invoice '{n}' issued" in e for e in timeline["Event"]) for n in numbers)
    assert any("ATC (Legal): Approve" in e for e in timeline["Event"])   # stored codes said as words
    assert any(e.startswith("ATI: Go") for e in timeline["Event"])
    assert list(timeline["Date"]) == sorted(timeline["Date"])
    assert {"Invoice", "gate decision", "stage / status"} <= set(timeline["Kind"])


def test_a_signed_contracts_heading_says_where_its_reviews_stand_without_repeating_names(page, demo_url):
    """The walk saw 'Legal: Approve' (a verb) and
    'Shanghai Metro 6 Co., Ltd. · Shanghai Metro 6 Co., Ltd.' (a customer named like its opportunity)."""
    from core.models import Account, Opportunity

    def same_name(ctx):
        return ctx.session.exec(select(Contract.id).join(Opportunity, Opportunity.id == Contract.opportunity_id)
                                .join(Account, Account.id == Contract.account_id)
                                .where(Contract.status == ContractStatus.SIGNED, Opportunity.name == Account.name)
                                .order_by(Contract.id)).first()
    cid = read(demo_url, same_name)
    assert cid is not None, "the demo has a contract whose opportunity is named like its customer"
    at = open_contract(page, "leader", cid)
    tiles = {m.label: m.value for m in at.metric}
    assert (tiles["Legal"], tiles["Finance"]) == ("Approved", "Approved")
    customer = read(demo_url, lambda ctx: ctx.session.get(Account, ctx.session.get(Contract, cid).account_id).name)
    captions = [c.value for c in at.caption if customer in c.value]
    assert captions and all(c.count(customer) == 1 for c in captions), captions
