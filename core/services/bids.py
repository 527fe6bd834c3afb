"""Bids (投标/方案) and the ATB gate (投标决策).

DRAFT --request_atb--> ATB_PENDING --approve--> APPROVED --submit--> SUBMITTED --result--> WON | LOST
                                   --reject---> DRAFT
An APPROVED bid may ask for a new ATB (a lower price than the approved floor needs one).
The ATB request row keeps the proposed price in `amount` and the proposed floor in `price_floor`; the
leader's decision overwrites `price_floor` with the floor approved (the audit keeps both). The decision is
taken against the opportunity's estimate (概算): a floor above the proposed price is refused, and a floor
under the estimated cost needs the leader's reason for bidding under cost.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlmodel import select

from core import approvals, gates, validate
from core.context import Context, snapshot
from core.enums import BidStatus, Decision, GateKind, Stage
from core.errors import AmountError, GateError, ValidationError
from core.lifecycle import Lifecycle, Step, register
from core.messages import Joined, Text, code
from core.models import Bid, Opportunity
from core.services import action
from core.services.opportunities import OPEN_BID, latest_estimate
from core.types import fmt_money

SUBJECT = "bid"
BID_STAGES = (Stage.GUIDANCE, Stage.BIDDING, Stage.NEGOTIATION)   # after ATI go, before won/lost
UNSUBMITTED = (BidStatus.DRAFT, BidStatus.ATB_PENDING, BidStatus.APPROVED)


def _bid(ctx: Context, bid_id: int, version: int | None = None) -> tuple[Bid, Opportunity]:
    bid = ctx.get(Bid, bid_id, version=version, what="bid")
    return bid, ctx.get(Opportunity, bid.opportunity_id, what="opportunity")


def _label(bid: Bid) -> Text:
    return Text("bid {id} '{title}'", id=bid.id, title=bid.title)


def _open_opp_reason(opp: Opportunity, doing: Text) -> Text | None:
    """`doing` is what cannot be done, as core's words: Text("create a bid")."""
    if opp.stage not in BID_STAGES:
        why = Text("it needs an ATI go decision first") if opp.stage in (Stage.INITIATION, Stage.ON_HOLD) else \
            Text("it is closed")
        return Text("bid: opportunity {id} '{name}' is {stage}; cannot {doing} ({why})", id=opp.id, name=opp.name,
                    stage=code(opp.stage), doing=doing, why=why)
    return None


def _require_open_opp(opp: Opportunity, doing: Text) -> None:
    reason = _open_opp_reason(opp, doing)
    if reason:
        raise GateError(reason)


def _require_before_deadline(bid: Bid, on: date, doing: Text) -> None:
    if on > bid.deadline:
        raise GateError("bid: the deadline of {label} was {deadline:%Y-%m-%d}; cannot {doing} on {on:%Y-%m-%d}",
                        label=_label(bid), deadline=bid.deadline, doing=doing, on=on)


# -- the bid's lifecycle: which action starts from which status, and its guards ------------------------

REQUEST_ATB, BE_SUBMITTED, DECIDE_ATB = Text("request ATB"), Text("be submitted"), Text("decide ATB")


def _only(doing: Text):
    def wrong(bid: Bid, allowed) -> Text:
        if doing == REQUEST_ATB and bid.status == BidStatus.ATB_PENDING:
            return Text("ATB: {label} already has an ATB request pending; wait for the leader's decision",
                        label=_label(bid))
        if doing == BE_SUBMITTED and bid.status in (BidStatus.DRAFT, BidStatus.ATB_PENDING):
            wait = Text("request ATB first") if bid.status == BidStatus.DRAFT else \
                Text("the ATB decision is still pending")
            return Text("ATB: {label} is not approved to bid ({wait})", label=_label(bid), wait=wait)
        if doing == DECIDE_ATB:
            return Text("ATB: {label} has no pending ATB request to decide (status {status})", label=_label(bid),
                        status=code(bid.status))
        return Text("{label} is {status}; a bid can {doing} only while it is {names}", label=_label(bid),
                    status=code(bid.status), names=Joined(" or ", (code(s) for s in allowed)), doing=doing)
    return wrong


