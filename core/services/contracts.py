"""Negotiation and contract (谈判与签约): drafts, payment terms, the ATC gate, signing and change orders.

ATC and change orders are reviewed by legal and finance, one GateDecision row each (core.gates). A
contract for less than its won bid's approved floor also needs a leader's ATC review, whose row names both
figures. A contract is signed only when the newest row of every review it needs approves (the leader's for
the amount as it is now) and its active payment terms add up to the contract amount exactly. Signing
releases the signing terms, creates the budget (预算) baseline and marks the opportunity won. A change order
replaces the unreleased terms (released ones stay: they may already be invoiced) and re-baselines the budget.
"""
from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import select

from core import approvals, gates, scope, validate
from core.calculations import ZERO, active_terms, latest_baseline
from core.context import Context, snapshot
from core.db import max_length
from core.enums import (BidStatus, Calculation, ChangeStatus, ContractStatus, Decision, GateKind, MilestoneStatus,
                        Stage, Trigger)
from core.errors import AmountError, DuplicateError, GateError, ValidationError
from core.lifecycle import Lifecycle, Step, register
from core.messages import Joined, Text, code
from core.models import Baseline, Bid, ChangeOrder, Contract, Milestone, Opportunity, PaymentTerm
from core.services import action
from core.types import CENT, fmt_money

REVIEWERS = ("legal", "finance")                  # ATC and change orders: one review each
ATC_REVIEWS = REVIEWERS + ("leader",)             # ATC's and a change order's: the leader's where the path asks
PAST_ATI = (Stage.GUIDANCE, Stage.BIDDING, Stage.NEGOTIATION)
EDITABLE = (ContractStatus.DRAFT, ContractStatus.ATC_PENDING)
PLANNABLE = (ContractStatus.DRAFT, ContractStatus.ATC_PENDING, ContractStatus.SIGNED)   # milestones planned
MAX_PLAN_JSON = max_length(ChangeOrder.__table__.c.new_terms_json)


# -- shared checks ---------------------------------------------------------------------------------

def label(contract: Contract) -> Text:
    return Text("contract '{number}'", number=contract.number)


def wrong_status(contract: Contract, allowed, doing: Text) -> Text:
    """"contract 'X' is signed; <doing> only while it is draft or atc_pending"; `doing` as core's words."""
    return Text("{label} is {status}; {doing} only while it is {names}", label=label(contract),
                status=code(contract.status), doing=doing, names=Joined(" or ", (code(s) for s in allowed)))


def id_by_number(ctx: Context, number: str, *, field: str = "contract") -> int:
    """The id of the contract with this number (sheets and commands name contracts by number); one outside the
    person's data scope is no contract of that number, as if it did not exist."""
    cid = ctx.session.exec(scope.narrow(select(Contract.id).where(Contract.number == str(number).strip()),
                                        Contract.id, scope.contracts(ctx))).first()
    if cid is None:
        raise ValidationError("{field}: no contract numbered {number!r}", field=field, number=str(number)[:64])
    return cid


def require_status(contract: Contract, allowed, doing: Text) -> None:
    if contract.status not in allowed:
        reason = wrong_status(contract, allowed, doing)
        raise GateError(reason)


def not_future(ctx: Context, field: str, value, *, default: date | None = None) -> date:
    """A business date that defaults to today and may not lie in the future."""
    d = validate.day(field, value, required=False) or default or ctx.today()
    if d > ctx.today():
        raise ValidationError("{field}: {got} is in the future (today is {today})", field=field, got=d.isoformat(),
                              today=ctx.today().isoformat())
    return d


def passed_ati(ctx: Context, opp: Opportunity) -> bool:
    row = gates.latest(ctx, GateKind.ATI, "opportunity", opp.id)
    return row is not None and row.decision == Decision.GO


# -- payment terms ---------------------------------------------------------------------------------

