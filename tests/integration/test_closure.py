"""Closure: final accounts (决算), the review, and no closing while money is outstanding."""
from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlmodel import select

from core.calculations import four_calculations
from core.enums import Calculation, ContractStatus, Decision, GateKind
from core.errors import GateError, PermissionDenied, ValidationError
from core.models import Baseline, ClosureReview, Contract
from core.services import billing, closure, contracts, delivery
from tests.integration.money_fixtures import (days, draft_with_terms, gate_rows, make_opportunity, refused,
                                              signed_contract)


@pytest.fixture
def delivered(world):
    """Signed, accepted, warranty over and retention released; costs booked; everything invoiced."""
    ids = signed_contract(world, signed_on=days(-800))
    world.do("fr", delivery.accept_milestone, ids["m1"], kind="final", accepted_on=days(-500))
    world.do("finance", delivery.release_warranty_terms, ids["contract"])
    world.do("fr", delivery.record_cost, ids["contract"], spent_on=days(-600), category="labour", amount="450000")
    world.do("fr", delivery.record_cost, ids["contract"], spent_on=days(-550), category="hardware", amount="150000")
    ids["invoices"] = [world.do("finance", billing.issue_invoice, ids[t], amount=a, issued_on=days(-30))
                       for t, a in (("advance", "300000"), ("final", "600000"), ("retention", "100000"))]
    return ids


def close(world, cid, *, by="fr", approver="leader", **kw):
    """The FR asks to close, a leader approves: the review's id."""
    kw.setdefault("went_well", "on-site team")
    kw.setdefault("went_badly", "acceptance slipped two months")
    review = world.do(by, closure.request_closure, cid, **kw)
    world.do(approver, closure.decide_closure, cid, "approve", rationale="books agree")
    return review


def test_final_accounts_default_to_invoiced_and_costs(world, delivered):
    cid = delivered["contract"]
    world.do("finance", closure.record_final_accounts, cid)
    calc = world.read(lambda ctx: four_calculations(ctx.session, cid))
    assert calc["final"] == {"revenue": D("1000000.00"), "cost": D("600000.00"), "margin": D("400000.00"),
                             "margin_rate": D("0.4000")}
    assert calc["actual"]["margin"] == D("400000.00") and calc["budget"]["cost"] == D("600000.00")
    assert calc["estimate"]["revenue"] == D("1000000.00")
    # given figures win, the newest final accounts count
    world.do("finance", closure.record_final_accounts, cid, revenue="990000", cost="620000", note="after audit")
    assert world.read(lambda ctx: four_calculations(ctx.session, cid))["final"]["margin"] == D("370000.00")
    refused(world, PermissionDenied, "fr", closure.record_final_accounts, cid)
    opp, draft_cid, _ = draft_with_terms(world, number="HT-DRAFT", opp_id=make_opportunity(world, name="next"))
    refused(world, GateError, "finance", closure.record_final_accounts, draft_cid, match="is draft")


def test_closure_refused_without_final_accounts_or_review(world, delivered):
    cid = delivered["contract"]
    world.do("finance", billing.record_payment, account_id=delivered["account"], amount="1000000")
    refused(world, GateError, "fr", closure.request_closure, cid, went_well="a", went_badly="b",
            match="no final accounts")
    world.do("finance", closure.record_final_accounts, cid)
    err = refused(world, ValidationError, "fr", closure.request_closure, cid, went_well="a", went_badly="  ")
    assert err.field == "went_badly"
    refused(world, PermissionDenied, "finance", closure.request_closure, cid, went_well="a", went_badly="b")
    refused(world, ValidationError, "fr", closure.request_closure, cid, went_well="a", went_badly="b",
            closed_on=days(1), match="in the future")


def test_closure_refused_while_money_is_outstanding_then_allowed_after_payment(world, delivered):
    cid = delivered["contract"]
    inv_numbers = [world.get(billing.Invoice, i).number for i in delivered["invoices"]]
    world.do("finance", billing.record_payment, account_id=delivered["account"], amount="850000")
    world.do("finance", closure.record_final_accounts, cid)
    err = refused(world, GateError, "fr", closure.request_closure, cid, went_well="a", went_badly="b")
    # 300,000 + 600,000 paid first would leave 50,000 on the final invoice and 100,000 on the retention
    assert "150,000.00 outstanding" in str(err)
    assert f"{inv_numbers[1]} (50,000.00)" in str(err) and f"{inv_numbers[2]} (100,000.00)" in str(err)
    assert inv_numbers[0] not in str(err)
    world.do("finance", billing.record_payment, account_id=delivered["account"], amount="150000")
    review = close(world, cid, closed_on=days(-1))
    c = world.get(Contract, cid)
    assert (c.status, c.closed_on) == (ContractStatus.CLOSED, days(-1))
    r = world.get(ClosureReview, review)
    assert (r.went_well, r.went_badly, r.closed_by_id) == ("on-site team", "acceptance slipped two months",
                                                           world.users["fr"].id)
    rows = gate_rows(world, GateKind.CLOSURE, "contract", cid)
    assert [(g.decision, g.reviewer_role, g.requested_by_id, g.decided_by_id) for g in rows] == [
        (Decision.APPROVE, "leader", world.users["fr"].id, world.users["leader"].id)]
    # closed means closed
    refused(world, GateError, "fr", closure.request_closure, cid, went_well="a", went_badly="b",
            match="is closed")
    refused(world, GateError, "leader", closure.decide_closure, cid, "approve", rationale="x", match="is closed")
    refused(world, GateError, "fr", delivery.record_cost, cid, spent_on=days(-1), category="travel", amount="1")
    refused(world, GateError, "ar", contracts.request_change, cid, number="CO-9", reason="x", new_amount="1")


