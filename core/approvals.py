"""Approval paths (审批流) as data (config/approvals.toml): which steps a gate's request takes for a record, in
which order, who takes each, and delegation while a person is away.

A request is one GateDecision row per step (`reviewer_role` holds the step's key); the newest row of a step is
the one that counts. A step is open when it is pending and every step of an earlier stage has approved. Who
may decide a step: a person holding the step's role now, or the delegate of such a person on a day inside the
delegation's dates; a delegated decision names the person it was taken for (`on_behalf_of_id`).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlmodel import select

from config.settings import load
from core import permissions
from core.context import Context
from core.enums import Decision, GateKind
from core.models import Delegation, GateDecision, User
from core.models.people import roles_in


@dataclass(frozen=True)
class Step:
    key: str                     # stored as GateDecision.reviewer_role
    role: str                    # who takes it
    stage: int
    when: tuple[dict, ...] = ()  # any one of these holds (each: all of its keys); none: always on the path
    login: str = ""              # a named person (who holds `role` too); "": anyone holding the role


def _number(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def steps(kind: GateKind) -> list[Step]:
    """Every step configured for the gate, stage order (a gate left out: one leader step)."""
    conf = load("approvals").get(GateKind(kind).value, {}).get("steps")
    if not conf:
        return [Step("leader", "leader", 1)]
    out = [Step(key, str(s.get("role", key)), int(s.get("stage", 1)), tuple(s.get("when", ())),
                str(s.get("login", "")).strip().lower()) for key, s in conf.items()]
    return sorted(out, key=lambda s: s.stage)


FACT = {"amount_above": "amount", "margin_below": "margin_rate", "below_floor": "below_floor", "region": "region"}


def _holds(cond: dict, facts: dict) -> bool:
    for key, want in cond.items():
        got = facts.get(FACT.get(key, key))
        if key == "amount_above":
            limit = _number(want)
            if got is None or limit is None or not Decimal(got) > limit:
                return False
        elif key == "margin_below":
            limit = _number(want)
            if got is None or limit is None or not Decimal(got) < limit:
                return False
        elif key == "below_floor":
            if bool(got) != bool(want):
                return False
        elif key == "region":
            if str(got or "") not in ([want] if isinstance(want, str) else list(want)):
                return False
        else:
            return False   # a condition this version does not know: the step is not silently taken as met
    return True


def path(kind: GateKind, facts: dict) -> list[Step]:
    """The steps a record with these facts needs, stage order."""
    return [s for s in steps(kind) if not s.when or any(_holds(c, facts) for c in s.when)]


def deal_facts(ctx: Context, opp_id: int, amount: Decimal | None) -> dict:
    """The facts a deal's request is judged by: the amount asked, the margin it leaves over the latest estimated
    cost (概算), the deal's region."""
    from core.calculations import latest_baseline
    from core.enums import Calculation
    from core.models import Opportunity

    opp = ctx.session.get(Opportunity, opp_id)
    est = latest_baseline(ctx.session, Calculation.ESTIMATE, opportunity_id=opp_id)
    rate = (amount - est.cost) / amount if est is not None and amount else None
    return {"amount": amount, "margin_rate": rate, "region": opp.region if opp else ""}


def step_of(kind: GateKind, key: str) -> Step:
    """The configured step of that key; a key the path does not know is a stage-1 step of the role it names."""
    return next((s for s in steps(kind) if s.key == key), Step(key, key, 1))


def newest_rows(ctx: Context, kind: GateKind, subject_type: str, subject_id: int) -> dict[str, GateDecision]:
    """The newest row of each step of the subject's requests."""
    rows = ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == GateKind(kind), GateDecision.subject_type == subject_type,
        GateDecision.subject_id == subject_id).order_by(GateDecision.id.desc())).all()
    out: dict[str, GateDecision] = {}
    for row in rows:
        out.setdefault(row.reviewer_role, row)
    return out


def pending_steps(ctx: Context, kind: GateKind, subject_type: str, subject_id: int) -> list[GateDecision]:
    """The steps of the subject's request still pending, in the path's order."""
    order = [s.key for s in steps(kind)]
    rows = newest_rows(ctx, kind, subject_type, subject_id).values()
    return sorted((r for r in rows if r.decision == Decision.PENDING),
                  key=lambda r: order.index(r.reviewer_role) if r.reviewer_role in order else len(order))


