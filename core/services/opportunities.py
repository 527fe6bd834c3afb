"""Opportunities (机会点): initiation, iron triangle, customer guidance, estimate (概算) and the ATI gate.

Stage moves: INITIATION --ATI go--> GUIDANCE --> BIDDING --> NEGOTIATION --contract signed--> WON.
ATI kill -> KILLED, ATI hold -> ON_HOLD (re-requested from there). LOST from any open stage, with a
reason. WON is set only by signing the contract (core.services.contracts), never here.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlmodel import select

from config.settings import load
from core import approvals, gates, normalise, validate
from core.context import Context, snapshot
from core.enums import BidStatus, Calculation, ContractStatus, Decision, GateKind, Role, Stage, Stance
from core.enums import OPEN_STAGES
from core.errors import GateError, ValidationError
from core.lifecycle import Lifecycle, Step, register
from core.messages import Joined, Text, code
from core.models import Account, Baseline, Bid, Contract, Opportunity, Stakeholder, User
from core.services import action
from core.types import money

SUBJECT = "opportunity"
CLOSED = (Stage.WON, Stage.LOST, Stage.KILLED)
PRE_ATI = (Stage.INITIATION, Stage.ON_HOLD)
# Manual moves after ATI go; LOST is allowed from every open stage and handled apart.
MANUAL_MOVES: dict[Stage, tuple[Stage, ...]] = {
    Stage.GUIDANCE: (Stage.BIDDING, Stage.NEGOTIATION),   # NEGOTIATION directly: a deal without tender
    Stage.BIDDING: (Stage.NEGOTIATION, Stage.GUIDANCE),   # back to GUIDANCE when a tender is called off
    Stage.NEGOTIATION: (Stage.BIDDING,),                  # the customer asks for a (re)tender
}
OPEN_BID = (BidStatus.DRAFT, BidStatus.ATB_PENDING, BidStatus.APPROVED, BidStatus.SUBMITTED)

MOVE_REASON_MAX = 1000   # why a stage was moved by hand (its form is limited to it too)


# -- helpers ----------------------------------------------------------------------------------------

def _opp(ctx: Context, opp_id: int, version: int | None = None) -> Opportunity:
    return ctx.get(Opportunity, opp_id, version=version, what="opportunity")


def _label(opp: Opportunity) -> Text:
    return Text("opportunity {id} '{name}'", id=opp.id, name=opp.name)


def _refuse_closed(opp: Opportunity, doing: Text, closed=CLOSED) -> None:
    if opp.stage in closed:
        reason = _closed(doing)(opp, ())
        raise GateError(reason)


def _user_with_role(ctx: Context, field: str, login, role: Role) -> int | None:
    login = validate.text(field, login, max_len=64)
    if not login:
        return None
    user = ctx.session.exec(select(User).where(User.login == login)).first()
    if user is None:
        raise ValidationError("{field}: no user '{login}'", field=field, login=login)
    if not user.active:
        raise ValidationError("{field}: user '{login}' is not active", field=field, login=login)
    if role.value not in user.role_set:
        raise ValidationError("{field}: user '{login}' does not hold the {role} role (roles: {roles})", field=field,
                              login=login, role=code(role),
                              roles=Joined(", ", sorted(user.role_set)) if user.role_set else Text("none"))
    return user.id


def _account(ctx: Context, name: str, region: str, industry: str) -> Account:
    norm = normalise.company(name)[:200]   # the key lead conversion and duplicate checks use, cut alike
    if not norm:
        raise ValidationError("{field}: {got!r} has no letters or digits", field="account_name", got=name[:40])
    acc = ctx.session.exec(select(Account).where(Account.name_norm == norm)).first()
    if acc is None:
        acc = Account(name=name, name_norm=norm, region=region, industry=industry, created_at=ctx.now())
        ctx.audit("account.create", acc)
    return acc


# -- the opportunity's lifecycle: which action is open in which stage, and its guards -------------------

def _closed(doing: Text):
    """`doing` is what the opportunity can no longer do, as core's words: Text("be edited")."""
    return lambda opp, allowed: Text("{label} is {stage}; it can no longer {doing}", label=_label(opp),
                                     stage=code(opp.stage), doing=doing)


