"""Final accounts and review (项目决算与复盘): the last step of the chain.

Finance records the final accounts; the project's FR writes the review and asks for closure; a leader (never
the one who asked) approves or rejects it.

A project closes only with final accounts (决算), a written review, and nothing of the contract left to bill
or collect: every term invoiced, every milestone finally accepted, every invoice paid (or the rest written
off with a leader's approval), no write-off awaiting its decision and no unapplied cash of the customer. The
refusal lists every blocker with its figures. The one exception is a retention held until a warranty end
still to come: the project closes with it, `ltc daily` releases it on that day, and it is invoiced and
collected after closure (see `held_retention`).
"""
from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from core import approvals, calculations, gates, validate
from core.context import Context, snapshot
from core.enums import Calculation, ContractStatus, Decision, GateKind, MilestoneStatus, Trigger
from core.errors import GateError
from core.messages import Joined, Text, code
from core.models import Account, Baseline, ClosureReview, Contract, Invoice, Milestone, Payment, PaymentTerm
from core.lifecycle import Step
from core.services import action
from core.services.contracts import LIFECYCLE, label, only_while, not_future
from core.types import fmt_money


@action("closure.final_accounts")
def record_final_accounts(ctx: Context, contract_id: int, *, revenue=None, cost=None, note: str = "") -> int:
    """Record the final accounts (a FINAL baseline; the newest counts). Defaults: revenue = invoiced plus the
    retention still to invoice (a project closes with it held), cost = the sum of the cost entries."""
    revenue = validate.amount("revenue", revenue, required=False, allow_zero=True)
    cost = validate.amount("cost", cost, required=False, allow_zero=True)
    note = validate.text("note", note, max_len=500)
    contract = ctx.get(Contract, contract_id)
    LIFECYCLE.require(ctx, "closure.final_accounts", contract)
    row = Baseline(opportunity_id=contract.opportunity_id, contract_id=contract.id, kind=Calculation.FINAL,
                   revenue=_final_revenue(ctx, contract) if revenue is None else revenue,
                   cost=calculations.cost_total(ctx.session, contract.id) if cost is None else cost,
                   note=note or f"final accounts of {contract.number}")
    ctx.audit("closure.final_accounts", row)
    return row.id


def _final_revenue(ctx: Context, contract: Contract):
    """What the project bills in the end: invoiced so far, and its retention terms' amounts still to invoice."""
    session = ctx.session
    return calculations.invoiced_total(session, contract.id) + sum(
        (t.amount - calculations.invoiced_on_term(session, t.id)
         for t in calculations.active_terms(session, contract.id) if t.trigger == Trigger.WARRANTY),
        calculations.ZERO)


@action("closure.request")
def request_closure(ctx: Context, contract_id: int, *, went_well: str, went_badly: str, lessons: str = "",
                    closed_on=None) -> int:
    """The closer (the project's FR) writes the review (复盘) and asks a leader to close the project on
    `closed_on`; refused while the project has no final accounts or anything of it can still be billed or
    collected (every blocker listed with its figures). A request rejected before may be made again."""
    went_well = validate.text("went_well", went_well, max_len=4000, required=True)
    went_badly = validate.text("went_badly", went_badly, max_len=4000, required=True)
    lessons = validate.text("lessons", lessons, max_len=4000)
    closed_on = not_future(ctx, "closed_on", closed_on)
    contract = ctx.get(Contract, contract_id)
    LIFECYCLE.require(ctx, "closure.request", contract)
    _may_close(ctx, contract, closed_on)
    review = ctx.session.exec(select(ClosureReview).where(ClosureReview.contract_id == contract.id)).first()
    before = snapshot(review) if review else None
    if review is None:
        review = ClosureReview(contract_id=contract.id, closed_on=closed_on)
    review.closed_on, review.went_well, review.went_badly, review.lessons = closed_on, went_well, went_badly, lessons
    review.closed_by_id = ctx.actor.id
    ctx.audit("closure.request", review, before=before)
    approvals.ask(ctx, GateKind.CLOSURE, "contract", contract.id,
                  approvals.deal_facts(ctx, contract.opportunity_id, contract.amount),
                  rationale=f"close on {closed_on.isoformat()}")
    return review.id


@action("closure.decide")
def decide_closure(ctx: Context, contract_id: int, decision, *, rationale: str) -> int:
    """A leader approves the closure (the contract is closed on the requested day, checked again: nothing may
    have become billable since) or rejects it with a reason; never the person who asked (separation of duties)."""
    decision = gates.parse_decision(GateKind.CLOSURE, decision)
    contract = ctx.get(Contract, contract_id)
    LIFECYCLE.require(ctx, "closure.decide", contract)
    row = approvals.next_step(ctx, GateKind.CLOSURE, "contract", contract.id)
    gates.decide(ctx, row, decision, rationale=rationale)
    if approvals.settled(ctx, row) and decision == Decision.APPROVE:   # the path's last step approved
        review = ctx.session.exec(select(ClosureReview).where(ClosureReview.contract_id == contract.id)).one()
        _may_close(ctx, contract, review.closed_on)
        before = snapshot(contract)
        contract.closed_on = review.closed_on
        ctx.move(contract, "status", ContractStatus.CLOSED)
        ctx.audit("closure.close", contract, before=before)
    return row.id


