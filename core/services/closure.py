"""Final accounts and review (项目决算与复盘): the last step of the chain.

A project closes only with final accounts (决算), a written review, and no receivable outstanding: every
invoice is paid or the rest written off with a leader's approval.
"""
from __future__ import annotations

from sqlmodel import select

from core import calculations, gates, validate
from core.context import Context, snapshot
from core.enums import Calculation, ContractStatus, Decision, GateKind
from core.errors import GateError
from core.messages import Joined, Text
from core.models import Baseline, ClosureReview, Contract, Invoice
from core.services import action
from core.services.contracts import label, not_future, require_status
from core.types import fmt_money


@action("closure.final_accounts")
def record_final_accounts(ctx: Context, contract_id: int, *, revenue=None, cost=None, note: str = "") -> int:
    """Record the final accounts (a FINAL baseline; the newest counts). Defaults: revenue = invoiced,
    cost = the sum of the cost entries."""
    revenue = validate.amount("revenue", revenue, required=False, allow_zero=True)
    cost = validate.amount("cost", cost, required=False, allow_zero=True)
    note = validate.text("note", note, max_len=500)
    contract = ctx.get(Contract, contract_id)
    require_status(contract, (ContractStatus.SIGNED,), Text("final accounts are recorded"))
    row = Baseline(opportunity_id=contract.opportunity_id, contract_id=contract.id, kind=Calculation.FINAL,
                   revenue=calculations.invoiced_total(ctx.session, contract.id) if revenue is None else revenue,
                   cost=calculations.cost_total(ctx.session, contract.id) if cost is None else cost,
                   note=note or f"final accounts of {contract.number}")
    ctx.audit("closure.final_accounts", row)
    return row.id


@action("closure.close")
def close_project(ctx: Context, contract_id: int, *, went_well: str, went_badly: str, closed_on=None) -> int:
    went_well = validate.text("went_well", went_well, max_len=4000, required=True)
    went_badly = validate.text("went_badly", went_badly, max_len=4000, required=True)
    closed_on = not_future(ctx, "closed_on", closed_on)
    contract = ctx.get(Contract, contract_id)
    require_status(contract, (ContractStatus.SIGNED,), Text("a project is closed"))
    if closed_on < contract.signed_on:
        raise GateError("closure: {on} is before {label} was signed ({signed})", on=closed_on.isoformat(),
                        label=label(contract), signed=contract.signed_on.isoformat())
    if calculations.latest_baseline(ctx.session, Calculation.FINAL, contract_id=contract.id) is None:
        raise GateError("closure: {label} has no final accounts (决算) yet; finance records them first",
                        label=label(contract))
    owed = calculations.contract_receivable(ctx.session, contract.id)
    if owed != 0:
        numbers = Joined(", ", (f"{inv.number} ({fmt_money(calculations.outstanding(inv))})"
                                for inv in calculations.receivables(ctx.session, contract.id)))
        raise GateError("closure: {label} still has {owed} outstanding on invoice(s) {numbers}; collect it or have a "
                        "leader approve a write-off", label=label(contract), owed=fmt_money(owed), numbers=numbers)
    pending_wo = list(_pending_write_offs(ctx, contract.id))
    if pending_wo:
        raise GateError("closure: {label} has {count} write-off request(s) awaiting a leader's decision",
                        label=label(contract), count=len(pending_wo))

    review = ClosureReview(contract_id=contract.id, closed_on=closed_on, went_well=went_well,
                           went_badly=went_badly, closed_by_id=ctx.actor.id)
    ctx.audit("closure.close", review)
    role = "leader" if "leader" in ctx.actor.roles else "fr"
    gate = gates.request(ctx, GateKind.CLOSURE, "contract", contract.id, reviewer_role=role)
    gates.decide(ctx, gate, Decision.APPROVE,
                 rationale="final accounts recorded, review written, no receivable outstanding")
    before = snapshot(contract)
    contract.closed_on = closed_on
    ctx.move(contract, "status", ContractStatus.CLOSED)
    ctx.audit("closure.close", contract, before=before)
    return review.id


def _pending_write_offs(ctx: Context, contract_id: int):
    for inv_id in ctx.session.exec(select(Invoice.id).where(Invoice.contract_id == contract_id)).all():
        row = gates.pending(ctx, GateKind.WRITE_OFF, "invoice", inv_id)
        if row is not None:
            yield row
