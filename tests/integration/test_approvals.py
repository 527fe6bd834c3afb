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


def test_a_change_order_above_the_threshold_waits_for_a_leader_after_legal_and_finance(world):
    from core.enums import ChangeStatus
    from core.models import ChangeOrder

    ids = signed_contract(world, number="HT-CO-BIG")
    cid = ids["contract"]
    co = world.do("fr", contracts.request_change, cid, number="CO-BIG", reason="group rollout",
                  new_amount="5000000.01", new_cost="3000000",
                  new_terms=[{"name": "Rollout", "amount": "4700000.01", "trigger": "acceptance",
                              "milestone_id": ids["m1"]}])
    refused(world, GateError, "leader", contracts.review_change_leader, co, "approve", rationale="x",
            match="waits for legal, finance to approve first")
    world.do("legal", contracts.review_change_legal, co, "approve", rationale="ok")
    world.do("finance", contracts.review_change_finance, co, "approve", rationale="ok")
    assert world.get(ChangeOrder, co).status == ChangeStatus.PENDING   # not applied before the leader's step
    assert world.get(Contract, cid).amount == Decimal("1000000.00")
    world.do("leader", contracts.review_change_leader, co, "approve", rationale="worth it")
    assert world.get(ChangeOrder, co).status == ChangeStatus.APPROVED
    assert world.get(Contract, cid).amount == Decimal("5000000.01")


def test_a_change_order_at_the_threshold_is_legal_and_finance_only(world):
    from core.enums import ChangeStatus
    from core.models import ChangeOrder

    ids = signed_contract(world, number="HT-CO-5M")
    co = world.do("fr", contracts.request_change, ids["contract"], number="CO-5M", reason="rollout",
                  new_amount="5000000", new_terms=[{"name": "Rollout", "amount": "4700000", "trigger": "acceptance",
                                                     "milestone_id": ids["m1"]}])
    world.do("legal", contracts.review_change_legal, co, "approve", rationale="ok")
    world.do("finance", contracts.review_change_finance, co, "approve", rationale="ok")
    assert world.get(ChangeOrder, co).status == ChangeStatus.APPROVED


def test_every_gate_takes_its_path_from_the_config(world, monkeypatch):
    """A second leader step for ATI above 1,000,000, written into the approval paths: an ATI go waits for it,
    a kill at the first step settles the request (its later step closed with it)."""
    from config.settings import load
    from core import approvals
    from core.enums import Stage
    from core.models import Opportunity
    from core.services import opportunities as opps

    conf = dict(load("approvals"))
    conf["ati"] = {"steps": {"leader": {"role": "leader", "stage": 1},
                             "leader2": {"role": "leader", "stage": 2, "when": [{"amount_above": "1000000"}]}}}
    monkeypatch.setattr(approvals, "load", lambda name: conf if name == "approvals" else load(name))
    _person(world, "leader2", ["leader"])

    def ready(amount):
        oid = world.do("ar", opps.create_opportunity, name=f"Deal {amount}", account_name=f"Co {amount}",
                       amount=amount)
        world.do("ar", opps.set_team, oid, ar_login="ar", sr_login="sr", fr_login="fr")
        world.do("sr", opps.set_estimate, oid, revenue=amount, cost="1")
        world.do("ar", opps.request_ati, oid)
        return oid

    small, big, killed = ready("1000000"), ready("1000000.01"), ready("2000000")
    world.do("leader", opps.decide_ati, small, "go", rationale="ok")
    assert world.get(Opportunity, small).stage == Stage.GUIDANCE          # one step at the threshold
    world.do("leader", opps.decide_ati, big, "go", rationale="first")
    assert world.get(Opportunity, big).stage == Stage.INITIATION          # the second leader's step remains
    refused(world, PermissionDenied, "leader", opps.decide_ati, big, "go", rationale="again",
            match="separation of duties")
    world.do("leader2", opps.decide_ati, big, "go", rationale="second")
    assert world.get(Opportunity, big).stage == Stage.GUIDANCE
    world.do("leader", opps.decide_ati, killed, "kill", rationale="no")
    assert world.get(Opportunity, killed).stage == Stage.KILLED
    rows = world.read(lambda ctx: ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == GateKind.ATI, GateDecision.subject_id == killed)).all())
    assert sorted((r.reviewer_role, r.decision) for r in rows) == [("leader", Decision.KILL),
                                                                    ("leader2", Decision.KILL)]


def test_a_step_named_for_a_person_is_theirs_or_their_delegates(world, monkeypatch):
    from config.settings import load
    from core import approvals

    conf = dict(load("approvals"))
    conf["write_off"] = {"steps": {"chair": {"role": "leader", "login": "leader2", "stage": 1}}}
    monkeypatch.setattr(approvals, "load", lambda name: conf if name == "approvals" else load(name))
    _person(world, "leader2", ["leader"])
    first, second = _write_off(world, "5000"), None
    e = refused(world, PermissionDenied, "leader", billing.decide_write_off, first, "approve", rationale="me?")
    assert "the chair step of invoice" in str(e) and "is leader2's to decide" in str(e)
    assert world.do("leader", my_work)["decisions"] == []            # not listed to another leader either
    world.do("leader2", billing.decide_write_off, first, "approve", rationale="as chair")
    assert world.get(Invoice, first).written_off == Decimal("5000.00")
    ids = signed_contract(world, number="HT-WO-2")
    second = world.do("finance", billing.issue_invoice, terms_by_name(world, ids["contract"])["advance"],
                      amount="300000", issued_on=TODAY - timedelta(days=100))
    world.do("finance", billing.request_write_off, second, amount="7000", reason="bad debt")
    world.do("leader2", delegations.name_delegate, "leader", starts_on=days(0), ends_on=days(2))
    assert [d["on_behalf_of"] for d in world.do("leader", my_work)["decisions"]
            if d["kind"] == "write_off"] == ["leader2"]
    world.do("leader", billing.decide_write_off, second, "approve", rationale="for the chair")
    row = world.read(lambda ctx: ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == GateKind.WRITE_OFF, GateDecision.subject_id == second)).one())
    assert (row.decided_by_id, row.on_behalf_of_id) == (world.users["leader"].id, world.users["leader2"].id)


def test_the_leaders_pending_step_follows_an_edited_amount(world):
    cid = _atc(world, THRESHOLD * 2)
    version = world.get(Contract, cid).version
    world.do("ar", contracts.update_contract, cid, amount=str(THRESHOLD * 3), version=version)
    _legal_and_finance(world, cid)
    world.do("leader", contracts.review_atc_leader, cid, "approve", rationale="for the new amount")
    world.do("ar", contracts.sign_contract, cid, signed_on=days(-1))   # approved for the amount signed
    assert world.get(Contract, cid).status == ContractStatus.SIGNED


def test_a_leader_and_their_delegate_cannot_give_the_two_leader_steps_between_them(world):
    _person(world, "deputy", ["manager"], team="East")
    inv = _write_off(world, "200000")
    world.do("leader", delegations.name_delegate, "deputy", starts_on=days(0), ends_on=days(3))
    world.do("deputy", billing.decide_write_off, inv, "approve", rationale="first, for the leader")
    e = refused(world, PermissionDenied, "leader", billing.decide_write_off, inv, "approve", rationale="second")
    assert "separation of duties" in str(e)       # the first step was taken with the leader's authority
    _person(world, "leader2", ["leader"])
    world.do("leader2", billing.decide_write_off, inv, "approve", rationale="second leader")
    assert world.get(Invoice, inv).written_off == Decimal("200000.00")