def parse_terms(ctx: Context, contract: Contract, terms, *, base: Decimal, target: Decimal) -> list[dict]:
    """Validate a payment plan. Percent terms are percent × `base` (the contract amount); when the plan adds
    up to `target` exactly before rounding, the rounding remainder goes on the last percent term so the
    rounded amounts add up exactly too."""
    if not isinstance(terms, (list, tuple)):
        raise ValidationError("{field}: a list of payment terms is required", field="terms")
    out: list[dict] = []
    exact_total = Decimal(0)
    for i, raw in enumerate(terms, start=1):
        if not isinstance(raw, dict):
            raise ValidationError("{field}: term {i} is not a set of fields", field="terms", i=i)
        where = f"term {i}"
        name = validate.text(f"{where} name", raw.get("name"), required=True)
        has_pct = raw.get("percent") not in (None, "")
        has_amt = raw.get("amount") not in (None, "")
        if has_pct == has_amt:
            raise ValidationError("term {i} '{name}': give either a percent or an amount, not {which}", field="terms",
                                  i=i, name=name, which=Text("both") if has_pct else Text("neither"))
        trigger = validate.choice(f"{where} trigger", raw.get("trigger"), Trigger)
        percent = validate.ratio(f"{where} percent", raw["percent"]) if has_pct else None
        exact = percent * base if has_pct else validate.amount(f"{where} amount", raw["amount"])
        exact_total += exact
        milestone_id = validate.whole(f"{where} milestone_id", raw.get("milestone_id"), lo=1, hi=2**62)
        if trigger == Trigger.ACCEPTANCE:
            if milestone_id is None:
                raise ValidationError("term {i} '{name}': an acceptance term needs its milestone", field="terms", i=i,
                                      name=name)
            ms = ctx.session.get(Milestone, milestone_id)
            if ms is None or ms.contract_id != contract.id:
                raise ValidationError("term {i} '{name}': milestone {milestone} is not a milestone of {label}",
                                      field="terms", i=i, name=name, milestone=milestone_id, label=label(contract))
        elif milestone_id is not None:
            raise ValidationError("term {i} '{name}': only an acceptance term has a milestone (this one triggers on "
                                  "{trigger})", field="terms", i=i, name=name, trigger=trigger.value)
        due_days = validate.whole(f"{where} due_days", raw.get("due_days"), lo=0, hi=365)
        out.append(dict(name=name, percent=percent, amount=exact.quantize(CENT, ROUND_HALF_UP), trigger=trigger,
                        milestone_id=milestone_id, due_days=30 if due_days is None else due_days))
    pct_terms = [t for t in out if t["percent"] is not None]
    if pct_terms and exact_total == target:
        pct_terms[-1]["amount"] += target - sum((t["amount"] for t in out), ZERO)
    for t in out:
        if t["amount"] <= 0:
            raise ValidationError("term '{name}': amount must be more than zero", field="terms", name=t["name"])
    return out


def terms_to_json(plan: list[dict] | None) -> str:
    if plan is None:
        return "null"
    return json.dumps([{**t, "percent": None if t["percent"] is None else str(t["percent"]),
                        "amount": str(t["amount"]), "trigger": t["trigger"].value} for t in plan])


def terms_from_json(raw: str) -> list[dict] | None:
    data = json.loads(raw or "null")
    if data is None:
        return None
    return [{**t, "percent": None if t["percent"] is None else Decimal(t["percent"]),
             "amount": Decimal(t["amount"]), "trigger": Trigger(t["trigger"])} for t in data]


def _not_adding_up(contract: Contract, amounts: list[Decimal]) -> Text | None:
    total = sum(amounts, ZERO)
    if not amounts or total != contract.amount:
        return Text("payment terms of {label} add up to {total}, not the contract amount {amount} ({count} term(s))",
                    label=label(contract), total=fmt_money(total), amount=fmt_money(contract.amount),
                    count=len(amounts))
    return None


def _require_total(contract: Contract, amounts: list[Decimal]) -> Decimal:
    reason = _not_adding_up(contract, amounts)
    if reason:
        raise AmountError(reason)
    return sum(amounts, ZERO)


def _add_terms(ctx: Context, contract: Contract, plan: list[dict], action_name: str) -> list[PaymentTerm]:
    seq = ctx.session.exec(select(func.max(PaymentTerm.seq)).where(PaymentTerm.contract_id == contract.id)).one()
    rows = []
    for i, t in enumerate(plan, start=(seq or 0) + 1):
        row = PaymentTerm(contract_id=contract.id, seq=i, **t)
        ctx.audit(action_name, row)
        rows.append(row)
    return rows


def below_floor(ctx: Context, contract: Contract) -> tuple[Bid, Decimal] | None:
    """(the won bid, its approved floor) when the contract is for less than that floor, else None."""
    bid = ctx.session.exec(select(Bid).where(Bid.opportunity_id == contract.opportunity_id,
                                             Bid.status == BidStatus.WON, Bid.price_floor != None)  # noqa: E711
                           .order_by(Bid.result_on.desc(), Bid.id.desc())).first()
    if bid is None or bid.price_floor is None or contract.amount >= bid.price_floor:
        return None
    return bid, bid.price_floor


def atc_facts(ctx: Context, contract: Contract) -> dict:
    """What the ATC approval path is chosen by (config/approvals.toml): the amount, the margin it leaves over the
    estimated cost, the deal's region, and whether it is below the won bid's floor."""
    return {**approvals.deal_facts(ctx, contract.opportunity_id, contract.amount),
            "below_floor": below_floor(ctx, contract) is not None}


