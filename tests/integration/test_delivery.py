"""Delivery: milestones, preliminary and final acceptance releasing terms, warranty, cost actuals."""
from datetime import date
from decimal import Decimal as D

from sqlmodel import select

from core.calculations import four_calculations, released_not_invoiced
from core.enums import MilestoneStatus
from core.errors import GateError, PermissionDenied, StaleVersionError, ValidationError
from core.models import Acceptance, Contract, CostEntry, Milestone, PaymentTerm
from core.services import contracts, delivery
from tests.integration.money_fixtures import (days, draft_with_terms, refused, sign, signed_contract)


def test_add_months_clamps_to_the_month_end():
    assert delivery.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert delivery.add_months(date(2027, 12, 31), 2) == date(2028, 2, 29)
    assert delivery.add_months(date(2026, 5, 15), 12) == date(2027, 5, 15)


def test_plan_and_update_milestones(world):
    opp, cid, m1 = draft_with_terms(world)
    m2 = world.do("ar", delivery.plan_milestone, cid, name="Training", planned_on="2026-09-30")
    ms = world.get(Milestone, m2)
    assert (ms.seq, ms.planned_on, ms.status) == (2, date(2026, 9, 30), MilestoneStatus.PLANNED)
    seen = ms.version
    world.do("fr", delivery.update_milestone, m2, version=seen, forecast_on="2026-10-15")
    assert world.get(Milestone, m2).forecast_on == date(2026, 10, 15)
    refused(world, StaleVersionError, "fr", delivery.update_milestone, m2, version=seen, name="Old view")
    # the forecast is delivery's call
    refused(world, PermissionDenied, "ar", delivery.update_milestone, m2, forecast_on="2026-11-01")
    world.do("ar", delivery.update_milestone, m2, name="Training (2 days)")
    world.do("fr", delivery.forecast_milestone, m2, forecast_on="2026-10-20")
    assert world.get(Milestone, m2).forecast_on == date(2026, 10, 20)
    refused(world, PermissionDenied, "ar", delivery.forecast_milestone, m2, forecast_on="2026-10-21")
    refused(world, ValidationError, "fr", delivery.plan_milestone, cid, name="x", planned_on="someday",
            match="planned_on")
    refused(world, PermissionDenied, "finance", delivery.plan_milestone, cid, name="x", planned_on=days(1))


def test_acceptance_needs_a_signed_contract_and_a_past_date(world):
    opp, cid, m1 = draft_with_terms(world)
    refused(world, GateError, "fr", delivery.accept_milestone, m1, kind="final", match="is draft")
    sign(world, cid, signed_on=days(-30))
    refused(world, ValidationError, "fr", delivery.accept_milestone, m1, kind="final", accepted_on=days(1),
            match="in the future")
    refused(world, ValidationError, "fr", delivery.accept_milestone, m1, kind="final", accepted_on=days(-31),
            match="before contract 'HT-2026-0001' was signed")
    refused(world, ValidationError, "fr", delivery.accept_milestone, m1, kind="partly")
    refused(world, PermissionDenied, "ar", delivery.accept_milestone, m1, kind="final")


def test_preliminary_then_final_acceptance_releases_the_milestone_terms(world):
    ids = signed_contract(world)
    m1, final = ids["m1"], ids["final"]
    world.do("fr", delivery.accept_milestone, m1, kind="preliminary", accepted_on=days(-20), certificate_ref="P-1")
    assert world.get(Milestone, m1).status == MilestoneStatus.PRELIMINARY
    assert world.get(PaymentTerm, final).released_on is None      # preliminary releases nothing
    refused(world, GateError, "fr", delivery.accept_milestone, m1, kind="preliminary", match="already has")
    refused(world, ValidationError, "fr", delivery.accept_milestone, m1, kind="final", accepted_on=days(-21),
            match="before the preliminary one")
    world.do("fr", delivery.accept_milestone, m1, kind="final", accepted_on=days(-10), certificate_ref="F-1")
    ms = world.get(Milestone, m1)
    assert (ms.status, ms.accepted_on) == (MilestoneStatus.ACCEPTED, days(-10))
    assert world.get(PaymentTerm, final).released_on == days(-10)
    assert world.read(lambda ctx: released_not_invoiced(ctx.session, final)) == D("600000.00")
    assert world.get(PaymentTerm, ids["retention"]).released_on is None
    refused(world, GateError, "fr", delivery.accept_milestone, m1, kind="final", match="already finally accepted")
    refused(world, GateError, "fr", delivery.update_milestone, m1, planned_on=days(5), match="no longer change")
    certs = world.read(lambda ctx: ctx.session.exec(select(Acceptance).where(Acceptance.milestone_id == m1)).all())
    assert sorted((c.kind.value, c.certificate_ref) for c in certs) == [("final", "F-1"), ("preliminary", "P-1")]


