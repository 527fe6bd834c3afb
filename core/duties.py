"""Separation of duties, as data (config/permissions.toml, [separation_of_duties]): checked on every gate
decision, whoever decides and through whichever page, sheet or command, after the roles allow it.

- requester_never_decides: the person who asked for a gate decision does not take it;
- one_review_per_person: a gate reviewed by several roles (ATC: legal and finance) gets each review of one
  request from a different person, so one person holding two roles cannot give both.
"""
from __future__ import annotations

from sqlmodel import or_, select

from config.settings import load
from core import messages
from core.context import Context
from core.enums import Decision, GateKind
from core.errors import PermissionDenied
from core.models import GateDecision


def _kinds(rule: str) -> frozenset[GateKind]:
    return frozenset(GateKind(k) for k in load("permissions").get("separation_of_duties", {}).get(rule, ()))


def check(ctx: Context, gate: GateDecision, on_behalf_of: int | None = None) -> None:
    """Refuse (PermissionDenied) a decision on `gate` that the separation of duties forbids to the actor. A
    delegate acts with the authority of the person away (`on_behalf_of`): the rules hold for both of them, so a
    leader and their delegate cannot give the two leader steps of one write-off between them."""
    kind, me = GateKind(gate.kind), ctx.actor.id
    acting = {me, on_behalf_of} - {None}
    what: dict = dict(login=ctx.actor.login, gate=kind.value.upper(), subject=messages.kind(gate.subject_type),
                      id=gate.subject_id)
    if kind in _kinds("requester_never_decides") and gate.requested_by_id in acting:
        raise PermissionDenied("separation of duties: '{login}' asked for this {gate} decision on {subject} {id} and "
                               "may not take it; another person with the {role} role decides",
                               role=gate.reviewer_role, **what)
    if kind in _kinds("one_review_per_person"):
        for other in _current_reviews(ctx, gate):
            if other.decision != Decision.PENDING and acting & {other.decided_by_id, other.on_behalf_of_id}:
                raise PermissionDenied("separation of duties: '{login}' gave the {other} review of this {gate} on "
                                       "{subject} {id}; the {role} review is another person's",
                                       other=other.reviewer_role, role=gate.reviewer_role, **what)


def _current_reviews(ctx: Context, gate: GateDecision) -> list[GateDecision]:
    """The newest row of each other step of the same gate and subject, unless decided before this one was asked
    for: the reviews of this request (a decision of an earlier, rejected round does not bind this one)."""
    rows = ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == gate.kind, GateDecision.subject_type == gate.subject_type,
        GateDecision.subject_id == gate.subject_id, GateDecision.reviewer_role != gate.reviewer_role,
        or_(GateDecision.decided_at.is_(None), GateDecision.decided_at >= gate.requested_at))  # type: ignore
        .order_by(GateDecision.id.desc())).all()
    newest: dict[str, GateDecision] = {}
    for row in rows:
        newest.setdefault(row.reviewer_role, row)
    return list(newest.values())