def atc_path(ctx: Context, contract: Contract) -> list[str]:
    """The steps of the contract's ATC, in order (legal and finance; a leader's after them where the path asks)."""
    return [s.key for s in approvals.path(GateKind.ATC, atc_facts(ctx, contract))]


def _request_atc_reviews(ctx: Context, contract: Contract, rationale: str = "") -> None:
    """Ask for the reviews the contract's ATC path needs (config/approvals.toml): legal and finance, and a
    leader's after them below the won bid's floor, above the amount threshold or under the margin rate."""
    under = below_floor(ctx, contract)
    for role in atc_path(ctx, contract):
        # a review left pending (by a rejected round, or before an edit) simply carries on; a leader's pending
        # request follows the amount (the leader approves an amount, not a contract)
        waiting = gates.pending(ctx, GateKind.ATC, "contract", contract.id, role)
        if waiting is not None:
            if role == "leader" and waiting.amount != contract.amount:
                before = snapshot(waiting)
                waiting.amount = contract.amount
                ctx.audit("atc.request", waiting, before=before)
            continue
        if role == "leader" and under is not None:   # the row names both figures: what is asked and the floor
            bid, floor = under
            gates.request(ctx, GateKind.ATC, "contract", contract.id, reviewer_role=role, amount=contract.amount,
                          price_floor=floor, rationale=(f"{rationale + '; ' if rationale else ''}amount "
                                                        f"{fmt_money(contract.amount)} is below the approved floor "
                                                        f"{fmt_money(floor)} of won bid {bid.id} '{bid.title}'"))
        elif role == "leader":   # the path asks for a leader for the amount or the margin
            gates.request(ctx, GateKind.ATC, "contract", contract.id, reviewer_role=role, amount=contract.amount,
                          rationale=(f"{rationale + '; ' if rationale else ''}amount {fmt_money(contract.amount)}: "
                                     "the approval path asks for a leader after legal and finance"))
        else:
            gates.request(ctx, GateKind.ATC, "contract", contract.id, reviewer_role=role, rationale=rationale)


def _reset_atc(ctx: Context, contract: Contract) -> None:
    """Terms or amount edited while ATC is pending: an approval given on the old text no longer counts."""
    if contract.status != ContractStatus.ATC_PENDING:
        return
    _request_atc_reviews(ctx, contract, "terms edited after the review: review again")


# -- the contract's and the change order's lifecycles: which action starts from which status, and its guards --

def only_while(doing: Text):
    """The wrong-status message require_status gives: "contract 'X' is signed; <doing> only while it is ..."."""
    def wrong(contract: Contract, allowed) -> Text:
        return wrong_status(contract, allowed, doing)
    return wrong


def _atc_request_wrong(contract: Contract, allowed) -> Text:
    if contract.status == ContractStatus.ATC_PENDING:
        return Text("ATC: {label} already awaits its legal and finance review", label=label(contract))
    return only_while(Text("ATC is requested"))(contract, allowed)


def _sign_wrong(contract: Contract, allowed) -> Text:
    if contract.status == ContractStatus.DRAFT:
        return Text("ATC: {label} cannot be signed before ATC is requested and approved by legal and finance",
                    label=label(contract))
    return only_while(Text("it may be signed"))(contract, allowed)


def _terms_add_up(ctx: Context, contract: Contract) -> Text | None:
    return _not_adding_up(contract, [t.amount for t in active_terms(ctx.session, contract.id)])


def _atc_review_open(role: str):
    def guard(ctx: Context, contract: Contract) -> Text | None:
        row = gates.pending(ctx, GateKind.ATC, "contract", contract.id, role)
        if row is None:
            done = gates.latest(ctx, GateKind.ATC, "contract", contract.id, role)
            return Text("ATC: the {role} review of {label} is already decided ({decision})", role=code(role),
                        label=label(contract), decision=code(done.decision) if done else Text("not requested"))
        waiting = approvals.waiting_for(ctx, row)
        if waiting:
            return Text("ATC: the {role} review of {label} waits for {steps} to approve first", role=code(role),
                        label=label(contract), steps=Joined(", ", (code(s) for s in waiting)))
        return None
    return guard