def _no_signed_contract(ctx: Context, opp: Opportunity) -> Text | None:
    contract = signed_contract(ctx, opp.id)
    if contract is not None:
        return Text("estimate: {label} has signed contract '{number}'; the estimate (概算) can no longer change, the "
                    "budget (预算) is the baseline now", label=_label(opp), number=contract.number)
    return None


def _open(doing: Text):
    return lambda ctx, opp: None if opp.stage not in CLOSED else _closed(doing)(opp, ())


def _ati_requestable(ctx: Context, opp: Opportunity) -> Text | None:
    missing = ati_missing(ctx, opp)
    if missing:
        return Text("ATI: {label} cannot be put to the ATI decision: {missing}", label=_label(opp),
                    missing=Joined("; ", missing))
    return None


def _ati_decidable(ctx: Context, opp: Opportunity) -> Text | None:
    if gates.pending(ctx, GateKind.ATI, SUBJECT, opp.id) is None:
        return Text("ATI: {label} has no pending ATI request to decide", label=_label(opp))
    if opp.stage not in PRE_ATI:
        return Text("ATI: {label} is {stage}; only an opportunity in initiation or on hold can be decided",
                    label=_label(opp), stage=code(opp.stage))
    return None


LIFECYCLE = register(Lifecycle("opportunity", "stage", lambda opp: _label(opp), {
    "opportunity.update": Step(OPEN_STAGES, (), _closed(Text("be edited"))),
    "opportunity.team": Step(OPEN_STAGES + (Stage.WON,), (), _closed(Text("change its team"))),
    "opportunity.guidance": Step(OPEN_STAGES, (), _closed(Text("change its guidance"))),
    "opportunity.estimate": Step((), (_no_signed_contract, _open(Text("be estimated")))),
    "ati.request": Step((), (_ati_requestable,), applies_in=PRE_ATI),
    "ati.decide": Step((), (_ati_decidable,), applies_in=PRE_ATI),
}))


def move_targets(opp: Opportunity) -> list[str]:
    """The stages a person may move the opportunity to by hand now (lost from every open stage)."""
    if opp.stage in CLOSED:
        return []
    return [s.value for s in MANUAL_MOVES.get(opp.stage, ())] + [Stage.LOST.value]


def latest_estimate(ctx: Context, opp_id: int) -> Baseline | None:
    return ctx.session.exec(select(Baseline).where(Baseline.opportunity_id == opp_id,
                                                   Baseline.kind == Calculation.ESTIMATE)
                            .order_by(Baseline.id.desc()).limit(1)).first()


def signed_contract(ctx: Context, opp_id: int) -> Contract | None:
    return ctx.session.exec(select(Contract).where(
        Contract.opportunity_id == opp_id,
        Contract.status.in_([ContractStatus.SIGNED, ContractStatus.CLOSED]))).first()


def stage_probability(stage) -> Decimal:
    """Win probability of a stage, from config/pipeline.toml [stages]."""
    raw = load("pipeline")["stages"][Stage(stage).value]
    return Decimal(str(raw))


def weighted_amount(opp: Opportunity) -> Decimal:
    """The amount weighted by its stage's probability, in cents."""
    return money(Decimal(opp.amount or 0) * stage_probability(opp.stage))   # half-up, like all money


# -- opportunity ------------------------------------------------------------------------------------

@action("opportunity.update")
def create_opportunity(ctx: Context, *, name, account_name, amount, expected_close=None, region="",
                       industry="", ar_login=None) -> int:
    """A new opportunity in INITIATION; the account is found by normalised name or created.
    The AR defaults to the person creating it when they hold the ar role."""
    name = validate.text("name", name, required=True)
    account_name = validate.text("account_name", account_name, required=True)
    amount = validate.amount("amount", amount)
    expected_close = validate.day("expected_close", expected_close, required=False)
    region = validate.text("region", region, max_len=64)
    industry = validate.text("industry", industry, max_len=64)
    if ar_login not in (None, ""):   # a wrong type is refused, not read as "no AR given"
        ar_id = _user_with_role(ctx, "ar_login", ar_login, Role.AR)
    else:
        ar_id = ctx.actor.id if Role.AR.value in (ctx.current_roles() or ()) else None
    acc = _account(ctx, account_name, region, industry)
    opp = Opportunity(name=name, account_id=acc.id, amount=amount, expected_close=expected_close, region=region,
                      industry=industry, ar_id=ar_id, stage=Stage.INITIATION, stage_since=ctx.now(),
                      created_at=ctx.now())
    ctx.audit("opportunity.create", opp)
    return opp.id