def _opp_open(doing: Text):
    return lambda ctx, bid: _open_opp_reason(ctx.get(Opportunity, bid.opportunity_id, what="opportunity"), doing)


def _deadline_ahead(ctx: Context, bid: Bid) -> Text | None:
    if ctx.today() > bid.deadline:
        return Text("bid: the deadline of {label} was {deadline:%Y-%m-%d}; cannot request ATB on {on:%Y-%m-%d}",
                    label=_label(bid), deadline=bid.deadline, on=ctx.today())
    return None


LIFECYCLE = register(Lifecycle("bid", "status", _label, {
    "bid.update": Step(UNSUBMITTED, (_opp_open(Text("edit its bid")),), _only(Text("be edited"))),
    # applies_in: the statuses in which a page shows the action (disabled with the reason when refused):
    # the steps still ahead of the bid, never the ones behind it
    "atb.request": Step((BidStatus.DRAFT, BidStatus.APPROVED), (_opp_open(REQUEST_ATB), _deadline_ahead),
                        _only(REQUEST_ATB), applies_in=UNSUBMITTED),
    "atb.decide": Step((BidStatus.ATB_PENDING,), (_opp_open(DECIDE_ATB),), _only(DECIDE_ATB)),
    "bid.submit": Step((BidStatus.APPROVED,), (_opp_open(Text("submit its bid")),), _only(BE_SUBMITTED),
                       applies_in=UNSUBMITTED),
    "bid.result": Step((BidStatus.SUBMITTED,), (_opp_open(Text("record a bid result")),), _only(Text("get a result"))),
}))


@action("bid.create")
def create_bid(ctx: Context, opp_id: int, *, title, deadline, bid_bond=0, competitors="") -> int:
    """A DRAFT bid for an opportunity past ATI go; an opportunity in GUIDANCE moves to BIDDING."""
    opp = ctx.get(Opportunity, opp_id, what="opportunity")
    title = validate.text("title", title, required=True)
    deadline = validate.day("deadline", deadline)
    bid_bond = validate.amount("bid_bond", bid_bond, allow_zero=True)
    competitors = validate.text("competitors", competitors, max_len=1000)
    if deadline < ctx.today():
        raise ValidationError("{field}: {got:%Y-%m-%d} has already passed (today is {today:%Y-%m-%d})",
                              field="deadline", got=deadline, today=ctx.today())
    _require_open_opp(opp, Text("create a bid"))
    bid = Bid(opportunity_id=opp.id, title=title, deadline=deadline, bid_bond=bid_bond, competitors=competitors,
              status=BidStatus.DRAFT, created_at=ctx.now())
    ctx.audit("bid.create", bid)
    if opp.stage == Stage.GUIDANCE:
        before = snapshot(opp)
        ctx.move(opp, "stage", Stage.BIDDING)
        ctx.audit("opportunity.stage", opp, before=before)
    return bid.id


@action("bid.update")
def update_bid(ctx: Context, bid_id: int, *, version: int | None = None, title=None, deadline=None, bid_bond=None,
               competitors=None) -> None:
    """Edit a bid not yet submitted; None leaves a field as it is."""
    bid, opp = _bid(ctx, bid_id, version)
    LIFECYCLE.require(ctx, "bid.update", bid)
    before = snapshot(bid)
    if title is not None:
        bid.title = validate.text("title", title, required=True)
    if deadline is not None:
        new = validate.day("deadline", deadline)
        if new < ctx.today():
            raise ValidationError("{field}: {got:%Y-%m-%d} has already passed (today is {today:%Y-%m-%d})",
                                  field="deadline", got=new, today=ctx.today())
        bid.deadline = new
    if bid_bond is not None:
        bid.bid_bond = validate.amount("bid_bond", bid_bond, allow_zero=True)
    if competitors is not None:
        bid.competitors = validate.text("competitors", competitors, max_len=1000)
    ctx.audit("bid.update", bid, before=before)