def _atc_approved(ctx: Context, contract: Contract) -> Text | None:
    state = review_state(ctx, GateKind.ATC, "contract", contract.id)
    if any(state[role] != Decision.APPROVE.value for role in REVIEWERS):
        return Text("ATC: {label} is signed only after legal and finance both approve (legal: {legal}, finance: "
                    "{finance})", label=label(contract), legal=state["legal"], finance=state["finance"])
    under = below_floor(ctx, contract)
    if "leader" not in atc_path(ctx, contract):
        return None
    row = gates.latest(ctx, GateKind.ATC, "contract", contract.id, "leader")
    if row is not None and row.decision == Decision.APPROVE and row.amount == contract.amount:
        return None
    leader = code(row.decision) if row else Text("not requested")
    if under is not None:
        bid, floor = under
        return Text("ATC: {label} at {amount} is below the approved floor {floor} of won bid {bid} '{title}'; a "
                    "leader approves the lower amount first (leader review: {state})", label=label(contract),
                    amount=fmt_money(contract.amount), floor=fmt_money(floor), bid=bid.id, title=bid.title,
                    state=leader)
    return Text("ATC: {label} at {amount} needs a leader's approval after legal and finance (leader review: "
                "{state})", label=label(contract), amount=fmt_money(contract.amount), state=leader)


def _opp_can_win(ctx: Context, contract: Contract) -> Text | None:
    opp = ctx.get(Opportunity, contract.opportunity_id, what="opportunity")
    if opp.stage not in PAST_ATI + (Stage.WON,):
        return Text("{label}: its opportunity '{name}' is {stage}; it cannot be won", label=label(contract),
                    name=opp.name, stage=code(opp.stage))
    return None


def _no_pending_change(ctx: Context, contract: Contract) -> Text | None:
    open_ = ctx.session.exec(select(ChangeOrder).where(ChangeOrder.contract_id == contract.id,
                                                       ChangeOrder.status == ChangeStatus.PENDING)).first()
    if open_ is not None:
        return Text("change order: {label} already has change order '{number}' awaiting review; decide that one "
                    "first", label=label(contract), number=open_.number)
    return None


def retention_released(contract: Contract) -> Text:
    return Text("{label}: its warranty ended on {ended} and the retention is released; no milestone can be added",
                label=label(contract), ended=contract.warranty_ends_on.isoformat() if contract.warranty_ends_on else "")


def _retention_not_released(ctx: Context, contract: Contract) -> Text | None:
    if contract.warranty_ends_on is not None:
        warranty = [t for t in active_terms(ctx.session, contract.id) if t.trigger == Trigger.WARRANTY]
        if any(t.released_on for t in warranty):
            return retention_released(contract)
    return None


def _warranty_running(ctx: Context, contract: Contract) -> Text | None:
    if contract.warranty_ends_on is None:
        return Text("warranty: {label} has no warranty end yet; it starts when every milestone is finally accepted",
                    label=label(contract))
    return None


MILESTONES_PLANNED = Text("milestones are planned")
CHANGE_REASON_MAX = 2000   # a change order's reason (its form is limited to it too)
LIFECYCLE = register(Lifecycle("contract", "status", label, {
    "contract.draft": Step(EDITABLE, (), only_while(Text("its draft may be edited"))),     # edit the draft
    "contract.terms": Step(EDITABLE, (), only_while(Text("payment terms are set"))),
    "milestone.plan": Step(PLANNABLE, (_retention_not_released,), only_while(MILESTONES_PLANNED)),
    "atc.request": Step((ContractStatus.DRAFT,), (_terms_add_up,), _atc_request_wrong),
    "atc.review_legal": Step((ContractStatus.ATC_PENDING,), (_atc_review_open("legal"),),
                             only_while(Text("ATC is reviewed by legal"))),
    "atc.review_finance": Step((ContractStatus.ATC_PENDING,), (_atc_review_open("finance"),),
                               only_while(Text("ATC is reviewed by finance"))),
    "atc.review_leader": Step((ContractStatus.ATC_PENDING,), (_atc_review_open("leader"),),
                              only_while(Text("ATC is reviewed by a leader")),
                              applies_if=lambda ctx, c: "leader" in atc_path(ctx, c)),
    "contract.sign": Step((ContractStatus.ATC_PENDING,), (_atc_approved, _terms_add_up, _opp_can_win), _sign_wrong,
                          applies_in=EDITABLE),   # shown ahead of signing (disabled, saying why), not after it
    "change.request": Step((ContractStatus.SIGNED,), (_no_pending_change,),
                           only_while(Text("a change order may be requested"))),
    "warranty.set": Step((ContractStatus.SIGNED,), (_warranty_running, _retention_not_released),
                         only_while(Text("the warranty end is set"))),
}))

AMOUNT_GUARDS = (_terms_add_up,)   # a plan that does not add up is an amount error, not a gate