@action("opportunity.update")
def update_opportunity(ctx: Context, opp_id: int, *, version: int | None = None, name=None, amount=None,
                       expected_close=None, region=None, industry=None) -> None:
    """Edit the basics; None leaves a field as it is. Refused once won, lost or killed."""
    opp = _opp(ctx, opp_id, version)
    LIFECYCLE.require(ctx, "opportunity.update", opp)
    given = {}
    with validate.Collect() as check:   # every bad field refused at once, nothing changed
        if name is not None:
            given["name"] = check(validate.text, "name", name, required=True)
        if amount is not None:
            given["amount"] = check(validate.amount, "amount", amount)
        if expected_close is not None:
            given["expected_close"] = check(validate.day, "expected_close", expected_close, required=False)
        if region is not None:
            given["region"] = check(validate.text, "region", region, max_len=64)
        if industry is not None:
            given["industry"] = check(validate.text, "industry", industry, max_len=64)
    changes = {k: v for k, v in given.items() if getattr(opp, k) != v}
    if not changes:
        return   # nothing changed: no new version, no audit record
    before = snapshot(opp)
    for k, v in changes.items():
        setattr(opp, k, v)
    ctx.audit("opportunity.update", opp, before=before)


@action("opportunity.team")
def set_team(ctx: Context, opp_id: int, *, ar_login, sr_login, fr_login, version: int | None = None) -> None:
    """Assign the iron triangle (铁三角); an empty login leaves that seat unassigned. Each person must be an
    active user holding the seat's role. Allowed after WON too: the team owns the deal until cash."""
    opp = _opp(ctx, opp_id, version)
    LIFECYCLE.require(ctx, "opportunity.team", opp)
    ar_id = _user_with_role(ctx, "ar_login", ar_login, Role.AR)
    sr_id = _user_with_role(ctx, "sr_login", sr_login, Role.SR)
    fr_id = _user_with_role(ctx, "fr_login", fr_login, Role.FR)
    before = snapshot(opp)
    opp.ar_id, opp.sr_id, opp.fr_id = ar_id, sr_id, fr_id
    ctx.audit("opportunity.team", opp, before=before)


@action("opportunity.guidance")
def set_guidance(ctx: Context, opp_id: int, *, pain_points, value_proposition, version: int | None = None) -> None:
    opp = _opp(ctx, opp_id, version)
    LIFECYCLE.require(ctx, "opportunity.guidance", opp)
    before = snapshot(opp)
    opp.pain_points = validate.text("pain_points", pain_points, max_len=4000)
    opp.value_proposition = validate.text("value_proposition", value_proposition, max_len=4000)
    ctx.audit("opportunity.guidance", opp, before=before)


# -- decision chain (stakeholders) ------------------------------------------------------------------

@action("opportunity.guidance")
def add_stakeholder(ctx: Context, opp_id: int, *, name, title="", chain_role="", stance=Stance.UNKNOWN) -> int:
    opp = _opp(ctx, opp_id)
    _refuse_closed(opp, Text("change its decision chain"))
    row = Stakeholder(opportunity_id=opp.id, name=validate.text("name", name, required=True),
                      title=validate.text("title", title),
                      chain_role=validate.text("chain_role", chain_role, max_len=100),
                      stance=validate.choice("stance", stance, Stance, default=Stance.UNKNOWN))
    ctx.audit("stakeholder.create", row)
    return row.id


def _stakeholder(ctx: Context, stakeholder_id: int, version: int | None) -> tuple[Stakeholder, Opportunity]:
    row = ctx.get(Stakeholder, stakeholder_id, version=version, what="stakeholder")
    opp = _opp(ctx, row.opportunity_id)
    _refuse_closed(opp, Text("change its decision chain"))
    return row, opp


@action("opportunity.guidance")
def update_stakeholder(ctx: Context, stakeholder_id: int, *, version: int | None = None, name=None, title=None,
                       chain_role=None, stance=None) -> None:
    row, _ = _stakeholder(ctx, stakeholder_id, version)
    before = snapshot(row)
    if name is not None:
        row.name = validate.text("name", name, required=True)
    if title is not None:
        row.title = validate.text("title", title)
    if chain_role is not None:
        row.chain_role = validate.text("chain_role", chain_role, max_len=100)
    if stance is not None:
        row.stance = validate.choice("stance", stance, Stance)
    ctx.audit("stakeholder.update", row, before=before)


