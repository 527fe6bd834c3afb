"""Approval paths as data (config/approvals.toml) and delegation: thresholds on both sides of each boundary,
the order of the stages, a delegate inside and outside their dates, separation of duties at every step."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from core.context import SYSTEM, unit_of_work
from core.enums import ContractStatus, Decision, GateKind
from core.errors import GateError, PermissionDenied, ValidationError
from core.models import AuditEvent, Contract, GateDecision, Invoice
from core.queries.work import my_work
from core.services import billing, contracts, delegations, teams, users
from tests.integration.money_fixtures import TODAY, days, draft_with_terms, make_opportunity, refused, \
    signed_contract, terms_by_name

THRESHOLD = Decimal("5000000")


def _person(world, login, roles, team=None):
    with unit_of_work(SYSTEM, "test", url=world.url) as ctx:
        uid = users.create_user(ctx, login, roles=roles)
        if team:
            if not any(t["name"] == team for t in teams.team_rows(ctx)):
                teams.create_team(ctx, team)
            teams.set_teams(ctx, world.users["ar"].id, [team])
            teams.set_teams(ctx, uid, [team])
    with unit_of_work(SYSTEM, "test", url=world.url) as ctx:
        world.users[login] = users.actor(ctx, login)


def _atc(world, amount) -> int:
    _, cid, _ = draft_with_terms(world, amount=str(amount), opp_id=make_opportunity(world))
    world.do("ar", contracts.request_atc, cid)
    return cid


def _steps(world, cid) -> list[str]:
    return world.read(lambda ctx: sorted(g.reviewer_role for g in ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == GateKind.ATC, GateDecision.subject_id == cid)).all()))


def _legal_and_finance(world, cid):
    world.do("legal", contracts.review_atc_legal, cid, "approve", rationale="fine")
    world.do("finance", contracts.review_atc_finance, cid, "approve", rationale="fine")


def test_an_atc_at_the_threshold_needs_legal_and_finance_only(world):
    cid = _atc(world, THRESHOLD)
    assert _steps(world, cid) == ["finance", "legal"]
    _legal_and_finance(world, cid)
    world.do("ar", contracts.sign_contract, cid, signed_on=days(-1))
    assert world.get(Contract, cid).status == ContractStatus.SIGNED


def test_an_atc_above_the_threshold_waits_for_the_leader_after_legal_and_finance(world):
    cid = _atc(world, THRESHOLD + Decimal("0.01"))
    assert _steps(world, cid) == ["finance", "leader", "legal"]
    e = refused(world, GateError, "leader", contracts.review_atc_leader, cid, "approve", rationale="ok")
    assert "waits for legal, finance to approve first" in str(e)
    assert world.do("leader", my_work)["decisions"] == []          # not the leader's yet
    world.do("legal", contracts.review_atc_legal, cid, "approve", rationale="fine")
    refused(world, GateError, "leader", contracts.review_atc_leader, cid, "approve", rationale="ok",
            match="waits for finance to approve first")
    world.do("finance", contracts.review_atc_finance, cid, "approve", rationale="fine")
    e = refused(world, GateError, "ar", contracts.sign_contract, cid, signed_on=days(-1))
    assert "needs a leader's approval after legal and finance (leader review: pending)" in str(e)
    waiting = world.do("leader", my_work)["decisions"]
    assert [(d["kind"], d["reviewer_role"], d["subject_id"]) for d in waiting] == [("atc", "leader", cid)]
    world.do("leader", contracts.review_atc_leader, cid, "approve", rationale="strategic account")
    world.do("ar", contracts.sign_contract, cid, signed_on=days(-1))
    assert world.get(Contract, cid).status == ContractStatus.SIGNED


def test_a_delegate_decides_the_leaders_step_inside_the_dates_only(world):
    _person(world, "deputy", ["manager"], team="East")   # a sales manager whose team carries the deal
    cid = _atc(world, THRESHOLD * 2)
    _legal_and_finance(world, cid)
    refused(world, PermissionDenied, "deputy", contracts.review_atc_leader, cid, "approve", rationale="x")
    world.do("leader", delegations.name_delegate, "deputy", starts_on=days(1), ends_on=days(5), reason="trip")
    refused(world, PermissionDenied, "deputy", contracts.review_atc_leader, cid, "approve", rationale="x")
    world.do("leader", delegations.name_delegate, "deputy", starts_on=days(-2), ends_on=days(0), reason="trip")
    waiting = world.do("deputy", my_work)["decisions"]
    assert [(d["subject_id"], d["on_behalf_of"]) for d in waiting] == [(cid, "LEADER user")]
    world.do("deputy", contracts.review_atc_leader, cid, "approve", rationale="as agreed with Lin")
    row = world.read(lambda ctx: ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == GateKind.ATC, GateDecision.subject_id == cid, GateDecision.reviewer_role == "leader")).one())
    assert (row.decided_by_id, row.on_behalf_of_id) == (world.users["deputy"].id, world.users["leader"].id)
    audit = world.read(lambda ctx: ctx.session.exec(select(AuditEvent).where(
        AuditEvent.action == "atc.decide").order_by(AuditEvent.id.desc())).first())
    assert audit.user_login == "deputy" and f'"on_behalf_of_id": {world.users["leader"].id}' in audit.after_json
    history = world.do("leader", contracts_detail, cid)["atc"]
    assert list(history[history["Reviewer"] == "leader"]["On behalf of"]) == ["LEADER user"]


def contracts_detail(ctx, cid):
    from core.queries.contracts import contract_detail
    return contract_detail(ctx, cid)


def test_a_delegate_who_asked_for_the_decision_may_not_take_it(world):
    cid = _atc(world, THRESHOLD * 2)
    _legal_and_finance(world, cid)
    world.do("leader", delegations.name_delegate, "ar", starts_on=days(0), ends_on=days(3))
    e = refused(world, PermissionDenied, "ar", contracts.review_atc_leader, cid, "approve", rationale="mine")
    assert "separation of duties" in str(e)


def test_a_delegation_is_refused_with_its_reason(world):
    for kwargs, field in ((dict(starts_on=days(3), ends_on=days(1)), "ends_on"),
                          (dict(starts_on=days(-9), ends_on=days(-1)), "ends_on"),
                          (dict(starts_on="soon", ends_on=days(1)), "starts_on")):
        with pytest.raises(ValidationError) as exc:
            world.do("leader", delegations.name_delegate, "finance", **kwargs)
        assert exc.value.field == field
    with pytest.raises(ValidationError, match="own delegate"):
        world.do("leader", delegations.name_delegate, "leader", starts_on=days(0), ends_on=days(1))
    with pytest.raises(PermissionDenied):   # only an administrator names one for someone else
        world.do("ar", delegations.name_delegate, "ar2", starts_on=days(0), ends_on=days(1), for_login="leader")
    assert world.read(lambda ctx: ctx.session.exec(select(AuditEvent).where(
        AuditEvent.action == "delegation.create")).all()) == []


def _write_off(world, amount) -> int:
    ids = signed_contract(world, number=f"HT-WO-{amount}")
    inv = world.do("finance", billing.issue_invoice, terms_by_name(world, ids["contract"])["advance"],
                   amount="300000", issued_on=TODAY - timedelta(days=100))
    world.do("finance", billing.request_write_off, inv, amount=str(amount), reason="customer insolvent")
    return inv


def test_a_write_off_at_100000_needs_one_leader(world):
    inv = _write_off(world, "100000")
    world.do("leader", billing.decide_write_off, inv, "approve", rationale="ok")
    assert world.get(Invoice, inv).written_off == Decimal("100000.00")


def test_a_write_off_above_100000_needs_two_different_leaders(world):
    _person(world, "leader2", ["leader"])
    inv = _write_off(world, "100000.01")
    world.do("leader", billing.decide_write_off, inv, "approve", rationale="first")
    assert world.get(Invoice, inv).written_off == Decimal("0.00")   # one leader is not enough
    e = refused(world, PermissionDenied, "leader", billing.decide_write_off, inv, "approve", rationale="again")
    assert "separation of duties" in str(e)
    world.do("leader2", billing.decide_write_off, inv, "approve", rationale="second")
    assert world.get(Invoice, inv).written_off == Decimal("100000.01")


def test_a_rejected_first_step_ends_the_write_off_request(world):
    inv = _write_off(world, "150000")
    world.do("leader", billing.decide_write_off, inv, "reject", rationale="chase them")
    rows = world.read(lambda ctx: ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == GateKind.WRITE_OFF, GateDecision.subject_id == inv)).all())
    assert {r.decision for r in rows} == {Decision.REJECT} and len(rows) == 2
    assert world.get(Invoice, inv).written_off == Decimal("0.00")
