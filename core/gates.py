"""Shared helpers for gate requests and decisions (GateDecision rows), for every gate kind.

A gate request is a GateDecision row with decision PENDING for one (kind, subject_type, subject_id,
reviewer_role); the reviewer's decision fills in the same row. Gates reviewed by several roles (ATC and
change orders: legal and finance) get one row per reviewer role. The newest row of a kind, subject and
role is the one that counts; older rows are history.

These helpers are NOT permission-checked: the calling service is declared with @action and checks the
role; they only keep the rows consistent and audited.

Functions
---------
parse_decision(kind, value) -> Decision
    Read 'go'/'kill'/'hold' (ATI) or 'approve'/'reject' (every other kind) into a Decision; anything
    else raises ValidationError(field="decision") listing the allowed values.
latest(ctx, kind, subject_type, subject_id, reviewer_role=None) -> GateDecision | None
    The newest request of that kind for the subject (for one reviewer role, or any role if None).
pending(ctx, kind, subject_type, subject_id, reviewer_role=None) -> GateDecision | None
    The newest request if it is still PENDING, else None.
history(ctx, kind, subject_type, subject_id) -> list[GateDecision]
    Every request of that kind for the subject, oldest first.
is_approved(ctx, kind, subject_type, subject_id, reviewer_role) -> bool
    True when the newest decision for that reviewer role is APPROVE or GO.
request(ctx, kind, subject_type, subject_id, *, reviewer_role="leader", price_floor=None, amount=None,
        rationale="") -> GateDecision
    Open a PENDING request (requested_by = ctx.actor, requested_at = ctx.now()); refuses with GateError
    when one is already pending for that kind, subject and role. Audited as "<kind>.request".
decide(ctx, gate, decision, *, rationale, require_rationale=True, review_date=None, price_floor=None,
       amount=None) -> GateDecision
    Record the decision on a PENDING row (decided_by = ctx.actor, decided_at = ctx.now()). The update
    is a compare-and-set on decision = PENDING, so two reviewers deciding at once cannot both win: the
    second gets GateError. Audited as "<kind>.decide" with before and after.
count(ctx, kind=None, subject_type=None, subject_id=None) -> int
    How many rows match (tests use it to prove a refusal wrote nothing).
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import cast

from sqlalchemy import CursorResult, func, update
from sqlmodel import select

from core import approvals, duties, messages, validate
from core.context import Context, snapshot
from core.enums import Decision, GateKind
from core.errors import GateError, ValidationError
from core.messages import Joined
from core.models import GateDecision

_CHOICES = {GateKind.ATI: (Decision.GO, Decision.KILL, Decision.HOLD)}
_DEFAULT_CHOICES = (Decision.APPROVE, Decision.REJECT)
POSITIVE = (Decision.APPROVE, Decision.GO)


def choices(kind: GateKind) -> tuple[Decision, ...]:
    return _CHOICES.get(GateKind(kind), _DEFAULT_CHOICES)


def parse_decision(kind: GateKind, value) -> Decision:
    allowed = choices(kind)
    raw = "" if value is None else str(getattr(value, "value", value)).strip().lower()
    for d in allowed:
        if raw == d.value:
            return d
    raise ValidationError("{field}: {got!r} is not one of {allowed} for a {gate} decision", field="decision",
                          got=str(value)[:40], allowed=", ".join(d.value for d in allowed),
                          gate=GateKind(kind).value.upper())


def _query(kind, subject_type, subject_id, reviewer_role=None):
    q = select(GateDecision).where(GateDecision.kind == GateKind(kind),
                                   GateDecision.subject_type == subject_type,
                                   GateDecision.subject_id == subject_id)
    if reviewer_role is not None:
        q = q.where(GateDecision.reviewer_role == reviewer_role)
    return q


def latest(ctx: Context, kind: GateKind, subject_type: str, subject_id: int,
           reviewer_role: str | None = None) -> GateDecision | None:
    q = _query(kind, subject_type, subject_id, reviewer_role).order_by(GateDecision.id.desc()).limit(1)
    return ctx.session.exec(q).first()


def pending(ctx: Context, kind: GateKind, subject_type: str, subject_id: int,
            reviewer_role: str | None = None) -> GateDecision | None:
    row = latest(ctx, kind, subject_type, subject_id, reviewer_role)
    return row if row is not None and row.decision == Decision.PENDING else None


def history(ctx: Context, kind: GateKind, subject_type: str, subject_id: int) -> list[GateDecision]:
    return list(ctx.session.exec(_query(kind, subject_type, subject_id).order_by(GateDecision.id)).all())


def is_approved(ctx: Context, kind: GateKind, subject_type: str, subject_id: int, reviewer_role: str) -> bool:
    row = latest(ctx, kind, subject_type, subject_id, reviewer_role)
    return row is not None and row.decision in POSITIVE


def count(ctx: Context, kind: GateKind | None = None, subject_type: str | None = None,
          subject_id: int | None = None) -> int:
    q = select(func.count()).select_from(GateDecision)
    if kind is not None:
        q = q.where(GateDecision.kind == GateKind(kind))
    if subject_type is not None:
        q = q.where(GateDecision.subject_type == subject_type)
    if subject_id is not None:
        q = q.where(GateDecision.subject_id == subject_id)
    return int(ctx.session.exec(q).one())


def request(ctx: Context, kind: GateKind, subject_type: str, subject_id: int, *, reviewer_role: str = "leader",
            price_floor: Decimal | None = None, amount: Decimal | None = None, rationale: str = "") -> GateDecision:
    kind = GateKind(kind)
    if pending(ctx, kind, subject_type, subject_id, reviewer_role) is not None:
        raise GateError("{gate}: {subject} {id} already has a request pending with the {role} reviewer; wait for "
                        "that decision", gate=kind.value.upper(), subject=messages.kind(subject_type), id=subject_id,
                        role=reviewer_role)
    row = GateDecision(kind=kind, subject_type=subject_type, subject_id=subject_id, reviewer_role=reviewer_role,
                       decision=Decision.PENDING, requested_by_id=ctx.actor.id, requested_at=ctx.now(),
                       price_floor=price_floor, amount=amount,
                       rationale=validate.text("rationale", rationale, max_len=4000))
    ctx.audit(f"{kind.value}.request", row)
    return row


def decide(ctx: Context, gate: GateDecision, decision, *, rationale: str, require_rationale: bool = True,
           review_date: date | None = None, price_floor: Decimal | None = None,
           amount: Decimal | None = None, skip_order: bool = False) -> GateDecision:
    """`skip_order`: close a later step of a request an earlier step rejected (no one's review: no duty check)."""
    kind = GateKind(gate.kind)
    decision = parse_decision(kind, decision)
    rationale = validate.text("rationale", rationale, max_len=4000, required=require_rationale)
    on_behalf_of = None if skip_order else approvals.acting_for(ctx, approvals.step_of(kind, gate.reviewer_role), gate)
    if not skip_order:   # the requester never decides; one person, one review (config/permissions.toml)
        duties.check(ctx, gate, on_behalf_of)
    waiting = [] if skip_order else approvals.waiting_for(ctx, gate)
    if waiting:   # a later stage of the path opens once the earlier ones approved (config/approvals.toml)
        raise GateError("{gate}: the {step} step of {subject} {id} waits for {steps} to approve first",
                        gate=kind.value.upper(), step=messages.code(gate.reviewer_role),
                        subject=messages.kind(gate.subject_type), id=gate.subject_id,
                        steps=Joined(", ", (messages.code(s) for s in waiting)))
    before = snapshot(gate)
    values = dict(decision=decision, decided_by_id=ctx.actor.id, decided_at=ctx.now(), rationale=rationale,
                  review_date=review_date, on_behalf_of_id=on_behalf_of)
    if price_floor is not None:
        values["price_floor"] = price_floor
    if amount is not None:
        values["amount"] = amount
    # compare-and-set: only a still-pending row is decided, so a concurrent decision cannot be overwritten
    result = cast(CursorResult, ctx.session.execute(   # an UPDATE's result has the rowcount
        update(GateDecision).where(GateDecision.id == gate.id, GateDecision.decision == Decision.PENDING)
        .values(**values).execution_options(synchronize_session=False)))
    if result.rowcount != 1:
        ctx.session.refresh(gate)
        raise GateError("{gate}: the request for {subject} {id} was already decided ({decision}); nothing to decide",
                        gate=kind.value.upper(), subject=messages.kind(gate.subject_type), id=gate.subject_id,
                        decision=messages.code(gate.decision))
    ctx.session.refresh(gate)
    ctx.audit(f"{kind.value}.decide", gate, before=before)
    return gate
