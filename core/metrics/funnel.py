"""Funnel (lead → signed) and win rates, counted in SQL.

The funnel follows the cohort of the period: leads captured in the period, opportunities created in it,
and how far those opportunities got by as_of.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import String, func, or_
from sqlmodel import select

from config.settings import load
from core.context import Context
from core.enums import BidStatus, ContractStatus, Decision, GateKind, LeadStatus, Stage
from core.metrics.filters import metric, Filters, end_of, money, opp_where, ratio, start_of
from core.models import Bid, Contract, GateDecision, Lead, Opportunity, StageChange

STEPS = ["lead", "qualified", "opportunity", "initiated", "bid", "won", "signed"]
OPEN = (Stage.INITIATION, Stage.GUIDANCE, Stage.BIDDING, Stage.NEGOTIATION, Stage.ON_HOLD)


def probabilities() -> dict[str, Decimal]:
    """Win probability per stage, config/pipeline.toml [stages]."""
    return {k: Decimal(str(v)) for k, v in load("pipeline")["stages"].items()}


def _count(ctx: Context, q) -> int:
    return int(ctx.session.exec(q).one() or 0)


def _cohort(f: Filters):
    """Opportunities created in the period (and not after as_of), in scope."""
    return (select(Opportunity.id).where(Opportunity.created_at >= start_of(f.start),
                                         Opportunity.created_at < end_of(f.end), *opp_where(f)))


@metric("metrics.view", "opportunity")
def funnel(ctx: Context, f: Filters) -> list[dict]:
    """[{step, count, conversion}] — conversion is count ÷ the previous step's count (None for the first)."""
    leads = select(func.count(Lead.id)).where(Lead.captured_on >= start_of(f.start), Lead.captured_on < end_of(f.end),
                                              Lead.status != LeadStatus.MERGED)
    if f.region:
        leads = leads.where(Lead.region == f.region)
    if f.industry:
        leads = leads.where(Lead.industry == f.industry)
    if f.ar_id is not None:
        leads = leads.where(Lead.owner_id == f.ar_id)
    if f.account_id is not None:
        leads = leads.where(Lead.id.in_(select(Opportunity.lead_id).where(Opportunity.account_id == f.account_id)))
    cohort = _cohort(f)
    initiated = select(GateDecision.subject_id).where(
        GateDecision.kind == GateKind.ATI, GateDecision.subject_type == "opportunity",
        GateDecision.decision == Decision.GO,
        or_(GateDecision.decided_at.is_(None), GateDecision.decided_at < end_of(f.as_of)))
    bid = select(Bid.opportunity_id).where(Bid.status.in_([BidStatus.SUBMITTED, BidStatus.WON, BidStatus.LOST]),
                                           Bid.submitted_on <= f.as_of)
    bid_won = select(Bid.opportunity_id).where(Bid.status == BidStatus.WON, Bid.result_on <= f.as_of)
    signed = select(Contract.opportunity_id).where(Contract.status.in_([ContractStatus.SIGNED, ContractStatus.CLOSED]),
                                                   Contract.signed_on <= f.as_of)
    n = func.count(Opportunity.id)
    counts = {
        "lead": _count(ctx, leads),
        "qualified": _count(ctx, leads.where(Lead.status.in_([LeadStatus.QUALIFIED, LeadStatus.CONVERTED]))),
        "opportunity": _count(ctx, select(n).where(Opportunity.id.in_(cohort))),
        "initiated": _count(ctx, select(n).where(Opportunity.id.in_(cohort), Opportunity.id.in_(initiated))),
        "bid": _count(ctx, select(n).where(Opportunity.id.in_(cohort), Opportunity.id.in_(bid))),
        # won: the bid was won, or the deal was signed without a tender
        "won": _count(ctx, select(n).where(Opportunity.id.in_(cohort),
                                           or_(Opportunity.id.in_(bid_won), Opportunity.id.in_(signed)))),
        "signed": _count(ctx, select(n).where(Opportunity.id.in_(cohort), Opportunity.id.in_(signed))),
    }
    out, prev = [], None
    for step in STEPS:
        out.append({"step": step, "count": counts[step],
                    "conversion": None if prev is None else ratio(counts[step], prev)})
        prev = counts[step]
    return out


def stage_as_of(f: Filters):
    """The opportunity's stage on f.as_of, from its history: the last change by then, else the stage it left at
    its first later change, else (no history) its stage now."""
    cutoff = end_of(f.as_of)
    mine = [StageChange.entity == "opportunity", StageChange.entity_id == Opportunity.id]
    last_id = (select(func.max(StageChange.id)).where(*mine, StageChange.at < cutoff)
               .correlate(Opportunity).scalar_subquery())
    next_id = (select(func.min(StageChange.id)).where(*mine, StageChange.at >= cutoff)
               .correlate(Opportunity).scalar_subquery())
    then = select(StageChange.to_stage).where(StageChange.id == last_id).scalar_subquery()
    left = select(StageChange.from_stage).where(StageChange.id == next_id).scalar_subquery()
    return func.coalesce(then, func.nullif(left, ""), Opportunity.stage, type_=String).label("stage_then")


@metric("metrics.view", "opportunity")
def win_rates(ctx: Context, f: Filters) -> dict:
    """Win rate by count and by value among opportunities decided (won or lost) — in scope, created by as_of,
    by their stage on as_of; bid hit rate among bids with a result by as_of; weighted pipeline of the
    opportunities open on as_of (at their amount now)."""
    base = [Opportunity.created_at < end_of(f.as_of), *opp_where(f)]
    stage = stage_as_of(f)
    rows = dict((str(s), (cnt, amt)) for s, cnt, amt in ctx.session.exec(
        select(stage, func.count(Opportunity.id), func.sum(Opportunity.amount))
        .where(*base).group_by(stage)).all())
    won_n, won_v = rows.get(Stage.WON.value, (0, None))
    lost_n, lost_v = rows.get(Stage.LOST.value, (0, None))
    won_v, lost_v = money(won_v), money(lost_v)
    bids = dict(ctx.session.exec(
        select(Bid.status, func.count(Bid.id)).join(Opportunity, Opportunity.id == Bid.opportunity_id)
        .where(Bid.status.in_([BidStatus.WON, BidStatus.LOST]), Bid.result_on <= f.as_of, *opp_where(f))
        .group_by(Bid.status)).all())
    hits, misses = bids.get(BidStatus.WON, 0), bids.get(BidStatus.LOST, 0)
    prob = probabilities()
    # per open stage: SUM(amount), weighted by the stage's probability
    weighted = Decimal("0.00")
    by_stage = {}
    for stage in (s.value for s in OPEN):
        if stage not in rows:
            continue
        cnt, amt = rows[stage]
        amt = money(amt)
        w = money(amt * prob.get(str(stage), Decimal(0)))
        by_stage[str(stage)] = {"count": cnt, "amount": amt, "weighted": w}
        weighted += w
    return {"won": won_n, "lost": lost_n, "won_value": won_v, "lost_value": lost_v,
            "win_rate_count": ratio(won_n, won_n + lost_n), "win_rate_value": ratio(won_v, won_v + lost_v),
            "bids_won": hits, "bids_lost": misses, "bid_hit_rate": ratio(hits, hits + misses),
            "weighted_pipeline": weighted, "pipeline_by_stage": by_stage}