@action("atb.request")
def request_atb(ctx: Context, bid_id: int, *, proposed_price, proposed_floor) -> int:
    """Ask the leader to approve bidding at a price with a floor; returns the GateDecision id.
    Also from APPROVED: quoting under the approved floor needs a new approval."""
    bid, opp = _bid(ctx, bid_id)
    price = validate.amount("proposed_price", proposed_price)
    floor = validate.amount("proposed_floor", proposed_floor)
    if floor > price:
        raise AmountError("{field}: {floor} is above the proposed price {price}", field="proposed_floor",
                          floor=fmt_money(floor), price=fmt_money(price))
    LIFECYCLE.require(ctx, "atb.request", bid)
    facts = {**approvals.deal_facts(ctx, opp.id, price), "below_floor": False}   # the path for the price asked
    gate = approvals.ask(ctx, GateKind.ATB, SUBJECT, bid.id, facts, price_floor=floor, amount=price)
    before = snapshot(bid)
    ctx.move(bid, "status", BidStatus.ATB_PENDING)
    ctx.audit("atb.request", bid, before=before)
    return gate.id


@action("atb.decide")
def decide_atb(ctx: Context, bid_id: int, decision, *, price_floor=None, rationale, below_cost_reason="") -> None:
    """approve: the bid may be submitted at or above `price_floor` (required, not above the proposed price;
    under the estimated cost only with `below_cost_reason`); reject: back to DRAFT."""
    bid, opp = _bid(ctx, bid_id)
    choice = gates.parse_decision(GateKind.ATB, decision)
    rationale = validate.text("rationale", rationale, max_len=4000, required=True)
    floor = validate.amount("price_floor", price_floor) if choice == Decision.APPROVE else None
    below_cost_reason = validate.text("below_cost_reason", below_cost_reason, max_len=2000)
    LIFECYCLE.require(ctx, "atb.decide", bid)
    gate = approvals.next_step(ctx, GateKind.ATB, SUBJECT, bid.id)
    if gate is None:
        raise GateError("ATB: {label} has no pending ATB request to decide (status {status})", label=_label(bid),
                        status=code(bid.status))
    if floor is not None and gate.amount is not None and floor > gate.amount:
        raise AmountError("{field}: {floor} is above the price {price} proposed for {label}", field="price_floor",
                          floor=fmt_money(floor), price=fmt_money(gate.amount), label=_label(bid))
    est = latest_estimate(ctx, opp.id)   # the estimate (概算) the decision is taken against
    under_cost = floor is not None and est is not None and floor < est.cost
    if under_cost and not below_cost_reason:
        raise GateError("ATB: the floor {floor} for {label} is under the estimated cost {cost} (概算); approving "
                        "it needs a reason for bidding under cost", field="below_cost_reason",
                        floor=fmt_money(floor), label=_label(bid), cost=fmt_money(est.cost))
    if below_cost_reason:   # kept with the decision even when the floor turned out not to be under cost
        mark = f"[under the estimated cost {fmt_money(est.cost)}] " if under_cost and est is not None else ""
        rationale = f"{rationale}\n{mark}{below_cost_reason}"
        if len(rationale) > 4000:
            raise ValidationError("{field}: the rationale and the reason for bidding under cost together are at most "
                                  "4000 characters (got {n})", field="below_cost_reason", n=len(rationale))
    gates.decide(ctx, gate, choice, rationale=rationale, price_floor=floor)
    if not approvals.settled(ctx, gate):   # an approval with steps still to come: the floor is the last one's
        return
    before = snapshot(bid)
    bid.price_floor = floor
    ctx.move(bid, "status", BidStatus.APPROVED if choice == Decision.APPROVE else BidStatus.DRAFT)
    ctx.audit(f"atb.{choice.value}", bid, before=before)


