"""Contracts: drafting after ATI, payment terms, the ATC gate (legal + finance), signing, change orders."""
from decimal import Decimal as D

import pytest
from sqlmodel import select

from core.calculations import four_calculations
from core.enums import (Calculation, ChangeStatus, ContractStatus, Decision, GateKind, Stage, Trigger)
from core.errors import (AmountError, DuplicateError, GateError, PermissionDenied, StaleVersionError,
                         ValidationError)
from core.models import Baseline, ChangeOrder, Contract, Opportunity, PaymentTerm
from core.services import billing, contracts, delivery
from tests.integration.money_fixtures import (active_terms, days, draft_with_terms, gate_rows, make_opportunity,
                                              refused, sign, signed_contract, standard_terms, terms_by_name)


# -- drafting --------------------------------------------------------------------------------------

def test_draft_needs_an_opportunity_that_passed_ati(world):
    opp = make_opportunity(world)
    cid = world.do("ar", contracts.draft_contract, opp, number="HT-1", name="Grid", amount="1,000,000.00",
                   scope="monitoring", warranty_months=24)
    c = world.get(Contract, cid)
    assert (c.status, c.amount, c.warranty_months, c.opportunity_id) == (ContractStatus.DRAFT, D("1000000.00"), 24, opp)
    assert c.account_id == world.get(Opportunity, opp).account_id

    no_ati = make_opportunity(world, name="no ati", stage=Stage.GUIDANCE, ati=None)
    refused(world, GateError, "ar", contracts.draft_contract, no_ati, number="HT-2", name="x", amount=1,
            match="ATI")
    killed = make_opportunity(world, name="killed", stage=Stage.GUIDANCE, ati=Decision.KILL)
    refused(world, GateError, "ar", contracts.draft_contract, killed, number="HT-2", name="x", amount=1)
    initiation = make_opportunity(world, name="waiting", stage=Stage.INITIATION, ati=None)
    refused(world, GateError, "ar", contracts.draft_contract, initiation, number="HT-2", name="x", amount=1,
            match="initiation")


def test_draft_refuses_duplicate_number_bad_input_and_wrong_role(world):
    opp = make_opportunity(world)
    world.do("ar", contracts.draft_contract, opp, number="HT-1", name="Grid", amount=1000)
    err = refused(world, DuplicateError, "ar", contracts.draft_contract, opp, number="HT-1", name="again",
                  amount=1000, match="'HT-1' is already used")
    assert err.field == "number"
    err = refused(world, ValidationError, "ar", contracts.draft_contract, opp, number="HT-2", name="x", amount="lots")
    assert err.field == "amount"
    refused(world, PermissionDenied, "fr", contracts.draft_contract, opp, number="HT-3", name="x", amount=1)


# -- payment terms ---------------------------------------------------------------------------------

def test_percent_terms_put_the_rounding_remainder_on_the_last_term(world):
    opp = make_opportunity(world)
    cid = world.do("ar", contracts.draft_contract, opp, number="HT-1", name="Grid", amount="100.01")
    world.do("ar", contracts.set_payment_terms, cid, [
        {"name": "Half", "percent": "50%", "trigger": "signing"},
        {"name": "Other half", "percent": "50%", "trigger": "signing"}])
    amounts = [t.amount for t in active_terms(world, cid)]
    assert amounts == [D("50.01"), D("50.00")] and sum(amounts) == D("100.01")