def require(ctx: Context, action_name: str, contract: Contract) -> None:
    """LIFECYCLE.require, refusing a plan that does not add up as the AmountError it is."""
    reason = LIFECYCLE.why_not(ctx, action_name, contract)
    if reason is None:
        return
    if any(guard(ctx, contract) == reason for guard in AMOUNT_GUARDS):
        raise AmountError(reason)
    raise GateError(reason)


def change_label(change: ChangeOrder) -> Text:
    return Text("change order '{number}'", number=change.number)


def _change_wrong(change: ChangeOrder, allowed) -> Text:
    return Text("{label} is already {status}", label=change_label(change), status=code(change.status))


def _change_review_open(role: str):
    def guard(ctx: Context, change: ChangeOrder) -> Text | None:
        row = gates.pending(ctx, GateKind.CHANGE_ORDER, "change_order", change.id, role)
        if row is None:
            return Text("{label}: the {role} review is already decided", label=change_label(change), role=code(role))
        waiting = approvals.waiting_for(ctx, row)
        if waiting:
            return Text("{label}: the {role} review waits for {steps} to approve first", label=change_label(change),
                        role=code(role), steps=Joined(", ", (code(s) for s in waiting)))
        return None
    return guard


CHANGE_LIFECYCLE = register(Lifecycle("change_order", "status", change_label, {
    "change.review_legal": Step((ChangeStatus.PENDING,), (_change_review_open("legal"),), _change_wrong),
    "change.review_finance": Step((ChangeStatus.PENDING,), (_change_review_open("finance"),), _change_wrong),
    "change.review_leader": Step((ChangeStatus.PENDING,), (_change_review_open("leader"),), _change_wrong,
                                 applies_if=lambda ctx, ch: gates.latest(ctx, GateKind.CHANGE_ORDER, "change_order",
                                                                         ch.id, "leader") is not None),
}))


# -- contract --------------------------------------------------------------------------------------

@action("contract.draft")
def draft_contract(ctx: Context, opp_id: int, *, number: str, name: str, amount, scope: str = "",
                   warranty_months: int = 12) -> int:
    number = validate.text("number", number, max_len=64, required=True)
    name = validate.text("name", name, required=True)
    amount = validate.amount("amount", amount)
    scope = validate.text("scope", scope, max_len=4000)
    warranty_months = validate.whole("warranty_months", warranty_months, lo=0, hi=240, required=True)
    opp = ctx.get(Opportunity, opp_id, what="opportunity")
    if opp.stage not in PAST_ATI or not passed_ati(ctx, opp):
        raise GateError("ATI: opportunity '{name}' is {stage}; a contract is drafted only after an ATI go, while in "
                        "guidance, bidding or negotiation", name=opp.name, stage=opp.stage.value)
    if ctx.session.exec(select(Contract.id).where(Contract.number == number)).first() is not None:
        raise DuplicateError("{field}: contract number '{number}' is already used", field="number", number=number)
    contract = Contract(number=number, name=name, opportunity_id=opp.id, account_id=opp.account_id, amount=amount,
                        scope=scope, warranty_months=warranty_months, status=ContractStatus.DRAFT)
    ctx.audit("contract.draft", contract)
    return contract.id


@action("contract.draft")
def update_contract(ctx: Context, contract_id: int, *, version: int | None = None, name: str | None = None,
                    amount=None, scope: str | None = None, warranty_months: int | None = None) -> None:
    """Edit a contract before signing; percent terms follow a new amount and pending ATC reviews restart."""
    contract = ctx.get(Contract, contract_id, version=version)
    require(ctx, "contract.draft", contract)
    before = snapshot(contract)
    if name is not None:
        contract.name = validate.text("name", name, required=True)
    if scope is not None:
        contract.scope = validate.text("scope", scope, max_len=4000)
    if warranty_months is not None:   # '' is not None: refused like any other non-number, never stored as NULL
        contract.warranty_months = validate.whole("warranty_months", warranty_months, lo=0, hi=240, required=True)
    if amount is not None:
        new_amount = validate.amount("amount", amount)
        if new_amount != contract.amount:
            contract.amount = new_amount
            old = active_terms(ctx.session, contract.id)
            plan = parse_terms(ctx, contract, [_term_input(t) for t in old], base=new_amount, target=new_amount)
            for row, t in zip(old, plan):
                row_before = snapshot(row)
                row.amount = t["amount"]
                ctx.audit("contract.terms", row, before=row_before)
    ctx.audit("contract.update", contract, before=before)
    _reset_atc(ctx, contract)


def _term_input(t: PaymentTerm) -> dict:
    return dict(name=t.name, percent=t.percent, amount=None if t.percent is not None else t.amount,
                trigger=t.trigger, milestone_id=t.milestone_id, due_days=t.due_days)


