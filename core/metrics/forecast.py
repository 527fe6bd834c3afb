"""Cash forecast (next 12 months) and collection: what the contracts and the pipeline will bring and when,
how much of what fell due was collected, and how long a contract takes to turn into cash.

Each customer's historical delay is the average of (day of the last allocation − due date) over their invoices
fully paid by as_of, in whole days (may be negative: an early payer). Dates are placed by grouped queries
(one row per term, per open invoice, per paid invoice); Python only adds them into months.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

from sqlalchemy import func
from sqlmodel import select

from core.context import Context
from core.enums import ContractStatus, Trigger
from core.metrics.cash import receivables_by_invoice
from core.metrics.filters import metric, ZERO, Filters, contract_ids, in_scope, money, month_start, opp_where, ratio
from core.metrics.funnel import OPEN, probabilities
from core.models import Allocation, Contract, Invoice, Milestone, Opportunity, PaymentTerm
from core.services.delivery import add_months

MONTHS = 12


def payment_delays(ctx: Context, f: Filters) -> dict[int, int]:
    """{account_id: average days paid after the due date}, from invoices fully paid by as_of."""
    rows = ctx.session.exec(in_scope(
        select(Invoice.account_id, Invoice.due_on, Invoice.amount, Invoice.credited, func.sum(Allocation.amount),
               func.max(Allocation.allocated_on))
        .join(Allocation, Allocation.invoice_id == Invoice.id).where(Allocation.allocated_on <= f.as_of)
        .group_by(Invoice.id, Invoice.account_id, Invoice.due_on, Invoice.amount, Invoice.credited),
        Invoice.contract_id, contract_ids(f))).all()
    days: dict[int, list[int]] = {}
    for acc, due_on, amount, credited, paid, last in rows:
        if money(paid) >= amount - credited:
            days.setdefault(acc, []).append((last - due_on).days)
    return {acc: int((Decimal(sum(d)) / len(d)).quantize(Decimal(1), ROUND_HALF_UP)) for acc, d in days.items()}


def _window(f: Filters) -> tuple[list[str], date, date]:
    first = month_start(f.as_of)
    months = [month_start(f.as_of, -i).strftime("%Y-%m") for i in range(MONTHS)]
    return months, first, month_start(f.as_of, -MONTHS) - timedelta(days=1)


def _term_base(trigger, released_on, milestone_on, signed_on, warranty_ends_on, warranty_months, last_milestone_on):
    """The day a term becomes billable: released, else its trigger's forecast (or planned) day."""
    if released_on is not None:
        return released_on
    if trigger == Trigger.SIGNING:
        return signed_on
    if trigger == Trigger.ACCEPTANCE:
        return milestone_on
    if warranty_ends_on is not None:
        return warranty_ends_on
    return add_months(last_milestone_on, warranty_months) if last_milestone_on else None