def test_set_terms_replaces_the_plan_and_checks_milestones(world):
    opp, cid, m1 = draft_with_terms(world)
    terms = active_terms(world, cid)
    assert [(t.name, t.amount, t.trigger, t.due_days) for t in terms] == [
        ("Advance 30%", D("300000.00"), Trigger.SIGNING, 15),
        ("Final acceptance 60%", D("600000.00"), Trigger.ACCEPTANCE, 30),
        ("Retention 10%", D("100000.00"), Trigger.WARRANTY, 30)]
    # replaced, not added to; an amount term and a percent term mix
    world.do("finance", contracts.set_payment_terms, cid, [
        {"name": "Advance", "amount": "250,000", "trigger": "signing"},
        {"name": "Rest", "percent": "75%", "trigger": "acceptance", "milestone_id": m1}])
    assert [(t.name, t.amount) for t in active_terms(world, cid)] == [("Advance", D("250000.00")),
                                                                      ("Rest", D("750000.00"))]

    other_opp, other_cid, other_m = draft_with_terms(world, number="HT-OTHER")
    cases = [
        ([{"name": "x", "percent": "50%", "amount": "1", "trigger": "signing"}], "not both"),
        ([{"name": "x", "trigger": "signing"}], "not neither"),
        ([{"name": "x", "percent": "50%", "trigger": "acceptance"}], "needs its milestone"),
        ([{"name": "x", "percent": "50%", "trigger": "acceptance", "milestone_id": other_m}],
         f"milestone {other_m} is not a milestone of contract 'HT-2026-0001'"),
        ([{"name": "x", "percent": "50%", "trigger": "signing", "milestone_id": m1}], "only an acceptance term"),
        ([{"name": "x", "percent": "50%", "trigger": "on a whim"}], "not one of signing, acceptance, warranty"),
        ([{"name": "x", "percent": "150%", "trigger": "signing"}], "at most 100%"),
        ([{"name": "", "percent": "50%", "trigger": "signing"}], "name: is required"),
    ]
    for terms_in, message in cases:
        refused(world, ValidationError, "ar", contracts.set_payment_terms, cid, terms_in, match=message)


def test_set_terms_refuses_a_stale_version_and_a_signed_contract(world):
    opp, cid, m1 = draft_with_terms(world)
    seen = world.get(Contract, cid).version
    world.do("ar", contracts.set_payment_terms, cid, standard_terms(m1), version=seen)
    refused(world, StaleVersionError, "legal", contracts.set_payment_terms, cid, standard_terms(m1), version=seen)
    sign(world, cid)
    refused(world, GateError, "ar", contracts.set_payment_terms, cid, standard_terms(m1),
            match="contract 'HT-2026-0001' is signed")


# -- ATC -------------------------------------------------------------------------------------------

def test_request_atc_refused_when_terms_do_not_add_up(world):
    opp, cid, m1 = draft_with_terms(world)
    world.do("ar", contracts.set_payment_terms, cid, [
        {"name": "Advance 30%", "percent": "30%", "trigger": "signing"},
        {"name": "Final 60%", "percent": "60%", "trigger": "acceptance", "milestone_id": m1}])
    err = refused(world, AmountError, "ar", contracts.request_atc, cid)
    assert "900,000.00" in str(err) and "1,000,000.00" in str(err)
    world.do("ar", contracts.set_payment_terms, cid, [])
    refused(world, AmountError, "ar", contracts.request_atc, cid, match="add up to 0.00")


def test_atc_creates_a_legal_and_a_finance_review(world):
    opp, cid, m1 = draft_with_terms(world)
    refused(world, PermissionDenied, "finance", contracts.request_atc, cid)
    world.do("ar", contracts.request_atc, cid)
    rows = gate_rows(world, GateKind.ATC, "contract", cid)
    assert sorted((r.reviewer_role, r.decision) for r in rows) == [("finance", Decision.PENDING),
                                                                   ("legal", Decision.PENDING)]
    assert world.get(Contract, cid).status == ContractStatus.ATC_PENDING
    refused(world, GateError, "ar", contracts.request_atc, cid, match="already awaits")


def test_sign_refused_without_atc_and_with_only_one_approval(world):
    opp, cid, m1 = draft_with_terms(world)
    refused(world, GateError, "ar", contracts.sign_contract, cid, match="before ATC is requested")
    world.do("ar", contracts.request_atc, cid)
    refused(world, GateError, "ar", contracts.sign_contract, cid, match="legal: pending, finance: pending")
    world.do("legal", contracts.review_atc_legal, cid, "approve", rationale="terms fine")
    refused(world, GateError, "ar", contracts.sign_contract, cid, match="legal: approve, finance: pending")
    # each reviewer decides only their own row, once, with a rationale
    refused(world, PermissionDenied, "legal", contracts.review_atc_finance, cid, "approve", rationale="x")
    refused(world, GateError, "legal", contracts.review_atc_legal, cid, "approve", rationale="again",
            match="already decided")
    refused(world, ValidationError, "finance", contracts.review_atc_finance, cid, "approve", rationale=" ")
    refused(world, ValidationError, "finance", contracts.review_atc_finance, cid, "go", rationale="x",
            match="approve, reject")
    refused(world, PermissionDenied, "fr", contracts.sign_contract, cid)
    # the role picks the row when going through review_atc
    world.do("finance", contracts.review_atc, cid, "approve", rationale="plan fine")
    world.do("leader", contracts.sign_contract, cid, signed_on=days(-3))
    assert world.get(Contract, cid).status == ContractStatus.SIGNED