@action("contract.terms")
def set_payment_terms(ctx: Context, contract_id: int, terms: list[dict], version: int | None = None, *,
                      complete: bool = False) -> list[int]:
    """Replace the draft's payment plan. Each term: name, percent OR amount, trigger (signing, acceptance,
    warranty), milestone_id (acceptance only), due_days. Returns the new term ids.
    A plan may be built up in steps (ATC checks the total); `complete=True` (a page saving a whole plan at
    once) refuses one that does not add up to the contract amount."""
    contract = ctx.get(Contract, contract_id, version=version)
    require(ctx, "contract.terms", contract)
    plan = parse_terms(ctx, contract, terms, base=contract.amount, target=contract.amount)
    if complete:
        _require_total(contract, [t["amount"] for t in plan])
    for old in ctx.session.exec(select(PaymentTerm).where(PaymentTerm.contract_id == contract.id)).all():
        # a draft's terms were never released or invoiced, so replacing them loses nothing
        ctx.audit("contract.terms", entity="paymentterm", entity_id=old.id, before=snapshot(old))
        ctx.session.delete(old)
    ctx.session.flush()
    rows = _add_terms(ctx, contract, plan, "contract.terms")
    # the plan is part of the contract: bump its version so a second editor working from the old one is refused
    flag_modified(contract, "amount")
    ctx.audit("contract.terms", contract, before=snapshot(contract))
    _reset_atc(ctx, contract)
    return [r.id for r in rows]


@action("atc.request")
def request_atc(ctx: Context, contract_id: int) -> None:
    contract = ctx.get(Contract, contract_id)
    require(ctx, "atc.request", contract)   # a draft whose terms add up
    _request_atc_reviews(ctx, contract)
    before = snapshot(contract)
    ctx.move(contract, "status", ContractStatus.ATC_PENDING)
    ctx.audit("atc.request", contract, before=before)


def _review_atc(ctx: Context, contract_id: int, decision, rationale: str, role: str) -> int:
    decision = gates.parse_decision(GateKind.ATC, decision)
    rationale = validate.text("rationale", rationale, max_len=4000, required=True)
    contract = ctx.get(Contract, contract_id)
    require(ctx, f"atc.review_{role}", contract)   # awaiting ATC, this review still pending
    row = gates.pending(ctx, GateKind.ATC, "contract", contract.id, role)
    gates.decide(ctx, row, decision, rationale=rationale)
    if decision == Decision.REJECT:
        before = snapshot(contract)
        ctx.move(contract, "status", ContractStatus.DRAFT)
        ctx.audit("atc.reject", contract, before=before)
    return row.id


@action("atc.review_legal")
def review_atc_legal(ctx: Context, contract_id: int, decision, *, rationale: str) -> int:
    return _review_atc(ctx, contract_id, decision, rationale, "legal")


@action("atc.review_finance")
def review_atc_finance(ctx: Context, contract_id: int, decision, *, rationale: str) -> int:
    return _review_atc(ctx, contract_id, decision, rationale, "finance")


@action("atc.review_leader")
def review_atc_leader(ctx: Context, contract_id: int, decision, *, rationale: str) -> int:
    """A contract below its won bid's approved floor: the leader approves (or rejects) the lower amount."""
    return _review_atc(ctx, contract_id, decision, rationale, "leader")


def review_atc(ctx: Context, contract_id: int, decision, *, rationale: str) -> int:
    """The actor's role picks the review: legal or finance, each checked by its own action. Someone holding
    both roles reviews whichever is still pending, legal first."""
    roles = ctx.current_roles() or frozenset()
    if "finance" in roles and ("legal" not in roles
                               or gates.pending(ctx, GateKind.ATC, "contract", contract_id, "legal") is None):
        return review_atc_finance(ctx, contract_id, decision, rationale=rationale)
    return review_atc_legal(ctx, contract_id, decision, rationale=rationale)   # refused unless legal


def review_state(ctx: Context, kind: GateKind, subject_type: str, subject_id: int) -> dict[str, str]:
    """{'legal': 'approve'|'pending'|'reject'|'not requested', 'finance': ...} for the newest rows."""
    out = {}
    for role in ATC_REVIEWS:   # ATC's and a change order's: legal, finance, and a leader's where the path asks
        row = gates.latest(ctx, kind, subject_type, subject_id, role)
        if row is not None or role in REVIEWERS:   # a leader's review only where one was asked for
            out[role] = row.decision.value if row else "not requested"
    return out