def ask(ctx: Context, kind: GateKind, subject_type: str, subject_id: int, facts: dict, **fields) -> GateDecision:
    """Request every step of the path these facts choose (one row each); the first step's row."""
    from core import gates

    rows = [gates.request(ctx, kind, subject_type, subject_id, reviewer_role=s.key, **fields)
            for s in path(kind, facts)]
    return rows[0]


def next_step(ctx: Context, kind: GateKind, subject_type: str, subject_id: int) -> GateDecision | None:
    """The step to decide now: the first one still pending (gates.decide refuses it while it waits)."""
    rows = pending_steps(ctx, kind, subject_type, subject_id)
    return rows[0] if rows else None


def settled(ctx: Context, gate: GateDecision) -> bool:
    """After `gate` was decided: whether its request is settled. A negative decision settles it (its later steps
    are closed with the same decision: nothing is left to decide); an approval only at the last step."""
    from core import gates

    rest = [r for r in pending_steps(ctx, gate.kind, gate.subject_type, gate.subject_id) if r.id != gate.id]
    if gate.decision in (Decision.APPROVE, Decision.GO):
        return not rest
    for row in rest:
        gates.decide(ctx, row, gate.decision, rationale=f"closed: the {gate.reviewer_role} step decided "
                     f"{gate.decision.value}", review_date=gate.review_date, skip_order=True)
    return True


def waiting_for(ctx: Context, gate: GateDecision) -> list[str]:
    """The steps of earlier stages not yet approved: a pending step opens once this is empty."""
    me = step_of(gate.kind, gate.reviewer_role)
    rows = newest_rows(ctx, gate.kind, gate.subject_type, gate.subject_id)
    return [s.key for s in steps(gate.kind) if s.stage < me.stage and s.key in rows
            and rows[s.key].decision not in (Decision.APPROVE, Decision.GO)]


def is_open(ctx: Context, gate: GateDecision) -> bool:
    return gate.decision == Decision.PENDING and not waiting_for(ctx, gate)


# -- delegation --------------------------------------------------------------------------------------

def delegators(ctx: Context) -> dict[int, frozenset[str]]:
    """The people whose steps the actor may take today, as their delegate: {user id: their roles now}."""
    if ctx.actor.id is None:
        return {}
    known = ctx.session.info.setdefault("delegators", {})
    if ctx.actor.id not in known:
        today = ctx.today()
        rows = ctx.session.exec(select(User.id, User.roles).join(Delegation, Delegation.user_id == User.id).where(
            Delegation.delegate_id == ctx.actor.id, Delegation.revoked_at.is_(None),  # type: ignore[union-attr]
            Delegation.starts_on <= today, Delegation.ends_on >= today, User.active == True)).all()  # noqa: E712
        known[ctx.actor.id] = {uid: roles_in(roles) for uid, roles in rows if uid is not None}
    return known[ctx.actor.id]


def delegable() -> frozenset[str]:
    return frozenset(load("permissions").get("delegation", {}).get("actions", ()))


def delegated_may(ctx: Context, action: str) -> bool:
    """Whether a delegation in effect lets the actor take `action` (only the delegable decisions)."""
    return action in delegable() and any(permissions.allowed(roles, action) for roles in delegators(ctx).values())


def acting_for(ctx: Context, step: Step, gate: GateDecision) -> int | None:
    """None when the actor takes the step in their own name; else the id of the person away they take it for
    (their delegator holding the step's role, or the step's named person). The action's permission was checked
    before; a step named for a person is refused (PermissionDenied) to anyone else but their delegate."""
    from core import messages
    from core.errors import PermissionDenied

    if step.login:
        named = ctx.session.exec(select(User.id).where(User.login == step.login)).first()
        if ctx.actor.login == step.login:
            return None
        if named is not None and named in delegators(ctx):
            return named
        raise PermissionDenied("{gate}: the {step} step of {subject} {id} is {login}'s to decide",
                               gate=GateKind(gate.kind).value.upper(), step=step.key,
                               subject=messages.kind(gate.subject_type), id=gate.subject_id, login=step.login)
    if step.role in (ctx.current_roles() or frozenset()):
        return None
    for uid, roles in sorted(delegators(ctx).items()):
        if step.role in roles:
            return uid
    return None