@metric("metrics.cash")
def forecast(ctx: Context, f: Filters) -> list[dict]:
    """[{month, contracted, receivables, pipeline, total}] for as_of's month and the 11 after it.
    contracted: what is not yet invoiced on the active terms of signed contracts, on the term's billable day
    + due days + the customer's delay; receivables: open invoices at due date + delay (overdue: as_of's month);
    pipeline: open opportunities' amount × stage probability at expected_close (past: as_of's month)."""
    months, first, last = _window(f)
    out: dict[str, dict] = {m: {"month": m, "contracted": ZERO, "receivables": ZERO, "pipeline": ZERO} for m in months}
    delay = payment_delays(ctx, f)
    cids = contract_ids(f)

    def put(col, day, amount):
        if day is None or not amount:
            return
        day = max(day, first)
        if day <= last:
            out[day.strftime("%Y-%m")][col] += amount

    ms_day = func.coalesce(Milestone.forecast_on, Milestone.planned_on)
    last_ms = (select(func.max(func.coalesce(Milestone.forecast_on, Milestone.planned_on)))
               .where(Milestone.contract_id == Contract.id).correlate(Contract).scalar_subquery())
    invoiced = (select(func.sum(Invoice.billed)).where(Invoice.term_id == PaymentTerm.id,
                                                      Invoice.issued_on <= f.as_of)
                .correlate(PaymentTerm).scalar_subquery())
    q = (select(PaymentTerm.amount, invoiced, PaymentTerm.trigger, PaymentTerm.released_on, ms_day,
                PaymentTerm.due_days, Contract.signed_on, Contract.warranty_ends_on, Contract.warranty_months,
                last_ms, Contract.account_id)
         .join(Contract, Contract.id == PaymentTerm.contract_id)
         .outerjoin(Milestone, Milestone.id == PaymentTerm.milestone_id)
         .where(PaymentTerm.active == True,  # noqa: E712
                # a closed project's held retention is still to come in
                Contract.status.in_([ContractStatus.SIGNED, ContractStatus.CLOSED]), Contract.signed_on <= f.as_of))
    for amount, billed, trig, rel, ms_on, due_days, signed_on, w_end, w_months, last_on, acc in \
            ctx.session.exec(in_scope(q, Contract.id, cids)).all():
        left = amount - money(billed)
        base = _term_base(trig, rel, ms_on, signed_on, w_end, w_months, last_on)
        if left > 0 and base is not None:
            put("contracted", base + timedelta(days=due_days + delay.get(acc, 0)), left)

    for acc, due_on, left in receivables_by_invoice(ctx, f, f.as_of):
        put("receivables", due_on + timedelta(days=delay.get(acc, 0)), left)

    prob = probabilities()
    for stage, close, amount in ctx.session.exec(
            select(Opportunity.stage, Opportunity.expected_close, func.sum(Opportunity.amount))
            .where(Opportunity.stage.in_(OPEN), Opportunity.expected_close != None,  # noqa: E711
                   *opp_where(f)).group_by(Opportunity.stage, Opportunity.expected_close)).all():
        put("pipeline", close, money(money(amount) * prob.get(str(stage), Decimal(0))))
    for r in out.values():
        r["total"] = r["contracted"] + r["receivables"] + r["pipeline"]
    return list(out.values())


@metric("metrics.cash")
def collection(ctx: Context, f: Filters) -> dict:
    """plan_attainment: of the invoices due in the period, the share collected (allocated) by as_of;
    contract_to_cash_days: median days from signing to a contract's first cash, for first cash in the period."""
    cids = contract_ids(f)
    due = [Invoice.due_on >= f.start, Invoice.due_on <= f.end, Invoice.issued_on <= f.as_of]
    planned = money(ctx.session.exec(in_scope(select(func.sum(Invoice.amount)).where(*due),
                                              Invoice.contract_id, cids)).one())
    collected = money(ctx.session.exec(in_scope(
        select(func.sum(Allocation.amount)).join(Invoice, Invoice.id == Allocation.invoice_id)
        .where(*due, Allocation.allocated_on <= f.as_of), Invoice.contract_id, cids)).one())
    firsts = ctx.session.exec(in_scope(
        select(Contract.signed_on, func.min(Allocation.allocated_on))
        .join(Invoice, Invoice.contract_id == Contract.id).join(Allocation, Allocation.invoice_id == Invoice.id)
        .where(Allocation.allocated_on <= f.as_of, Contract.signed_on != None)  # noqa: E711
        .group_by(Contract.id, Contract.signed_on), Contract.id, cids)).all()
    lags = [(cash - signed).days for signed, cash in firsts if f.start <= cash <= f.end]
    return {"planned": planned, "collected": collected, "plan_attainment": ratio(collected, planned),
            "contract_to_cash_days": Decimal(str(median(lags))).quantize(Decimal("0.1")) if lags else None,
            "contracts_counted": len(lags)}