@action("contract.sign")
def sign_contract(ctx: Context, contract_id: int, *, signed_on=None, budget_cost=None) -> None:
    contract = ctx.get(Contract, contract_id)
    signed_on = not_future(ctx, "signed_on", signed_on)
    budget_cost = validate.amount("budget_cost", budget_cost, required=False, allow_zero=True)
    require(ctx, "contract.sign", contract)   # ATC approved by legal and finance, terms add up, deal winnable
    opp = ctx.get(Opportunity, contract.opportunity_id, what="opportunity")

    before = snapshot(contract)
    contract.signed_on = signed_on
    contract.warranty_ends_on = None   # known once every milestone is finally accepted
    ctx.move(contract, "status", ContractStatus.SIGNED)
    ctx.audit("contract.sign", contract, before=before)
    for term in active_terms(ctx.session, contract.id):
        if term.trigger == Trigger.SIGNING and term.released_on is None:
            term_before = snapshot(term)
            term.released_on = signed_on
            ctx.audit("term.release", term, before=term_before)

    if budget_cost is None:
        estimate = latest_baseline(ctx.session, Calculation.ESTIMATE, opportunity_id=opp.id)
        budget_cost = (estimate.cost * contract.amount / estimate.revenue).quantize(CENT, ROUND_HALF_UP) \
            if estimate is not None and estimate.revenue > 0 else ZERO
    ctx.audit("contract.sign", Baseline(opportunity_id=opp.id, contract_id=contract.id, kind=Calculation.BUDGET,
                                        revenue=contract.amount, cost=budget_cost,
                                        note=f"budget at signing of {contract.number}"))
    opp_before = snapshot(opp)
    ctx.move(opp, "stage", Stage.WON)
    ctx.audit("contract.sign", opp, before=opp_before)


# -- change orders ---------------------------------------------------------------------------------

def _released(ctx: Context, contract: Contract) -> tuple[list[PaymentTerm], list[PaymentTerm]]:
    terms = active_terms(ctx.session, contract.id)
    return [t for t in terms if t.released_on], [t for t in terms if not t.released_on]


def _check_plan(contract: Contract, change_number: str, new_amount: Decimal, released: list[PaymentTerm],
                plan_total: Decimal) -> None:
    released_total = sum((t.amount for t in released), ZERO)
    if new_amount < released_total:
        raise AmountError("change order '{number}': new amount {amount} is below what {label} has already released "
                          "({released})", number=change_number, amount=fmt_money(new_amount), label=label(contract),
                          released=fmt_money(released_total))
    if released_total + plan_total != new_amount:
        raise AmountError("change order '{number}': payment terms add up to {total} (released {released} + new "
                          "{new}), not the new amount {amount}", number=change_number,
                          total=fmt_money(released_total + plan_total), released=fmt_money(released_total),
                          new=fmt_money(plan_total), amount=fmt_money(new_amount))


@action("change.request")
def request_change(ctx: Context, contract_id: int, *, number: str, reason: str, new_amount, new_scope=None,
                   new_cost=None, new_terms: list[dict] | None = None) -> int:
    """Propose an amendment. `new_terms` is the new plan for the terms not yet released (released terms stay
    as they are: they may be invoiced); None keeps the current unreleased terms."""
    number = validate.text("number", number, max_len=64, required=True)
    reason = validate.text("reason", reason, max_len=CHANGE_REASON_MAX, required=True)
    new_amount = validate.amount("new_amount", new_amount)
    new_cost = validate.amount("new_cost", new_cost, required=False, allow_zero=True)
    contract = ctx.get(Contract, contract_id)
    new_scope = contract.scope if new_scope is None else validate.text("new_scope", new_scope, max_len=4000)
    if ctx.session.exec(select(ChangeOrder.id).where(ChangeOrder.contract_id == contract.id,
                                                     ChangeOrder.number == number)).first() is not None:
        raise DuplicateError("{field}: {label} already has a change order '{number}'", field="number",
                             label=label(contract), number=number)
    require(ctx, "change.request", contract)   # signed, no other change order awaiting review
    released, unreleased = _released(ctx, contract)
    released_total = sum((t.amount for t in released), ZERO)
    if new_terms is None:
        plan = None
        plan_total = sum((t.amount for t in unreleased), ZERO)
    else:
        plan = parse_terms(ctx, contract, new_terms, base=new_amount, target=new_amount - released_total)
        plan_total = sum((t["amount"] for t in plan), ZERO)
    _check_plan(contract, number, new_amount, released, plan_total)
    plan_json = terms_to_json(plan)
    if len(plan_json) > MAX_PLAN_JSON:
        raise ValidationError("{field}: the plan is too long to keep ({got:,} characters stored, at most {max:,}); "
                              "use fewer terms or shorter names", field="new_terms", got=len(plan_json),
                              max=MAX_PLAN_JSON)
    change = ChangeOrder(contract_id=contract.id, number=number, reason=reason, new_amount=new_amount,
                         new_scope=new_scope, new_cost=new_cost, new_terms_json=plan_json,
                         status=ChangeStatus.PENDING, requested_on=ctx.today())
    ctx.audit("change.request", change)
    # legal and finance, and a leader after them where the path asks (config/approvals.toml)
    approvals.ask(ctx, GateKind.CHANGE_ORDER, "change_order", change.id,
                  approvals.deal_facts(ctx, contract.opportunity_id, new_amount), amount=new_amount, rationale=reason)
    return change.id