@action("opportunity.guidance")
def remove_stakeholder(ctx: Context, stakeholder_id: int, *, version: int | None = None) -> None:
    row, _ = _stakeholder(ctx, stakeholder_id, version)
    before = snapshot(row)
    ctx.session.delete(row)
    ctx.session.flush()
    ctx.audit("stakeholder.remove", entity="stakeholder", entity_id=stakeholder_id, before=before)


# -- estimate (概算) ----------------------------------------------------------------------------------

@action("opportunity.estimate")
def set_estimate(ctx: Context, opp_id: int, *, revenue, cost, note="") -> int:
    """Record a new estimate baseline (the newest counts). Refused once a contract is signed: from then on
    the budget (预算) made at signing is the baseline."""
    opp = _opp(ctx, opp_id)
    revenue = validate.amount("revenue", revenue)
    cost = validate.amount("cost", cost, allow_zero=True)
    note = validate.text("note", note, max_len=500)
    LIFECYCLE.require(ctx, "opportunity.estimate", opp)
    row = Baseline(opportunity_id=opp.id, kind=Calculation.ESTIMATE, revenue=revenue, cost=cost, note=note,
                   created_at=ctx.now())
    ctx.audit("opportunity.estimate", row)
    return row.id


# -- ATI gate (立项决策) -------------------------------------------------------------------------------

def _ati_prerequisites(ctx: Context, opp: Opportunity) -> list[Text]:
    missing = []
    seats = [seat for seat, uid in (("AR", opp.ar_id), ("SR", opp.sr_id), ("FR", opp.fr_id)) if uid is None]
    if seats:
        missing.append(Text("iron triangle incomplete (no {seats})", seats=Joined(", ", seats)))
    if latest_estimate(ctx, opp.id) is None:
        missing.append(Text("no estimate (概算)"))
    return missing


def ati_missing(ctx: Context, opp: Opportunity) -> list[Text]:
    """What still stands between this opportunity and an ATI request (empty when it may be requested), each
    in core's words."""
    missing = _ati_prerequisites(ctx, opp)
    if opp.stage not in PRE_ATI:
        missing.append(Text("stage is {stage}, not initiation or on hold", stage=code(opp.stage)))
    if gates.pending(ctx, GateKind.ATI, SUBJECT, opp.id) is not None:
        missing.append(Text("an ATI request is already pending"))
    return missing


@action("ati.request")
def request_ati(ctx: Context, opp_id: int) -> int:
    """Ask the leader for the ATI decision; returns the GateDecision id."""
    opp = _opp(ctx, opp_id)
    LIFECYCLE.require(ctx, "ati.request", opp)
    gate = approvals.ask(ctx, GateKind.ATI, SUBJECT, opp.id, approvals.deal_facts(ctx, opp.id, opp.amount))
    return gate.id   # the first step of the path (config/approvals.toml: a leader)


@action("ati.decide")
def decide_ati(ctx: Context, opp_id: int, decision, *, rationale, review_date=None) -> None:
    """go -> GUIDANCE, kill -> KILLED, hold -> ON_HOLD until review_date (required, after today)."""
    opp = _opp(ctx, opp_id)
    choice = gates.parse_decision(GateKind.ATI, decision)
    with validate.Collect() as check:
        rationale = check(validate.text, "rationale", rationale, max_len=4000, required=True)
        review = check(validate.day, "review_date", review_date, required=False)
    if choice == Decision.HOLD:
        if review is None:
            raise ValidationError("{field}: a hold needs a review date", field="review_date")
        if review <= ctx.today():
            raise ValidationError("{field}: must be after today ({today:%Y-%m-%d}); got {got:%Y-%m-%d}",
                                  field="review_date", today=ctx.today(), got=review)
    else:
        review = None
    LIFECYCLE.require(ctx, "ati.decide", opp)
    gate = approvals.next_step(ctx, GateKind.ATI, SUBJECT, opp.id)
    if choice == Decision.GO:   # the team may have been changed since the request
        missing = _ati_prerequisites(ctx, opp)
        if missing:
            raise GateError("ATI: {label} cannot get a go: {missing}", label=_label(opp), missing=Joined("; ", missing))
    gates.decide(ctx, gate, choice, rationale=rationale, review_date=review)
    if not approvals.settled(ctx, gate):   # a go with steps still to come: the opportunity waits for them
        return
    before = snapshot(opp)
    opp.hold_review_on = review
    target = {Decision.GO: Stage.GUIDANCE, Decision.KILL: Stage.KILLED, Decision.HOLD: Stage.ON_HOLD}[choice]
    ctx.move(opp, "stage", target)
    ctx.audit(f"ati.{choice.value}", opp, before=before)