def test_reject_sends_the_contract_back_to_draft_and_a_new_round_starts(world):
    opp, cid, m1 = draft_with_terms(world)
    world.do("ar", contracts.request_atc, cid)
    world.do("legal", contracts.review_atc_legal, cid, "reject", rationale="liability cap missing")
    assert world.get(Contract, cid).status == ContractStatus.DRAFT
    refused(world, GateError, "finance", contracts.review_atc_finance, cid, "approve", rationale="x",
            match="is draft")
    refused(world, GateError, "ar", contracts.sign_contract, cid)
    world.do("ar", contracts.request_atc, cid)
    world.do("legal", contracts.review_atc_legal, cid, "approve", rationale="cap added")
    world.do("finance", contracts.review_atc_finance, cid, "approve", rationale="ok")
    world.do("ar", contracts.sign_contract, cid)
    rows = gate_rows(world, GateKind.ATC, "contract", cid)
    assert [(r.reviewer_role, r.decision) for r in rows if r.reviewer_role == "legal"] == [
        ("legal", Decision.REJECT), ("legal", Decision.APPROVE)]


def test_editing_terms_while_atc_pending_resets_the_reviews(world):
    opp, cid, m1 = draft_with_terms(world)
    world.do("ar", contracts.request_atc, cid)
    world.do("legal", contracts.review_atc_legal, cid, "approve", rationale="ok")
    world.do("finance", contracts.review_atc_finance, cid, "approve", rationale="ok")
    world.do("ar", contracts.set_payment_terms, cid, [
        {"name": "All at signing", "percent": "100%", "trigger": "signing"}])
    refused(world, GateError, "ar", contracts.sign_contract, cid, match="legal: pending, finance: pending")
    world.do("legal", contracts.review_atc_legal, cid, "approve", rationale="ok again")
    world.do("finance", contracts.review_atc_finance, cid, "approve", rationale="ok again")
    world.do("ar", contracts.sign_contract, cid)


def test_changing_the_amount_of_a_draft_rescales_percent_terms(world):
    opp, cid, m1 = draft_with_terms(world)
    world.do("ar", contracts.update_contract, cid, amount="2000000")
    assert [t.amount for t in active_terms(world, cid)] == [D("600000.00"), D("1200000.00"), D("200000.00")]
    sign(world, cid)
    refused(world, GateError, "ar", contracts.update_contract, cid, amount=5)


# -- signing ---------------------------------------------------------------------------------------

def test_signing_releases_signing_terms_creates_budget_and_wins_the_opportunity(world):
    # estimate 1,000,000 revenue / 600,000 cost, contract at 900,000: budget cost scaled to 540,000
    opp, cid, m1 = draft_with_terms(world, amount="900000")
    sign(world, cid, signed_on=days(-10))
    c = world.get(Contract, cid)
    assert (c.status, c.signed_on, c.warranty_ends_on) == (ContractStatus.SIGNED, days(-10), None)
    released = {t.name: t.released_on for t in active_terms(world, cid)}
    assert released == {"Advance 30%": days(-10), "Final acceptance 60%": None, "Retention 10%": None}
    assert world.get(Opportunity, opp).stage == Stage.WON
    calc = world.read(lambda ctx: four_calculations(ctx.session, cid))
    assert calc["estimate"]["margin"] == D("400000.00")
    assert (calc["budget"]["revenue"], calc["budget"]["cost"], calc["budget"]["margin"]) == (
        D("900000.00"), D("540000.00"), D("360000.00"))
    assert calc["final"] is None