def _may_close(ctx: Context, contract: Contract, on) -> None:
    if on < contract.signed_on:
        raise GateError("closure: {on} is before {label} was signed ({signed})", on=on.isoformat(),
                        label=label(contract), signed=contract.signed_on.isoformat())
    found = blockers(ctx, contract, on)
    if found:
        raise GateError("closure: {label} cannot close while something of it can still be billed or collected: "
                        "{blockers}", label=label(contract), blockers=Joined("; ", found))


def _has_final_accounts(ctx: Context, contract: Contract) -> Text | None:
    if calculations.latest_baseline(ctx.session, Calculation.FINAL, contract_id=contract.id) is None:
        return Text("closure: {label} has no final accounts (决算) yet; finance records them first",
                    label=label(contract))
    return None


def _no_closure_pending(ctx: Context, contract: Contract) -> Text | None:
    if gates.pending(ctx, GateKind.CLOSURE, "contract", contract.id, "leader") is not None:
        return Text("closure: {label} already awaits a leader's decision", label=label(contract))
    return None


def _closure_pending(ctx: Context, contract: Contract) -> Text | None:
    if approvals.next_step(ctx, GateKind.CLOSURE, "contract", contract.id) is None:
        return Text("closure: nobody has asked to close {label}", label=label(contract))
    return None


def held_retention(contract: Contract, term: PaymentTerm, on) -> bool:
    """A retention term held until a warranty end after `on`: not released yet, and rightly so. The one thing a
    project may close with (a receivable falling due on the warranty's end, collected after closure)."""
    return (term.trigger == Trigger.WARRANTY and term.released_on is None and contract.warranty_ends_on is not None
            and contract.warranty_ends_on > on)


def blockers(ctx: Context, contract: Contract, on) -> list[Text]:
    """Everything that keeps the contract from closing on `on`, each with its figures (empty: it may close)."""
    session, out = ctx.session, []
    owed = calculations.contract_receivable(session, contract.id)
    if owed > 0:
        numbers = Joined(", ", (f"{inv.number} ({fmt_money(calculations.outstanding(inv))})"
                                for inv in calculations.receivables(session, contract.id)))
        out.append(Text("{owed} outstanding on invoice(s) {numbers} (collect it, or a leader approves a write-off)",
                        owed=fmt_money(owed), numbers=numbers))
    pending_wo = list(_pending_write_offs(ctx, contract.id))
    if pending_wo:
        out.append(Text("{count} write-off request(s) awaiting a leader's decision", count=len(pending_wo)))
    for term in calculations.active_terms(session, contract.id):
        left = term.amount - calculations.invoiced_on_term(session, term.id)
        if left > 0 and not held_retention(contract, term, on):
            out.append(Text("term '{name}' has {left} not invoiced{why}", name=term.name, left=fmt_money(left),
                            why=_why_not_invoiced(contract, term)))
    for ms in session.exec(select(Milestone).where(Milestone.contract_id == contract.id,
                                                   Milestone.status != MilestoneStatus.ACCEPTED)
                           .order_by(Milestone.seq, Milestone.id)).all():
        out.append(Text("milestone '{name}' is not finally accepted ({status})", name=ms.name,
                        status=code(ms.status)))
    unapplied = session.exec(select(func.coalesce(func.sum(Payment.unapplied), 0)).where(
        Payment.account_id == contract.account_id, Payment.unapplied > 0)).one()
    if unapplied > 0:
        customer = session.get(Account, contract.account_id)
        out.append(Text("{customer} has {amount} of unapplied cash (apply it to an invoice or refund it)",
                        customer=customer.name if customer else contract.account_id, amount=fmt_money(unapplied)))
    return out


def _why_not_invoiced(contract: Contract, term: PaymentTerm) -> Text:
    if term.released_on:
        return Text(" (released on {on})", on=term.released_on.isoformat())
    if term.trigger == Trigger.WARRANTY and contract.warranty_ends_on is not None:
        return Text(" (its warranty ended on {ends}: the nightly run releases it)",
                    ends=contract.warranty_ends_on.isoformat())
    return Text(" (not released yet)")


def _pending_write_offs(ctx: Context, contract_id: int):
    for inv_id in ctx.session.exec(select(Invoice.id).where(Invoice.contract_id == contract_id)).all():
        row = gates.pending(ctx, GateKind.WRITE_OFF, "invoice", inv_id)
        if row is not None:
            yield row


_SIGNED = (ContractStatus.SIGNED,)
# closure's steps belong to the contract's lifecycle (core.services.contracts); registered here, beside the rules
LIFECYCLE.steps.update({
    "closure.final_accounts": Step(_SIGNED, (), only_while(Text("final accounts are recorded"))),
    "closure.request": Step(_SIGNED, (_has_final_accounts, _no_closure_pending),
                            only_while(Text("a project is closed"))),
    "closure.decide": Step(_SIGNED, (_closure_pending,), only_while(Text("a project is closed"))),
})
