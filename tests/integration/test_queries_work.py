"""My work: each list is scoped to the person (their seat on the opportunity, their reviewer role), and a
gate decision shows only while its subject can still be decided."""
from decimal import Decimal

import pytest
from sqlmodel import select

from core.enums import Decision, GateKind, Stage
from core.errors import PermissionDenied
from core.models import GateDecision, Opportunity
from core.queries.work import LISTS, my_work
from core.services import bids, billing, contracts, delivery, opportunities, users
from tests.integration.money_fixtures import days, draft_with_terms, make_opportunity, signed_contract

D = Decimal


def work(world, who) -> dict:
    return world.do(who, my_work)


def ids(items, key) -> set:
    return {i[key] for i in items}


def set_seats(world, opp_id, **seats):
    """Put other people in the iron triangle seats (ar_id=..., fr_id=...)."""
    def change(ctx):
        opp = ctx.session.get(Opportunity, opp_id)
        for seat, login in seats.items():
            setattr(opp, seat, world.users[login].id if login else None)
        ctx.session.add(opp)
    world.read(change)


@pytest.fixture
def fr2(world):
    world.read(lambda ctx: users.create_user(ctx, "fr2", name="FR two", roles=["fr"]))
    world.users["fr2"] = world.read(lambda ctx: users.actor(ctx, "fr2"))


def test_every_role_gets_every_list(world):
    for role in ("admin", "marketing", "ar", "sr", "fr", "legal", "finance", "leader"):
        assert set(work(world, role)) == set(LISTS)
    assert all(not v for v in work(world, "admin").values())


def test_ati_decisions_wait_on_the_leader_while_the_opportunity_is_in_initiation(world):
    opp_id = make_opportunity(world, name="Port cranes", stage=Stage.INITIATION, ati=None)
    world.do("ar", opportunities.request_ati, opp_id)
    # a stale pending row of an opportunity that has since been killed is nothing to decide
    stale = make_opportunity(world, name="Killed deal", stage=Stage.KILLED, ati=None)
    world.read(lambda ctx: ctx.session.add(GateDecision(kind=GateKind.ATI, subject_type="opportunity",
                                                        subject_id=stale, reviewer_role="leader")))
    items = work(world, "leader")["decisions"]
    assert [(i["kind"], i["subject_id"], i["subject"], i["requested_by"]) for i in items] == \
        [("ati", opp_id, "Port cranes", "ar")]
    for who in ("ar", "sr", "legal", "finance"):
        assert work(world, who)["decisions"] == []
    world.do("leader", opportunities.decide_ati, opp_id, "go", rationale="fits")
    assert work(world, "leader")["decisions"] == []


def test_atb_waits_on_the_leader_and_bids_due_go_to_their_ar_and_sr(world):
    mine = make_opportunity(world, name="Mine", stage=Stage.GUIDANCE)
    theirs = make_opportunity(world, name="Theirs", stage=Stage.GUIDANCE)
    set_seats(world, theirs, ar_id="ar2", sr_id=None)
    b1 = world.do("sr", bids.create_bid, mine, title="Tender A", deadline=days(3))
    b2 = world.do("ar2", bids.create_bid, theirs, title="Tender B", deadline=days(6))
    world.do("ar2", bids.create_bid, theirs, title="Later tender", deadline=days(30))   # not due yet
    world.do("sr", bids.request_atb, b1, proposed_price="1000000", proposed_floor="850000")

    assert ids(work(world, "ar")["bids_due"], "id") == {b1}
    assert ids(work(world, "ar2")["bids_due"], "id") == {b2}
    assert ids(work(world, "sr")["bids_due"], "id") == {b1}    # SR of 'Mine' only
    assert ids(work(world, "leader")["bids_due"], "id") == {b1, b2}
    assert work(world, "fr")["bids_due"] == []
    atb = work(world, "leader")["decisions"]
    assert [(i["kind"], i["subject_id"], i["opportunity"], i["amount"]) for i in atb] == \
        [("atb", b1, "Mine", D("1000000.00"))]


def test_atc_waits_on_legal_and_finance_until_the_contract_leaves_atc_pending(world):
    _, cid, _ = draft_with_terms(world, number="HT-ATC-1")
    world.do("ar", contracts.request_atc, cid)
    for who in ("legal", "finance"):
        items = work(world, who)["decisions"]
        assert [(i["kind"], i["subject"], i["reviewer_role"]) for i in items] == [("atc", "HT-ATC-1", who)]
    assert work(world, "leader")["decisions"] == [] and work(world, "ar")["decisions"] == []
    world.do("legal", contracts.review_atc_legal, cid, "approve", rationale="fine")
    assert work(world, "legal")["decisions"] == [] and len(work(world, "finance")["decisions"]) == 1
    # finance rejects on a new round while legal is pending again: the contract goes back to draft and
    # legal's pending row is no longer something to review
    world.do("finance", contracts.review_atc_finance, cid, "reject", rationale="plan too late")
    world.do("ar", contracts.request_atc, cid)
    world.do("legal", contracts.review_atc_legal, cid, "reject", rationale="liability")
    assert world.read(lambda ctx: ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == GateKind.ATC, GateDecision.reviewer_role == "finance",
        GateDecision.decision == Decision.PENDING)).first()) is not None
    assert work(world, "finance")["decisions"] == []