def test_budget_cost_given_or_zero_without_estimate(world):
    opp = make_opportunity(world, estimate=None)
    _, cid, _ = draft_with_terms(world, opp_id=opp)
    sign(world, cid, budget_cost="700,000")
    budget = world.read(lambda ctx: four_calculations(ctx.session, cid))["budget"]
    assert budget["cost"] == D("700000.00") and budget["margin_rate"] == D("0.3000")
    opp2 = make_opportunity(world, name="no estimate", estimate=None)
    _, cid2, _ = draft_with_terms(world, opp_id=opp2, number="HT-2")
    sign(world, cid2)
    assert world.read(lambda ctx: four_calculations(ctx.session, cid2))["budget"]["cost"] == D("0.00")


def test_signing_date_in_the_future_refused(world):
    opp, cid, m1 = draft_with_terms(world)
    world.do("ar", contracts.request_atc, cid)
    world.do("legal", contracts.review_atc_legal, cid, "approve", rationale="ok")
    world.do("finance", contracts.review_atc_finance, cid, "approve", rationale="ok")
    err = refused(world, ValidationError, "ar", contracts.sign_contract, cid, signed_on=days(1))
    assert err.field == "signed_on"


# -- change orders ---------------------------------------------------------------------------------

def _new_plan(m1):
    return [{"name": "Final acceptance", "amount": "800000", "trigger": "acceptance", "milestone_id": m1},
            {"name": "Retention", "amount": "100000", "trigger": "warranty"}]


def test_change_order_re_baselines_budget_and_replaces_unreleased_terms(world):
    ids = signed_contract(world)
    cid, m1 = ids["contract"], ids["m1"]
    inv = world.do("finance", billing.issue_invoice, ids["advance"], amount="300000")
    co = world.do("fr", contracts.request_change, cid, number="CO-1", reason="extra substations",
                  new_amount="1,200,000", new_scope="monitoring + 3 substations", new_cost="750000",
                  new_terms=_new_plan(m1))
    assert world.get(ChangeOrder, co).status == ChangeStatus.PENDING
    assert sorted(r.reviewer_role for r in gate_rows(world, GateKind.CHANGE_ORDER, "change_order", co)) == [
        "finance", "legal"]
    # one approval applies nothing
    world.do("legal", contracts.review_change_legal, co, "approve", rationale="ok")
    assert world.get(Contract, cid).amount == D("1000000.00")
    refused(world, PermissionDenied, "legal", contracts.review_change_finance, co, "approve", rationale="x")
    world.do("finance", contracts.review_change_finance, co, "approve", rationale="ok")

    c = world.get(Contract, cid)
    assert (c.amount, c.scope) == (D("1200000.00"), "monitoring + 3 substations")
    assert world.get(ChangeOrder, co).status == ChangeStatus.APPROVED
    terms = active_terms(world, cid)
    assert [(t.name, t.amount) for t in terms] == [("Advance 30%", D("300000.00")),
                                                   ("Final acceptance", D("800000.00")),
                                                   ("Retention", D("100000.00"))]
    assert sum(t.amount for t in terms) == c.amount
    replaced = world.read(lambda ctx: ctx.session.exec(select(PaymentTerm).where(
        PaymentTerm.contract_id == cid, PaymentTerm.active == False)).all())  # noqa: E712
    assert sorted(t.name for t in replaced) == ["Final acceptance 60%", "Retention 10%"]
    assert world.get(PaymentTerm, ids["advance"]).active   # released and invoiced: stays
    budgets = world.read(lambda ctx: ctx.session.exec(select(Baseline).where(
        Baseline.contract_id == cid, Baseline.kind == Calculation.BUDGET).order_by(Baseline.id)).all())
    assert [(b.revenue, b.cost) for b in budgets] == [(D("1000000.00"), D("600000.00")),
                                                     (D("1200000.00"), D("750000.00"))]
    calc = world.read(lambda ctx: four_calculations(ctx.session, cid))
    assert calc["budget"]["margin"] == D("450000.00") and calc["actual"]["revenue"] == D("300000.00")
    assert world.get(billing.Invoice, inv).amount == D("300000.00")
    # the replaced term can no longer be invoiced, even after acceptance
    world.do("fr", delivery.accept_milestone, m1, kind="final", accepted_on=days(-5))
    refused(world, GateError, "finance", billing.issue_invoice, ids["final"], amount="1",
            match="replaced by a change order")
    new_final = terms_by_name(world, cid)["Final acceptance"]
    world.do("finance", billing.issue_invoice, new_final, amount="800000")


