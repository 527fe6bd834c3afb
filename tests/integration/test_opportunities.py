"""Opportunities: initiation, iron triangle, guidance, estimate, the ATI gate and stage moves."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import select

from core import clock
from core import gates
from core.enums import Calculation, ContractStatus, Decision, GateKind, Stage, Stance
from core.errors import GateError, NotFound, PermissionDenied, StaleVersionError, ValidationError
from core.models import (Account, AuditEvent, Baseline, Contract, GateDecision, Opportunity, Stakeholder,
                         StageChange)
from core.services import opportunities as opps

TODAY = clock.today()


def _count(ctx, model, *where):
    return ctx.session.exec(select(func.count()).select_from(model).where(*where)).one()


def state(world, opp_id):
    """What a refusal must leave untouched."""
    def read(ctx):
        o = ctx.session.get(Opportunity, opp_id)
        return dict(stage=o.stage, version=o.version, hold=o.hold_review_on, team=(o.ar_id, o.sr_id, o.fr_id),
                    gates=_count(ctx, GateDecision), pending=_count(ctx, GateDecision,
                                                                    GateDecision.decision == Decision.PENDING),
                    moves=_count(ctx, StageChange), audits=_count(ctx, AuditEvent),
                    estimates=_count(ctx, Baseline), stakeholders=_count(ctx, Stakeholder))
    return world.read(read)


def new_opp(world, name="ERP rollout", account="ACME Ltd", amount="1,000,000", **kw):
    return world.do("ar", opps.create_opportunity, name=name, account_name=account, amount=amount, **kw)


def ready_opp(world, **kw):
    """An opportunity with a full iron triangle and an estimate: ATI may be requested."""
    oid = new_opp(world, **kw)
    world.do("ar", opps.set_team, oid, ar_login="ar", sr_login="sr", fr_login="fr")
    world.do("sr", opps.set_estimate, oid, revenue="1,000,000", cost="700,000")
    return oid


def requested_opp(world, **kw):
    oid = ready_opp(world, **kw)
    world.do("ar", opps.request_ati, oid)
    return oid


def stage_moves(world, opp_id):
    return world.read(lambda ctx: [(m.from_stage, m.to_stage, m.by_id) for m in ctx.session.exec(
        select(StageChange).where(StageChange.entity == "opportunity", StageChange.entity_id == opp_id)
        .order_by(StageChange.id)).all()])


# -- creation and editing ---------------------------------------------------------------------------

def test_create_finds_account_by_normalised_name_and_defaults_ar(world):
    a = new_opp(world, account="ACME Ltd", region="East", industry="Retail")
    b = new_opp(world, name="Second deal", account="ＡＣＭＥ Co., Ltd.", amount=Decimal("500.50"))
    oa, ob = world.get(Opportunity, a), world.get(Opportunity, b)
    assert oa.account_id == ob.account_id
    assert world.read(lambda ctx: _count(ctx, Account)) == 1
    assert oa.stage == Stage.INITIATION and oa.ar_id == world.users["ar"].id
    assert ob.amount == Decimal("500.50") and oa.amount == Decimal("1000000.00")
    audit = world.read(lambda ctx: ctx.session.exec(select(AuditEvent).where(
        AuditEvent.entity == "opportunity", AuditEvent.entity_id == a)).all())
    assert [e.action for e in audit] == ["opportunity.create"] and audit[0].user_login == "ar"


def test_leader_creates_with_named_ar(world):
    oid = world.do("leader", opps.create_opportunity, name="X", account_name="Beta", amount=10, ar_login="ar2")
    assert world.get(Opportunity, oid).ar_id == world.users["ar2"].id


@pytest.mark.parametrize("kw,field", [
    (dict(name=""), "name"), (dict(account_name=" "), "account_name"), (dict(account_name="!!"), "account_name"), (dict(amount="abc"), "amount"),
    (dict(amount=0), "amount"), (dict(amount="-5"), "amount"), (dict(expected_close="31/31/2026"), "expected_close"),
    (dict(ar_login="sr"), "ar_login"), (dict(ar_login="nobody"), "ar_login")])
def test_create_refuses_bad_input_and_writes_nothing(world, kw, field):
    args = dict(name="N", account_name="Gamma", amount=100) | kw
    with pytest.raises(ValidationError) as exc:
        world.do("ar", opps.create_opportunity, **args)
    assert exc.value.field == field
    assert world.read(lambda ctx: (_count(ctx, Opportunity), _count(ctx, Account))) == (0, 0)


def test_create_needs_permission(world):
    with pytest.raises(PermissionDenied, match="opportunity.update"):
        world.do("marketing", opps.create_opportunity, name="N", account_name="A", amount=1)


def test_update_and_stale_version(world):
    oid = new_opp(world)
    v = world.get(Opportunity, oid).version
    world.do("ar", opps.update_opportunity, oid, version=v, amount="1,200,000", expected_close="2030-06-30")
    o = world.get(Opportunity, oid)
    assert o.amount == Decimal("1200000.00") and str(o.expected_close) == "2030-06-30" and o.version == v + 1
    before = state(world, oid)
    with pytest.raises(StaleVersionError, match=f"you saw {v}"):
        world.do("leader", opps.update_opportunity, oid, version=v, amount=5)
    assert state(world, oid) == before and world.get(Opportunity, oid).amount == Decimal("1200000.00")


def test_missing_opportunity_is_not_found(world):
    with pytest.raises(NotFound):
        world.do("ar", opps.update_opportunity, 999, name="x")


# -- iron triangle ----------------------------------------------------------------------------------

def test_set_team_checks_each_role(world):
    oid = new_opp(world)
    world.do("ar", opps.set_team, oid, ar_login="ar2", sr_login="sr", fr_login="fr")
    o = world.get(Opportunity, oid)
    assert (o.ar_id, o.sr_id, o.fr_id) == (world.users["ar2"].id, world.users["sr"].id, world.users["fr"].id)
    with pytest.raises(NotFound):   # handed to ar2: out of ar's scope now, as if it did not exist
        world.do("ar", opps.set_team, oid, ar_login="ar", sr_login="sr", fr_login="fr")
    before = state(world, oid)
    with pytest.raises(ValidationError, match="'ar' does not hold the sr role") as exc:
        world.do("ar2", opps.set_team, oid, ar_login="ar", sr_login="ar", fr_login="fr")
    assert exc.value.field == "sr_login"
    assert state(world, oid) == before


def test_set_team_refuses_inactive_user(world):
    from core.services import users
    world.do("admin", users.update_user, world.users["fr"].id, active=False)
    oid = new_opp(world)
    with pytest.raises(ValidationError, match="'fr' is not active") as exc:
        world.do("ar", opps.set_team, oid, ar_login="ar", sr_login="sr", fr_login="fr")
    assert exc.value.field == "fr_login"
    assert world.get(Opportunity, oid).fr_id is None


def test_set_team_permission(world):
    oid = new_opp(world)
    with pytest.raises(PermissionDenied):
        world.do("sr", opps.set_team, oid, ar_login="ar", sr_login="sr", fr_login="fr")


# -- guidance and decision chain --------------------------------------------------------------------

def test_guidance_and_stakeholders(world):
    oid = new_opp(world)
    world.do("ar", opps.set_team, oid, ar_login="ar", sr_login="sr", fr_login="")
    world.do("sr", opps.set_guidance, oid, pain_points="slow month-end close", value_proposition="close in 3 days")
    assert world.get(Opportunity, oid).pain_points == "slow month-end close"
    sid = world.do("ar", opps.add_stakeholder, oid, name="Ms Li", title="CFO", chain_role="decision maker",
                   stance="supporter")
    s = world.get(Stakeholder, sid)
    assert s.stance == Stance.SUPPORTER and s.opportunity_id == oid
    world.do("ar", opps.update_stakeholder, sid, version=s.version, stance="opponent")
    assert world.get(Stakeholder, sid).stance == Stance.OPPONENT
    with pytest.raises(StaleVersionError):
        world.do("ar", opps.update_stakeholder, sid, version=s.version, stance="neutral")
    with pytest.raises(ValidationError) as exc:
        world.do("ar", opps.add_stakeholder, oid, name="Mr Wu", stance="hostile")
    assert exc.value.field == "stance"
    world.do("ar", opps.remove_stakeholder, sid)
    assert world.get(Stakeholder, sid) is None
    removed = world.read(lambda ctx: ctx.session.exec(select(AuditEvent).where(
        AuditEvent.action == "stakeholder.remove")).one())
    assert "Ms Li" in removed.before_json and removed.entity_id == sid


# -- estimate (概算) ----------------------------------------------------------------------------------

def test_estimate_recorded_and_refused_after_signing(world):
    oid = new_opp(world)
    world.do("ar", opps.set_team, oid, ar_login="ar", sr_login="sr", fr_login="")
    bid = world.do("finance", opps.set_estimate, oid, revenue="1,000,000", cost="650,000", note="first cut")
    b = world.get(Baseline, bid)
    assert b.kind == Calculation.ESTIMATE and b.margin == Decimal("350000.00")
    with pytest.raises(ValidationError) as exc:
        world.do("sr", opps.set_estimate, oid, revenue="x", cost=1)
    assert exc.value.field == "revenue"

    def sign(ctx):
        o = ctx.session.get(Opportunity, oid)
        ctx.session.add(Contract(number="C-1", name="c", opportunity_id=oid, account_id=o.account_id,
                                 amount=Decimal("1000000"), status=ContractStatus.SIGNED))
    world.read(sign)
    before = state(world, oid)
    with pytest.raises(GateError, match="signed contract 'C-1'"):
        world.do("sr", opps.set_estimate, oid, revenue="900,000", cost="600,000")
    assert state(world, oid) == before


# -- ATI request --------------------------------------------------------------------------------------

def test_ati_request_lists_everything_missing(world):
    oid = world.do("ar", opps.create_opportunity, name="N", account_name="A", amount=100)
    before = state(world, oid)
    with pytest.raises(GateError) as exc:
        world.do("ar", opps.request_ati, oid)
    msg = str(exc.value)
    assert "no SR, FR" in msg and "no estimate" in msg
    assert state(world, oid) == before


def test_ati_request_needs_estimate_even_with_team(world):
    oid = new_opp(world)
    world.do("ar", opps.set_team, oid, ar_login="ar", sr_login="sr", fr_login="")
    with pytest.raises(GateError) as exc:
        world.do("ar", opps.request_ati, oid)
    assert "no FR" in str(exc.value) and "no estimate" in str(exc.value) and "no AR" not in str(exc.value)
    assert world.read(lambda ctx: _count(ctx, GateDecision)) == 0


def test_ati_request_allowed_then_duplicate_refused(world):
    oid = ready_opp(world)
    gid = world.do("ar", opps.request_ati, oid)
    g = world.get(GateDecision, gid)
    assert (g.kind, g.subject_type, g.subject_id, g.decision, g.requested_by_id) == (
        GateKind.ATI, "opportunity", oid, Decision.PENDING, world.users["ar"].id)
    before = state(world, oid)
    with pytest.raises(GateError, match="already pending"):
        world.do("ar", opps.request_ati, oid)
    assert state(world, oid) == before


def test_ati_request_only_by_ar(world):
    oid = ready_opp(world)
    with pytest.raises(PermissionDenied, match="ati.request"):
        world.do("leader", opps.request_ati, oid)
    assert world.read(lambda ctx: _count(ctx, GateDecision)) == 0


# -- ATI decision -------------------------------------------------------------------------------------

def test_ati_go_moves_to_guidance_with_history(world):
    oid = requested_opp(world)
    world.do("leader", opps.decide_ati, oid, "go", rationale="strategic account, margin 30%")
    o = world.get(Opportunity, oid)
    assert o.stage == Stage.GUIDANCE and o.hold_review_on is None
    g = world.read(lambda ctx: gates.latest(ctx, GateKind.ATI, "opportunity", oid))
    assert g.decision == Decision.GO and g.decided_by_id == world.users["leader"].id and g.decided_at
    assert g.rationale == "strategic account, margin 30%"
    assert stage_moves(world, oid) == [("initiation", "guidance", world.users["leader"].id)]
    actions = world.read(lambda ctx: [e.action for e in ctx.session.exec(select(AuditEvent)).all()])
    assert "ati.decide" in actions and "ati.go" in actions


def test_ati_kill_is_final(world):
    oid = requested_opp(world)
    world.do("leader", opps.decide_ati, oid, "KILL", rationale="no budget at the customer")
    assert world.get(Opportunity, oid).stage == Stage.KILLED
    assert stage_moves(world, oid)[-1][:2] == ("initiation", "killed")
    before = state(world, oid)
    with pytest.raises(GateError, match="stage is killed"):
        world.do("ar", opps.request_ati, oid)
    with pytest.raises(GateError, match="killed"):
        world.do("ar", opps.advance_stage, oid, "guidance")
    with pytest.raises(GateError, match="killed"):
        world.do("sr", opps.set_estimate, oid, revenue=1, cost=1)
    assert state(world, oid) == before


def test_ati_hold_then_review_and_go(world):
    oid = requested_opp(world)
    review = TODAY + timedelta(days=30)
    world.do("leader", opps.decide_ati, oid, "hold", rationale="wait for the budget cycle", review_date=review)
    o = world.get(Opportunity, oid)
    assert o.stage == Stage.ON_HOLD and o.hold_review_on == review
    g = world.read(lambda ctx: gates.latest(ctx, GateKind.ATI, "opportunity", oid))
    assert g.decision == Decision.HOLD and g.review_date == review
    assert world.read(opps.holds_past_review) == []
    assert world.read(opps.holds_past_review, review - timedelta(days=1)) == []
    assert world.read(opps.holds_past_review, review) == [oid]
    # re-requested from on_hold, then go
    world.do("ar", opps.request_ati, oid)
    world.do("leader", opps.decide_ati, oid, "go", rationale="budget approved")
    o = world.get(Opportunity, oid)
    assert o.stage == Stage.GUIDANCE and o.hold_review_on is None
    assert [m[:2] for m in stage_moves(world, oid)] == [("initiation", "on_hold"), ("on_hold", "guidance")]
    assert world.read(lambda ctx: gates.count(ctx, GateKind.ATI, "opportunity", oid)) == 2


@pytest.mark.parametrize("decision,kw,err,field", [
    ("go", dict(rationale=""), ValidationError, "rationale"),
    ("maybe", dict(rationale="r"), ValidationError, "decision"),
    ("approve", dict(rationale="r"), ValidationError, "decision"),
    ("hold", dict(rationale="r"), ValidationError, "review_date"),
    ("hold", dict(rationale="r", review_date=TODAY), ValidationError, "review_date"),
    ("hold", dict(rationale="r", review_date=TODAY - timedelta(days=3)), ValidationError, "review_date"),
])
def test_ati_decision_refusals_change_nothing(world, decision, kw, err, field):
    oid = requested_opp(world)
    before = state(world, oid)
    with pytest.raises(err) as exc:
        world.do("leader", opps.decide_ati, oid, decision, **kw)
    assert exc.value.field == field
    assert state(world, oid) == before and before["pending"] == 1 and before["stage"] == Stage.INITIATION


def test_ati_decision_only_by_leader(world):
    oid = requested_opp(world)
    before = state(world, oid)
    with pytest.raises(PermissionDenied, match="ati.decide"):
        world.do("ar", opps.decide_ati, oid, "go", rationale="self-approval")
    assert state(world, oid) == before


def test_ati_decision_needs_pending_request(world):
    oid = ready_opp(world)
    before = state(world, oid)
    with pytest.raises(GateError, match="no pending ATI request"):
        world.do("leader", opps.decide_ati, oid, "go", rationale="r")
    assert state(world, oid) == before
    world.do("ar", opps.request_ati, oid)
    world.do("leader", opps.decide_ati, oid, "go", rationale="r")
    before = state(world, oid)
    with pytest.raises(GateError, match="no pending ATI request"):
        world.do("leader", opps.decide_ati, oid, "kill", rationale="changed my mind")
    assert state(world, oid) == before and before["stage"] == Stage.GUIDANCE


def test_ati_go_rechecks_the_team(world):
    oid = requested_opp(world)
    world.do("ar", opps.set_team, oid, ar_login="ar", sr_login="sr", fr_login="")   # FR left after the request
    before = state(world, oid)
    with pytest.raises(GateError, match="cannot get a go: iron triangle incomplete .no FR"):
        world.do("leader", opps.decide_ati, oid, "go", rationale="r")
    assert state(world, oid) == before and before["pending"] == 1
    world.do("leader", opps.decide_ati, oid, "kill", rationale="no delivery capacity")   # kill needs no team
    assert world.get(Opportunity, oid).stage == Stage.KILLED


# -- manual stage moves -------------------------------------------------------------------------------

def test_cannot_skip_ati(world):
    oid = ready_opp(world)
    before = state(world, oid)
    for to in ("guidance", "bidding", "negotiation"):
        with pytest.raises(GateError, match="needs an ATI go decision"):
            world.do("ar", opps.advance_stage, oid, to)
    for to in ("killed", "on_hold"):
        with pytest.raises(GateError, match="set by the ATI decision"):
            world.do("ar", opps.advance_stage, oid, to)
    with pytest.raises(ValidationError):
        world.do("ar", opps.advance_stage, oid, "signed")
    assert state(world, oid) == before


def test_manual_moves_after_go(world):
    oid = requested_opp(world)
    world.do("leader", opps.decide_ati, oid, "go", rationale="r")
    before = state(world, oid)
    with pytest.raises(GateError, match="when its contract is signed"):
        world.do("ar", opps.advance_stage, oid, "won")
    with pytest.raises(GateError, match="already guidance"):
        world.do("ar", opps.advance_stage, oid, "guidance")
    assert state(world, oid) == before
    world.do("ar", opps.advance_stage, oid, "negotiation", version=before["version"])   # a direct deal
    assert world.get(Opportunity, oid).stage == Stage.NEGOTIATION
    with pytest.raises(GateError, match="cannot move from negotiation to guidance"):
        world.do("ar", opps.advance_stage, oid, "guidance")
    with pytest.raises(StaleVersionError):
        world.do("ar", opps.advance_stage, oid, "bidding", version=before["version"])
    world.do("ar", opps.advance_stage, oid, "bidding")
    assert [m[1] for m in stage_moves(world, oid)] == ["guidance", "negotiation", "bidding"]


def test_lost_needs_reason_and_is_final(world):
    oid = requested_opp(world)
    world.do("leader", opps.decide_ati, oid, "go", rationale="r")
    before = state(world, oid)
    with pytest.raises(ValidationError) as exc:
        world.do("ar", opps.advance_stage, oid, "lost")
    assert exc.value.field == "reason" and state(world, oid) == before
    world.do("ar", opps.advance_stage, oid, "lost", reason="customer chose in-house build")
    o = world.get(Opportunity, oid)
    assert o.stage == Stage.LOST and o.lost_reason == "customer chose in-house build"
    assert stage_moves(world, oid)[-1][:2] == ("guidance", "lost")
    before = state(world, oid)
    with pytest.raises(GateError, match="lost opportunity does not move"):
        world.do("ar", opps.advance_stage, oid, "negotiation")
    with pytest.raises(GateError, match="can no longer be edited"):
        world.do("ar", opps.update_opportunity, oid, amount=5)
    assert state(world, oid) == before


def test_lost_refused_while_ati_pending(world):
    oid = requested_opp(world)
    before = state(world, oid)
    with pytest.raises(GateError, match="ATI request pending"):
        world.do("ar", opps.advance_stage, oid, "lost", reason="gone")
    assert state(world, oid) == before


def test_lost_from_initiation_without_request(world):
    oid = new_opp(world)
    world.do("ar", opps.advance_stage, oid, "lost", reason="no longer a project")
    assert world.get(Opportunity, oid).stage == Stage.LOST


# -- pipeline figures ---------------------------------------------------------------------------------

def test_stage_probability_and_weighted_amount(world):
    assert opps.stage_probability(Stage.INITIATION) == Decimal("0.10")
    assert opps.stage_probability("negotiation") == Decimal("0.70")
    assert opps.stage_probability(Stage.KILLED) == 0
    oid = requested_opp(world, amount="1,000,000.10")
    assert opps.weighted_amount(world.get(Opportunity, oid)) == Decimal("100000.01")
    world.do("leader", opps.decide_ati, oid, "go", rationale="r")
    assert opps.weighted_amount(world.get(Opportunity, oid)) == Decimal("250000.03")


def test_concurrent_decisions_cannot_both_win(world):
    """core.gates.decide is a compare-and-set: a leader deciding a request someone just decided is refused."""
    oid = requested_opp(world)

    def decide_late(ctx):
        gate = gates.pending(ctx, GateKind.ATI, "opportunity", oid)   # seen while still pending
        world.do("leader", opps.decide_ati, oid, "go", rationale="first")   # another leader, another session
        with pytest.raises(GateError, match="already decided .go."):
            gates.decide(ctx, gate, "kill", rationale="second")
    world.do("leader", decide_late)
    g = world.read(lambda ctx: gates.latest(ctx, GateKind.ATI, "opportunity", oid))
    assert (g.decision, g.rationale) == (Decision.GO, "first")
    assert world.get(Opportunity, oid).stage == Stage.GUIDANCE