def test_approved_write_off_lets_the_project_close(world, delivered):
    cid = delivered["contract"]
    world.do("finance", billing.record_payment, account_id=delivered["account"], amount="980000")
    world.do("finance", closure.record_final_accounts, cid)
    retention = delivered["invoices"][2]
    wo = world.do("finance", billing.request_write_off, retention, amount="20000", reason="penalty for delay")
    refused(world, GateError, "fr", closure.request_closure, cid, went_well="a", went_badly="b",
            match="20,000.00 outstanding")
    world.do("leader", billing.decide_write_off, retention, "approve", rationale="contractual penalty")
    assert wo
    close(world, cid)
    assert world.get(Contract, cid).status == ContractStatus.CLOSED
    finals = world.read(lambda ctx: ctx.session.exec(select(Baseline).where(
        Baseline.contract_id == cid, Baseline.kind == Calculation.FINAL)).all())
    assert len(finals) == 1


def test_closure_lists_every_blocker_with_its_figures(world):
    """Issue 12: a contract with 250,000 never invoiced and 70,000 of unapplied cash closed fine, and that money
    could never be billed afterwards."""
    ids = signed_contract(world, signed_on=days(-300))
    cid = ids["contract"]
    m2 = world.do("fr", delivery.plan_milestone, cid, name="Site two", planned_on=days(-10))
    world.do("finance", billing.issue_invoice, ids["advance"], amount="300000", issued_on=days(-250))
    pay = world.do("finance", billing.record_payment, account_id=ids["account"], amount="370000", reference="B-1")
    world.do("finance", closure.record_final_accounts, cid)
    err = refused(world, GateError, "fr", closure.request_closure, cid, went_well="a", went_badly="b")
    text = str(err)
    assert "cannot close while something of it can still be billed or collected" in text
    assert "term 'Final acceptance 60%' has 600,000.00 not invoiced (not released yet)" in text
    assert "milestone 'Go-live' is not finally accepted (planned)" in text
    assert "milestone 'Site two' is not finally accepted (planned)" in text
    assert "has 70,000.00 of unapplied cash" in text
    assert "Retention" in text                   # no warranty end yet: the retention is not held, it blocks
    assert world.get(Contract, cid).status == ContractStatus.SIGNED
    world.do("finance", billing.refund_unapplied, pay, amount="70000", reference="R-1")
    refused(world, GateError, "finance", billing.refund_unapplied, pay, amount="1",
            match="is applied in full; nothing is left to refund")


def test_a_retention_held_until_its_warranty_end_is_collected_after_closure(world):
    """The one exception: closed on a day before its warranty's end, the project keeps its retention as a
    receivable; `ltc daily` releases it on that day and finance invoices and collects it after closure."""
    from core.services.daily import run_daily
    from core.context import SYSTEM, unit_of_work
    ids = signed_contract(world, signed_on=days(-700), warranty_months=12)
    cid = ids["contract"]
    world.do("fr", delivery.accept_milestone, ids["m1"], kind="final", accepted_on=days(-400))
    ends = world.get(Contract, cid).warranty_ends_on
    for term, amount in (("advance", "300000"), ("final", "600000")):
        world.do("finance", billing.issue_invoice, ids[term], amount=amount, issued_on=days(-390))
    world.do("finance", billing.record_payment, account_id=ids["account"], amount="900000", reference="B-ALL",
             received_on=days(-380))
    world.do("finance", closure.record_final_accounts, cid)
    before_end = ends - timedelta(days=5)
    close(world, cid, closed_on=before_end)     # the retention was held on that day: not a blocker
    assert world.get(Contract, cid).status == ContractStatus.CLOSED
    with unit_of_work(SYSTEM, "cli", url=world.url) as ctx:
        assert [n for n, *_ in run_daily(ctx).released] == [world.get(Contract, cid).number]
    inv = world.do("finance", billing.issue_invoice, ids["retention"], amount="100000")
    world.do("finance", billing.record_payment, account_id=ids["account"], amount="100000", reference="B-RET")
    assert world.get(billing.Invoice, inv).status.value == "paid"