def test_change_order_refusals(world):
    opp, draft_cid, dm = draft_with_terms(world, number="HT-DRAFT")
    refused(world, GateError, "ar", contracts.request_change, draft_cid, number="CO-1", reason="x",
            new_amount="1000000", match="is draft")
    ids = signed_contract(world, opp_id=opp, number="HT-2026-0001")
    cid, m1 = ids["contract"], ids["m1"]
    err = refused(world, AmountError, "ar", contracts.request_change, cid, number="CO-1", reason="more",
                  new_amount="1,300,000", new_terms=_new_plan(m1))
    assert all(f in str(err) for f in ("1,200,000.00", "released 300,000.00", "new 900,000.00", "1,300,000.00"))
    refused(world, AmountError, "ar", contracts.request_change, cid, number="CO-1", reason="less",
            new_amount="200,000", new_terms=[],
            match="new amount 200,000.00 is below what contract 'HT-2026-0001' has already released (300,000.00)")
    # no new plan: the current unreleased terms must add up to the new amount
    refused(world, AmountError, "ar", contracts.request_change, cid, number="CO-1", reason="more",
            new_amount="1,100,000", match="add up to 1,000,000.00")
    refused(world, PermissionDenied, "finance", contracts.request_change, cid, number="CO-1", reason="x",
            new_amount="1000000")
    world.do("ar", contracts.request_change, cid, number="CO-1", reason="scope wording", new_amount="1000000",
             new_scope="clarified scope")
    refused(world, GateError, "ar", contracts.request_change, cid, number="CO-2", reason="x",
            new_amount="1000000", match="'CO-1' awaiting review")
    refused(world, DuplicateError, "ar", contracts.request_change, cid, number="CO-1", reason="x",
            new_amount="1000000")


def test_rejected_change_order_changes_nothing_on_the_contract(world):
    ids = signed_contract(world)
    cid = ids["contract"]
    co = world.do("ar", contracts.request_change, cid, number="CO-1", reason="more", new_amount="1200000",
                  new_terms=_new_plan(ids["m1"]))
    before = world.get(Contract, cid)
    world.do("finance", contracts.review_change_finance, co, "reject", rationale="cash flow too late")
    assert world.get(ChangeOrder, co).status == ChangeStatus.REJECTED
    after = world.get(Contract, cid)
    assert (after.amount, after.version) == (before.amount, before.version)
    refused(world, GateError, "legal", contracts.review_change_legal, co, "approve", rationale="x",
            match="already rejected")
    # a new change order may follow
    world.do("ar", contracts.request_change, cid, number="CO-2", reason="again", new_amount="1000000")


def test_scope_only_change_keeps_terms_and_new_signing_terms_release_at_once(world):
    ids = signed_contract(world)
    cid, m1 = ids["contract"], ids["m1"]
    co = world.do("ar", contracts.request_change, cid, number="CO-1", reason="scope", new_amount="1000000",
                  new_scope="new scope", new_cost="650000")
    world.do("legal", contracts.review_change_legal, co, "approve", rationale="ok")
    world.do("finance", contracts.review_change_finance, co, "approve", rationale="ok")
    assert [t.id for t in active_terms(world, cid)] == [ids["advance"], ids["final"], ids["retention"]]
    assert world.read(lambda ctx: four_calculations(ctx.session, cid))["budget"]["cost"] == D("650000.00")

    co2 = world.do("ar", contracts.request_change, cid, number="CO-2", reason="add-on paid upfront",
                   new_amount="1100000", new_terms=[
                       {"name": "Add-on advance", "amount": "100000", "trigger": "signing"},
                       {"name": "Final acceptance", "amount": "590000", "trigger": "acceptance", "milestone_id": m1},
                       {"name": "Retention", "percent": "10%", "trigger": "warranty"}])
    world.do("legal", contracts.review_change_legal, co2, "approve", rationale="ok")
    world.do("finance", contracts.review_change_finance, co2, "approve", rationale="ok")
    terms = {t.name: t for t in active_terms(world, cid)}
    assert terms["Add-on advance"].released_on == days(0)
    assert terms["Retention"].amount == D("110000.00") and terms["Retention"].released_on is None
    # budget cost carried over from the last budget when the change order names none
    assert world.read(lambda ctx: four_calculations(ctx.session, cid))["budget"]["cost"] == D("650000.00")
    with pytest.raises(AmountError):
        world.do("finance", billing.issue_invoice, terms["Add-on advance"].id, amount="100000.01")