# -- stage moves ------------------------------------------------------------------------------------

@action("opportunity.update")
def advance_stage(ctx: Context, opp_id: int, to_stage, version: int | None = None, *, reason: str = "") -> None:
    """A manual stage move after ATI go, or LOST (with a reason) from any open stage."""
    opp = _opp(ctx, opp_id, version)
    to = validate.choice("to_stage", to_stage, Stage)
    if opp.stage in CLOSED:
        raise GateError("stage: {label} is {stage}; a {stage} opportunity does not move", label=_label(opp),
                        stage=code(opp.stage))
    if to == opp.stage:
        raise GateError("stage: {label} is already {to}", label=_label(opp), to=code(to))
    if to == Stage.WON:
        raise GateError("stage: {label} becomes won only when its contract is signed", label=_label(opp))
    if to == Stage.LOST:
        return _mark_lost(ctx, opp, reason)
    if to in (Stage.KILLED, Stage.ON_HOLD, Stage.INITIATION):
        raise GateError("stage: {to} is set by the ATI decision, not moved to by hand", to=code(to))
    if opp.stage in PRE_ATI:
        raise GateError("stage: {label} is {stage}; it needs an ATI go decision before it can move to {to}",
                        label=_label(opp), stage=code(opp.stage), to=code(to))
    if to not in MANUAL_MOVES.get(opp.stage, ()):
        moves = [s.value for s in MANUAL_MOVES.get(opp.stage, ())]
        raise GateError("stage: {label} cannot move from {stage} to {to} (allowed: {allowed}, or lost)",
                        label=_label(opp), stage=code(opp.stage), to=code(to),
                        allowed=Joined(", ", moves) if moves else Text("none"))
    before = snapshot(opp)
    ctx.move(opp, "stage", to)
    ctx.audit("opportunity.stage", opp, before=before)


def _mark_lost(ctx: Context, opp: Opportunity, reason) -> None:
    reason = validate.text("reason", reason, max_len=MOVE_REASON_MAX, required=True)
    if gates.pending(ctx, GateKind.ATI, SUBJECT, opp.id) is not None:
        raise GateError("stage: {label} has an ATI request pending; the leader decides it (kill) first",
                        label=_label(opp))
    bids = ctx.session.exec(select(Bid).where(Bid.opportunity_id == opp.id, Bid.status.in_(OPEN_BID))).all()
    waiting = [b for b in bids if b.status in (BidStatus.SUBMITTED, BidStatus.ATB_PENDING)]
    if waiting:
        b = waiting[0]
        todo = Text("record its result") if b.status == BidStatus.SUBMITTED else \
            Text("the leader decides its ATB first")
        raise GateError("stage: {label} has bid {id} '{title}' {status}; {todo}", label=_label(opp), id=b.id,
                        title=b.title, status=code(b.status), todo=todo)
    for bid in bids:   # drafts and approved bids never submitted: closed with the opportunity
        before = snapshot(bid)
        bid.loss_reason = f"not submitted: opportunity lost ({reason})"[:1000]
        ctx.move(bid, "status", BidStatus.LOST)
        ctx.audit("bid.withdrawn", bid, before=before)
    before = snapshot(opp)
    opp.lost_reason = reason
    ctx.move(opp, "stage", Stage.LOST)
    ctx.audit("opportunity.lost", opp, before=before)


# -- queries ----------------------------------------------------------------------------------------

def holds_past_review(ctx: Context, as_of: date | None = None) -> list[int]:
    """Opportunities on hold whose review date has come (on or before `as_of`, default today)."""
    as_of = as_of or ctx.today()
    return list(ctx.session.exec(select(Opportunity.id).where(
        Opportunity.stage == Stage.ON_HOLD, Opportunity.hold_review_on <= as_of)
        .order_by(Opportunity.hold_review_on, Opportunity.id)).all())