def test_warranty_starts_after_the_last_milestone_and_releases_the_retention(world):
    ids = signed_contract(world, signed_on=days(-800))
    cid, m1 = ids["contract"], ids["m1"]
    m2 = world.do("fr", delivery.plan_milestone, cid, name="Handover", planned_on=days(-500))
    refused(world, GateError, "finance", delivery.release_warranty_terms, cid, match="no warranty end yet")
    world.do("fr", delivery.accept_milestone, m1, kind="final", accepted_on=days(-600))
    assert world.get(Contract, cid).warranty_ends_on is None        # Handover not accepted yet
    accepted = days(-500)
    world.do("fr", delivery.accept_milestone, m2, kind="final", accepted_on=accepted)
    ends = delivery.add_months(accepted, 12)
    assert world.get(Contract, cid).warranty_ends_on == ends
    refused(world, GateError, "finance", delivery.release_warranty_terms, cid,
            as_of=date.fromordinal(ends.toordinal() - 1),
            match=f"under warranty until {ends.isoformat()}")
    assert world.do("fr", delivery.release_warranty_terms, cid) == [ids["retention"]]
    assert world.get(PaymentTerm, ids["retention"]).released_on == ends
    assert world.do("finance", delivery.release_warranty_terms, cid) == []      # done already: nothing more
    refused(world, GateError, "fr", delivery.plan_milestone, cid, name="late extra", planned_on=days(5),
            match="retention is released")


def test_new_milestone_after_full_acceptance_restarts_the_warranty(world):
    ids = signed_contract(world)
    cid = ids["contract"]
    world.do("fr", delivery.accept_milestone, ids["m1"], kind="final", accepted_on=days(-50))
    assert world.get(Contract, cid).warranty_ends_on is not None
    world.do("fr", delivery.plan_milestone, cid, name="Extra module", planned_on=days(30))
    assert world.get(Contract, cid).warranty_ends_on is None


def test_cost_entries_feed_actual_cost(world):
    ids = signed_contract(world)
    cid = ids["contract"]
    c1 = world.do("fr", delivery.record_cost, cid, spent_on=days(-5), category="Labour", amount="120,000.50",
                  description="team, March")
    world.do("finance", delivery.record_cost, cid, spent_on=days(-1), category="hardware", amount="80000")
    assert world.read(lambda ctx: four_calculations(ctx.session, cid))["actual"]["cost"] == D("200000.50")
    seen = world.get(CostEntry, c1).version
    world.do("fr", delivery.update_cost, c1, version=seen, amount="100000")
    refused(world, StaleVersionError, "finance", delivery.update_cost, c1, version=seen, amount="1")
    assert world.read(lambda ctx: four_calculations(ctx.session, cid))["actual"]["cost"] == D("180000.00")
    refused(world, ValidationError, "fr", delivery.record_cost, cid, spent_on=days(-1), category="parties",
            amount="10", match="not one of labour")
    refused(world, ValidationError, "fr", delivery.record_cost, cid, spent_on=days(-1), category="travel",
            amount="-10", match="must not be negative")
    refused(world, ValidationError, "fr", delivery.record_cost, cid, spent_on=days(2), category="travel",
            amount="10", match="in the future")
    refused(world, PermissionDenied, "ar", delivery.record_cost, cid, spent_on=days(-1), category="travel",
            amount="10")


def test_cost_refused_on_unknown_contract(world):
    from core.errors import NotFound
    refused(world, NotFound, "fr", delivery.record_cost, 424242, spent_on=days(-1), category="travel", amount="1")


def test_milestones_may_be_planned_before_signing(world):
    # acceptance terms need their milestone before ATC, so planning works on a draft or pending contract
    opp, cid, m1 = draft_with_terms(world)
    world.do("ar", contracts.request_atc, cid)
    world.do("fr", delivery.plan_milestone, cid, name="Pilot", planned_on=days(10))
    assert len(delivery_milestones(world, cid)) == 2


def delivery_milestones(world, cid):
    return world.read(lambda ctx: delivery.milestones(ctx, cid))