def test_change_orders_wait_on_legal_and_finance(world):
    c = signed_contract(world, number="HT-CO-1")
    change_id = world.do("fr", contracts.request_change, c["contract"], number="CO-1", reason="second site",
                         new_amount="1000000", new_scope="two sites")
    for who in ("legal", "finance"):
        items = work(world, who)["decisions"]
        assert [(i["kind"], i["subject_id"], i["subject"]) for i in items] == \
            [("change_order", change_id, "HT-CO-1 / CO-1")]
    world.do("legal", contracts.review_change_legal, change_id, "reject", rationale="no")
    assert work(world, "finance")["decisions"] == []   # rejected: the finance review no longer matters


def test_write_off_waits_on_the_leader(world):
    c = signed_contract(world, number="HT-WO-1")
    inv = world.do("finance", billing.issue_invoice, c["advance"], amount="300000", issued_on=days(-150))
    world.do("finance", billing.request_write_off, inv, amount="1000", reason="rounding")
    items = work(world, "leader")["decisions"]
    assert [(i["kind"], i["subject_id"], i["amount"]) for i in items] == [("write_off", inv, D("1000.00"))]
    assert work(world, "finance")["decisions"] == []


def test_milestones_to_accept_go_to_the_fr_of_the_opportunity(world, fr2):
    c = signed_contract(world, number="HT-MS-1")
    assert work(world, "fr")["milestones"] == []               # planned in 60 days
    world.do("fr", delivery.forecast_milestone, c["m1"], forecast_on=days(-2))
    items = work(world, "fr")["milestones"]
    assert [(i["milestone_id"], i["days_late"], i["contract"]) for i in items] == [(c["m1"], 2, "HT-MS-1")]
    assert work(world, "fr2")["milestones"] == []
    assert ids(work(world, "leader")["milestones"], "milestone_id") == {c["m1"]}
    world.do("fr", delivery.accept_milestone, c["m1"], kind="final", accepted_on=days(-1))
    assert work(world, "fr")["milestones"] == []


def test_released_terms_not_yet_invoiced_wait_on_finance(world):
    c = signed_contract(world, number="HT-T-1")
    items = work(world, "finance")["terms_to_invoice"]
    assert [(i["term_id"], i["open_amount"]) for i in items] == [(c["advance"], D("300000.00"))]
    world.do("finance", billing.issue_invoice, c["advance"], amount="100000", issued_on=days(-1))
    assert [i["open_amount"] for i in work(world, "finance")["terms_to_invoice"]] == [D("200000.00")]
    world.do("finance", billing.issue_invoice, c["advance"], amount="200000", issued_on=days(-1))
    assert work(world, "finance")["terms_to_invoice"] == []
    assert work(world, "ar")["terms_to_invoice"] == [] and work(world, "leader")["terms_to_invoice"] == []


def test_overdue_invoices_go_to_the_ar_of_the_opportunity_and_to_finance(world):
    mine = signed_contract(world, number="HT-OD-1")
    theirs = signed_contract(world, number="HT-OD-2")
    set_seats(world, theirs["opp"], ar_id="ar2")
    late = world.do("finance", billing.issue_invoice, mine["advance"], amount="300000", issued_on=days(-100))
    other = world.do("finance", billing.issue_invoice, theirs["advance"], amount="300000", issued_on=days(-60))
    assert ids(work(world, "ar")["overdue_invoices"], "invoice_id") == {late}
    assert ids(work(world, "ar2")["overdue_invoices"], "invoice_id") == {other}
    assert [i["invoice_id"] for i in work(world, "finance")["overdue_invoices"]] == [late, other]   # oldest first
    assert work(world, "leader")["overdue_invoices"] == []
    # paid in full: no longer overdue
    world.do("finance", billing.record_payment, account_id=mine["account"], amount="300000",
             allocate_to=[(late, "300000")])
    assert work(world, "ar")["overdue_invoices"] == []
    item = work(world, "ar2")["overdue_invoices"][0]
    assert item["outstanding"] == D("300000.00") and item["days_overdue"] == 45   # due 15 days after issue


def test_holds_past_review_go_to_their_ar_and_the_leaders(world):
    past_mine = make_opportunity(world, name="Hold mine", stage=Stage.ON_HOLD)
    past_theirs = make_opportunity(world, name="Hold theirs", stage=Stage.ON_HOLD)
    future = make_opportunity(world, name="Hold later", stage=Stage.ON_HOLD)
    set_seats(world, past_theirs, ar_id="ar2")

    def review_dates(ctx):
        for opp_id, when in ((past_mine, days(-3)), (past_theirs, days(0)), (future, days(5))):
            opp = ctx.session.get(Opportunity, opp_id)
            opp.hold_review_on = when
            ctx.session.add(opp)
    world.read(review_dates)
    assert [(i["opportunity_id"], i["days_past"]) for i in work(world, "ar")["holds"]] == [(past_mine, 3)]
    assert ids(work(world, "ar2")["holds"], "opportunity_id") == {past_theirs}
    assert [i["opportunity_id"] for i in work(world, "leader")["holds"]] == [past_mine, past_theirs]
    assert work(world, "sr")["holds"] == []


def test_needs_work_view(world):
    from core.context import Actor
    with pytest.raises(PermissionDenied):
        world.do(Actor(id=None, login="nobody", roles=frozenset()), my_work)