def _won_at(world, opp_id, *, price="850000", floor="840000"):
    from core.services import bids
    bid = world.do("sr", bids.create_bid, opp_id, title="Tender", deadline=days(10))
    world.do("sr", bids.request_atb, bid, proposed_price=price, proposed_floor=floor)
    world.do("leader", bids.decide_atb, bid, "approve", price_floor=floor, rationale="margin holds")
    world.do("sr", bids.submit_bid, bid, quoted_price=price)
    world.do("sr", bids.record_result, bid, won=True)
    return bid


def test_a_contract_below_the_won_bids_floor_needs_a_leader_naming_both_figures(world):
    """Issue 12: a bid won at 850,000 with a floor of 840,000, then a contract drafted at 500,000, passed ATC and
    signing with no check."""
    opp = make_opportunity(world)
    bid = _won_at(world, opp)
    _, cid, m1 = draft_with_terms(world, opp_id=opp, amount="500000")
    world.do("ar", contracts.request_atc, cid)
    leader = [r for r in gate_rows(world, GateKind.ATC, "contract", cid) if r.reviewer_role == "leader"]
    assert [(r.decision, r.amount, r.price_floor) for r in leader] == [(Decision.PENDING, D("500000.00"),
                                                                       D("840000.00"))]
    assert f"below the approved floor 840,000.00 of won bid {bid}" in leader[0].rationale
    world.do("legal", contracts.review_atc_legal, cid, "approve", rationale="terms fine")
    world.do("finance", contracts.review_atc_finance, cid, "approve", rationale="plan fine")
    refused(world, GateError, "ar", contracts.sign_contract, cid,
            match=f"at 500,000.00 is below the approved floor 840,000.00 of won bid {bid} 'Tender'; a leader "
                  "approves the lower amount first (leader review: pending)")
    refused(world, PermissionDenied, "finance", contracts.review_atc_leader, cid, "approve", rationale="x")
    # the amount edited during ATC: the leader's approval is for the amount as it is now
    world.do("leader", contracts.review_atc_leader, cid, "approve", rationale="phase one only; phase two follows")
    version = world.get(Contract, cid).version
    world.do("ar", contracts.update_contract, cid, version=version, amount="450000")
    world.do("legal", contracts.review_atc_legal, cid, "approve", rationale="again")
    world.do("finance", contracts.review_atc_finance, cid, "approve", rationale="again")
    refused(world, GateError, "ar", contracts.sign_contract, cid, match="at 450,000.00 is below the approved floor")
    assert [r.amount for r in gate_rows(world, GateKind.ATC, "contract", cid) if r.reviewer_role == "leader"
            and r.decision == Decision.PENDING] == [D("450000.00")]
    world.do("leader", contracts.review_atc_leader, cid, "approve", rationale="again")
    world.do("ar", contracts.sign_contract, cid, signed_on=days(-1))
    assert world.get(Contract, cid).status == ContractStatus.SIGNED


def test_a_contract_at_the_won_bids_floor_needs_no_leader_review(world):
    opp = make_opportunity(world)
    _won_at(world, opp)
    _, cid, m1 = draft_with_terms(world, opp_id=opp, amount="840000")
    world.do("ar", contracts.request_atc, cid)
    assert sorted(r.reviewer_role for r in gate_rows(world, GateKind.ATC, "contract", cid)) == ["finance", "legal"]
    world.do("legal", contracts.review_atc_legal, cid, "approve", rationale="terms fine")
    world.do("finance", contracts.review_atc_finance, cid, "approve", rationale="plan fine")
    world.do("ar", contracts.sign_contract, cid, signed_on=days(-1))