def _review_change(ctx: Context, change_id: int, decision, rationale: str, role: str) -> int:
    decision = gates.parse_decision(GateKind.CHANGE_ORDER, decision)
    rationale = validate.text("rationale", rationale, max_len=4000, required=True)
    change = ctx.get(ChangeOrder, change_id, what="change order")
    CHANGE_LIFECYCLE.require(ctx, f"change.review_{role}", change)   # pending, this review not yet decided
    row = gates.pending(ctx, GateKind.CHANGE_ORDER, "change_order", change.id, role)
    gates.decide(ctx, row, decision, rationale=rationale)
    before = snapshot(change)
    if decision == Decision.REJECT:
        change.status, change.decided_on = ChangeStatus.REJECTED, ctx.today()
        ctx.audit("change.reject", change, before=before)
    elif not approvals.pending_steps(ctx, GateKind.CHANGE_ORDER, "change_order", change.id):   # the last step
        _apply_change(ctx, change)
        change.status, change.decided_on = ChangeStatus.APPROVED, ctx.today()
        ctx.audit("change.approve", change, before=before)
    return row.id


def _apply_change(ctx: Context, change: ChangeOrder) -> None:
    contract = ctx.get(Contract, change.contract_id)
    require_status(contract, (ContractStatus.SIGNED,), Text("a change order may be applied"))
    released, unreleased = _released(ctx, contract)
    plan = terms_from_json(change.new_terms_json)
    plan_total = sum((t.amount for t in unreleased), ZERO) if plan is None else sum((t["amount"] for t in plan), ZERO)
    # a term may have been released since the request: the plan must still add up
    _check_plan(contract, change.number, change.new_amount, released, plan_total)
    today = ctx.today()
    if plan is not None:
        for term in unreleased:
            term_before = snapshot(term)
            term.active = False
            ctx.audit("change.apply", term, before=term_before)
        for term in _add_terms(ctx, contract, plan, "change.apply"):
            if _trigger_happened(ctx, contract, term):
                term_before = snapshot(term)
                term.released_on = today
                ctx.audit("term.release", term, before=term_before)
    before = snapshot(contract)
    contract.amount, contract.scope = change.new_amount, change.new_scope
    ctx.audit("change.apply", contract, before=before)
    budget = latest_baseline(ctx.session, Calculation.BUDGET, contract_id=contract.id)
    cost = change.new_cost if change.new_cost is not None else (budget.cost if budget else ZERO)
    ctx.audit("change.apply", Baseline(opportunity_id=contract.opportunity_id, contract_id=contract.id,
                                       kind=Calculation.BUDGET, revenue=change.new_amount, cost=cost,
                                       note=f"re-baselined by change order {change.number}"))


def _trigger_happened(ctx: Context, contract: Contract, term: PaymentTerm) -> bool:
    """A term added by a change order whose trigger is already behind us is billable at once."""
    if term.trigger == Trigger.SIGNING:
        return True
    if term.trigger == Trigger.ACCEPTANCE:
        ms = ctx.session.get(Milestone, term.milestone_id)
        return ms is not None and ms.status == MilestoneStatus.ACCEPTED
    return contract.warranty_ends_on is not None and contract.warranty_ends_on <= ctx.today()


@action("change.review_legal")
def review_change_legal(ctx: Context, change_id: int, decision, *, rationale: str) -> int:
    return _review_change(ctx, change_id, decision, rationale, "legal")


@action("change.review_finance")
def review_change_finance(ctx: Context, change_id: int, decision, *, rationale: str) -> int:
    return _review_change(ctx, change_id, decision, rationale, "finance")


@action("change.review_leader")
def review_change_leader(ctx: Context, change_id: int, decision, *, rationale: str) -> int:
    """A change order the approval path gives a leader's step (a large new amount): after legal and finance."""
    return _review_change(ctx, change_id, decision, rationale, "leader")


# the closure's steps (final accounts, request, decision) join this lifecycle from their own module, which needs
# the names above: imported last, so every reader of the contract's offers sees the whole lifecycle
from core.services import closure as _closure  # noqa: E402,F401