@action("bid.submit")
def submit_bid(ctx: Context, bid_id: int, *, quoted_price, submitted_on=None) -> None:
    """Submit the quote: only after ATB approval, not under the approved floor, not after the deadline."""
    bid, opp = _bid(ctx, bid_id)
    quote = validate.amount("quoted_price", quoted_price)
    on = validate.day("submitted_on", submitted_on, required=False) or ctx.today()
    if on > ctx.today():
        raise ValidationError("{field}: {got:%Y-%m-%d} is in the future", field="submitted_on", got=on)
    LIFECYCLE.require(ctx, "bid.submit", bid)
    _require_before_deadline(bid, on, Text("submit it"))
    if bid.price_floor is not None and quote < bid.price_floor:
        raise GateError("ATB: quote {quote} for {label} is under the approved price floor {floor}; a new ATB approval "
                        "is needed to bid lower", quote=fmt_money(quote), label=_label(bid),
                        floor=fmt_money(bid.price_floor))
    before = snapshot(bid)
    bid.quoted_price, bid.submitted_on = quote, on
    ctx.move(bid, "status", BidStatus.SUBMITTED)
    ctx.audit("bid.submit", bid, before=before)


@action("bid.result")
def record_result(ctx: Context, bid_id: int, *, won: bool, result_on=None, loss_reason="", winner="") -> None:
    """Won: the opportunity moves to NEGOTIATION. Lost (reason required): the opportunity is LOST too,
    unless another of its bids is still open."""
    bid, opp = _bid(ctx, bid_id)
    if not isinstance(won, bool):
        raise ValidationError("{field}: must be true or false (got {got!r})", field="won", got=won)
    on = validate.day("result_on", result_on, required=False) or ctx.today()
    loss_reason = validate.text("loss_reason", loss_reason, max_len=1000, required=not won)
    winner = validate.text("winner", winner)
    LIFECYCLE.require(ctx, "bid.result", bid)
    if on > ctx.today():
        raise ValidationError("{field}: {got:%Y-%m-%d} is in the future", field="result_on", got=on)
    if bid.submitted_on and on < bid.submitted_on:
        raise ValidationError("{field}: {got:%Y-%m-%d} is before the bid was submitted ({submitted:%Y-%m-%d})",
                              field="result_on", got=on, submitted=bid.submitted_on)
    before = snapshot(bid)
    bid.result_on = on
    if won:
        bid.loss_reason, bid.winner = "", winner
        ctx.move(bid, "status", BidStatus.WON)
    else:
        bid.loss_reason, bid.winner = loss_reason, winner
        ctx.move(bid, "status", BidStatus.LOST)
    ctx.audit("bid.result", bid, before=before)

    before = snapshot(opp)
    if won:
        if opp.stage == Stage.NEGOTIATION:
            return
        ctx.move(opp, "stage", Stage.NEGOTIATION)
    else:
        others = ctx.session.exec(select(Bid.id).where(Bid.opportunity_id == opp.id, Bid.id != bid.id,
                                                       Bid.status.in_(OPEN_BID))).first()
        if others is not None:
            return   # the opportunity is still in play through its other bid
        opp.lost_reason = f"bid {bid.id} lost: {loss_reason}"[:1000]
        ctx.move(opp, "stage", Stage.LOST)
    ctx.audit("opportunity.stage", opp, before=before)


def bids_due(ctx: Context, within_days: int = 7, as_of: date | None = None) -> list[dict]:
    """Bids not yet submitted whose deadline falls within the next `within_days` days (from `as_of`,
    default today), of opportunities still open; soonest first."""
    within_days = validate.whole("within_days", within_days, lo=0, hi=3650, required=True)
    as_of = as_of or ctx.today()
    rows = ctx.session.exec(
        select(Bid, Opportunity).join(Opportunity, Opportunity.id == Bid.opportunity_id)
        .where(Bid.status.in_(UNSUBMITTED), Bid.deadline >= as_of,
               Bid.deadline <= as_of + timedelta(days=within_days), Opportunity.stage.in_(BID_STAGES))
        .order_by(Bid.deadline, Bid.id)).all()
    return [dict(id=b.id, title=b.title, opportunity_id=o.id, opportunity=o.name, deadline=b.deadline,
                 days_left=(b.deadline - as_of).days, status=b.status.value, price_floor=b.price_floor)
            for b, o in rows]
