"""Where deals get stuck: days in each opportunity stage (from StageChange history), gate waiting times,
holds past their review date, and the open opportunities longest in their current stage, with their owners.

Days are whole calendar days (UTC dates). A stage still open counts up to as_of. An opportunity created
straight into a stage (no history row for it) counts that stage from its creation.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from statistics import median

from sqlalchemy import Label, func
from sqlmodel import select

from core import clock
from core.context import Context
from core.enums import Decision, Stage
from core.metrics.filters import metric, Filters, end_of, opp_where
from core.metrics.funnel import OPEN
from core.models import GateDecision, Opportunity, StageChange, User

TERMINAL = {Stage.WON.value, Stage.LOST.value, Stage.KILLED.value}
STUCK_TOP = 20


def _day(ts: datetime) -> date:
    return clock.local_date(ts)


def _stats(values: list[int]) -> dict:
    return {"count": len(values), "median": Decimal(str(median(values))).quantize(Decimal("0.1")),
            "worst": max(values)}


@metric("metrics.view", "opportunity")
def stages(ctx: Context, f: Filters) -> dict:
    """{durations: [{stage, count, median, worst}], gates: [{kind, count, median, worst, pending}],
    holds_past_review: [...], stuck: [...]} as of f.as_of."""
    cutoff = end_of(f.as_of)
    # LEAD() keeps the timestamp type only when told (SQLite would hand back text)
    nxt = func.lead(StageChange.at, type_=StageChange.__table__.c.at.type).over(
        partition_by=StageChange.entity_id, order_by=(StageChange.at, StageChange.id))
    first = func.row_number().over(partition_by=StageChange.entity_id, order_by=(StageChange.at, StageChange.id))
    rows = ctx.session.exec(
        select(StageChange.from_stage, StageChange.to_stage, StageChange.at, nxt, first, Opportunity.created_at)
        .join(Opportunity, Opportunity.id == StageChange.entity_id)
        .where(StageChange.entity == "opportunity", StageChange.at < cutoff, *opp_where(f))).all()
    spent: dict[str, list[int]] = defaultdict(list)
    for from_stage, to_stage, at, next_at, n, created in rows:
        if n == 1 and from_stage and from_stage not in TERMINAL:
            spent[from_stage].append((_day(at) - _day(created)).days)
        if to_stage not in TERMINAL:
            spent[to_stage].append(((_day(next_at) if next_at else f.as_of) - _day(at)).days)
    order = [s.value for s in Stage]
    durations = [{"stage": s, **_stats(v)} for s, v in sorted(spent.items(), key=lambda kv: order.index(kv[0])
                                                               if kv[0] in order else 99)]

    # gate waits: request → decision, for decisions made by as_of; pending ones counted apart
    waits: dict[str, list[int]] = defaultdict(list)
    for kind, req, dec in ctx.session.exec(
            select(GateDecision.kind, GateDecision.requested_at, GateDecision.decided_at)
            .where(GateDecision.decided_at != None, GateDecision.decided_at < cutoff,  # noqa: E711
                   GateDecision.requested_at < cutoff)).all():
        waits[str(kind)].append((_day(dec) - _day(req)).days)
    pending = {str(kind): n for kind, n in ctx.session.exec(
        select(GateDecision.kind, func.count(GateDecision.id))
        .where(GateDecision.decision == Decision.PENDING, GateDecision.requested_at < cutoff)
        .group_by(GateDecision.kind)).all()}
    kinds = sorted(set(waits) | set(pending))
    gates = [{"kind": k, **(_stats(waits[k]) if waits[k] else {"count": 0, "median": None, "worst": None}),
              "pending": pending.get(k, 0)} for k in kinds]

    owner: Label[str] = User.name.label("owner")
    holds = [{"opportunity_id": i, "name": n, "review_on": r, "days_past": (f.as_of - r).days, "owner": o or ""}
             for i, n, r, o in ctx.session.exec(
                 select(Opportunity.id, Opportunity.name, Opportunity.hold_review_on, owner)
                 .outerjoin(User, User.id == Opportunity.ar_id)
                 .where(Opportunity.stage == Stage.ON_HOLD, Opportunity.hold_review_on < f.as_of, *opp_where(f))
                 .order_by(Opportunity.hold_review_on, Opportunity.id)).all()]
    stuck = [{"opportunity_id": i, "name": n, "stage": str(s), "since": _day(since),
              "days": (f.as_of - _day(since)).days, "amount": amt, "owner": o or ""}
             for i, n, s, since, amt, o in ctx.session.exec(
                 select(Opportunity.id, Opportunity.name, Opportunity.stage, Opportunity.stage_since,
                        Opportunity.amount, owner)
                 .outerjoin(User, User.id == Opportunity.ar_id)
                 .where(Opportunity.stage.in_(OPEN), Opportunity.created_at < cutoff, *opp_where(f))
                 .order_by(Opportunity.stage_since, Opportunity.id).limit(STUCK_TOP)).all()]
    return {"durations": durations, "gates": gates, "holds_past_review": holds, "stuck": stuck}
