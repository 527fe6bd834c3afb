"""Cash metrics: per month bookings, accepted, invoiced, collected; AR ageing as of a day with DSO, CEI,
unbilled and the acceptance-to-invoice lag; the overdue customers and their invoices.

Receivables are rebuilt as of the day: invoices issued by then, less allocations made by then, write-offs
approved by then and credit notes issued by then (rows of negative amount, due when the invoice they credit is
due), so a payment the day after as_of does not count. A voided invoice counts nothing, as if never issued.
Sums are GROUP BY queries; Python only adds up the grouped rows.
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import case, func, literal
from sqlalchemy.orm import aliased
from sqlmodel import select

from core.ageing import ageing_buckets
from core.context import Context
from core.enums import ContractStatus, Decision, GateKind, InvoiceKind, InvoiceStatus, Trigger
from core.metrics.filters import (metric, ZERO, Filters, account_ids, contract_ids, end_of, in_scope, money, ratio)
from core.models import Account, Allocation, Contract, GateDecision, Invoice, Payment, PaymentTerm

CURRENT = "current"


def _by_month(ctx: Context, day_col, amount_col, q, f: Filters) -> dict[str, Decimal]:
    """SUM(amount) grouped by day within the period, folded into "YYYY-MM"."""
    out: dict[str, Decimal] = {}
    rows = ctx.session.exec(q.add_columns(day_col, func.sum(amount_col))
                            .where(day_col >= f.start, day_col <= f.end).group_by(day_col)).all()
    for row in rows:
        day, amt = row[-2], row[-1]
        key = day.strftime("%Y-%m")
        out[key] = out.get(key, ZERO) + money(amt)
    return out


@metric("metrics.cash")
def monthly(ctx: Context, f: Filters) -> list[dict]:
    """[{month, bookings, accepted, invoiced, collected}] for every month of the period."""
    cids = contract_ids(f)
    signed = in_scope(select().select_from(Contract).where(
        Contract.status.in_([ContractStatus.SIGNED, ContractStatus.CLOSED])), Contract.id, cids)
    accepted = in_scope(select().select_from(PaymentTerm).where(PaymentTerm.trigger == Trigger.ACCEPTANCE),
                        PaymentTerm.contract_id, cids)
    invoiced = in_scope(select().select_from(Invoice), Invoice.contract_id, cids)
    collected = in_scope(select().select_from(Payment), Payment.account_id, account_ids(f))
    cols = {"bookings": _by_month(ctx, Contract.signed_on, Contract.amount, signed, f),
            "accepted": _by_month(ctx, PaymentTerm.released_on, PaymentTerm.amount, accepted, f),
            "invoiced": _by_month(ctx, Invoice.issued_on, Invoice.amount, invoiced, f),
            "collected": _by_month(ctx, Payment.received_on, Payment.amount, collected, f)}
    return [{"month": m, **{k: v.get(m, ZERO) for k, v in cols.items()}} for m in f.months()]


# -- receivables as of a day -----------------------------------------------------------------------


def _bucket(on: date):
    """CASE on Invoice.due_on giving the ageing bucket label as of `on` (days past due), or 'current'."""
    whens = []
    for label, first, last in ageing_buckets():
        lo = on - timedelta(days=first)               # due on or before this: at least `first` days past due
        cond = Invoice.due_on <= lo
        if last is not None:
            cond = cond & (Invoice.due_on >= on - timedelta(days=last))
        whens.append((cond, literal(label)))
    return case(*whens, else_=literal(CURRENT))


def _outstanding(ctx: Context, f: Filters, on: date, *keys) -> dict[tuple, Decimal]:
    """{key values: outstanding} as of `on`: issued − allocated − written off, each by that day, grouped by
    the key columns; keys with nothing outstanding are left out."""
    cids = contract_ids(f)
    issued = Invoice.issued_on <= on

    def grouped(q):
        q = in_scope(q.where(issued), Invoice.contract_id, cids)
        return {tuple(r[:-1]): money(r[-1]) for r in ctx.session.exec(q.group_by(*keys)).all()}

    billed = grouped(select(*keys, func.sum(Invoice.amount)))
    paid = grouped(select(*keys, func.sum(Allocation.amount))
                   .join(Allocation, Allocation.invoice_id == Invoice.id).where(Allocation.allocated_on <= on))
    written = grouped(select(*keys, func.sum(GateDecision.amount))
                      .join(GateDecision, GateDecision.subject_id == Invoice.id)
                      .where(GateDecision.kind == GateKind.WRITE_OFF, GateDecision.subject_type == "invoice",
                             GateDecision.decision == Decision.APPROVE, GateDecision.decided_at < end_of(on)))
    out = {}
    for key, amt in billed.items():
        left = amt - paid.get(key, ZERO) - written.get(key, ZERO)
        if left:
            out[key] = left
    return out


def receivables(ctx: Context, f: Filters, on: date) -> dict[tuple[int, str], Decimal]:
    """{(account_id, bucket): outstanding} as of `on`."""
    return _outstanding(ctx, f, on, Invoice.account_id, _bucket(on).label("bucket"))


def receivables_by_invoice(ctx: Context, f: Filters, on: date) -> list[tuple[int, date, Decimal]]:
    """[(account_id, due_on, outstanding)] as of `on`, one per customer and due date."""
    return [(acc, due, amt) for (acc, due), amt in
            _outstanding(ctx, f, on, Invoice.account_id, Invoice.due_on).items()]


def _sum(ctx: Context, q) -> Decimal:
    return money(ctx.session.exec(q).one())


@metric("metrics.cash")
def ageing(ctx: Context, f: Filters) -> dict:
    """Receivables as of f.as_of in the configured buckets, per customer, with the ratios built on them."""
    labels = [b[0] for b in ageing_buckets()]
    rec = receivables(ctx, f, f.as_of)
    totals = {CURRENT: ZERO, **{lab: ZERO for lab in labels}}
    per: dict[int, dict] = {}
    for (acc, bucket), amt in rec.items():
        totals[bucket] += amt
        row = per.setdefault(acc, {"account_id": acc, CURRENT: ZERO, **{lab: ZERO for lab in labels},
                                   "total": ZERO})
        row[bucket] += amt
        row["total"] += amt
    names = dict(ctx.session.exec(select(Account.id, Account.name)
                                  .where(Account.id.in_(list(per)))).all()) if per else {}
    customers = []
    for acc, row in per.items():
        row["customer"] = names.get(acc, "")
        row["overdue"] = row["total"] - row[CURRENT]
        customers.append(row)
    customers.sort(key=lambda r: (-r["total"], r["customer"]))
    total = sum(totals.values(), ZERO)
    overdue = total - totals[CURRENT]

    cids = contract_ids(f)
    credit_sales = _sum(ctx, in_scope(select(func.sum(Invoice.amount)).where(
        Invoice.issued_on >= f.start, Invoice.issued_on <= f.end), Invoice.contract_id, cids))
    begin = sum(receivables(ctx, f, f.start - timedelta(days=1)).values(), ZERO)
    end_rec = {k: v for k, v in receivables(ctx, f, f.end).items()} if f.end != f.as_of else rec
    end_total = sum(end_rec.values(), ZERO)
    end_current = sum((v for (_, b), v in end_rec.items() if b == CURRENT), ZERO)
    dso = (end_total / credit_sales * f.days).quantize(Decimal("0.1")) if credit_sales else None
    cei = ratio(begin + credit_sales - end_total, begin + credit_sales - end_current)

    released = _sum(ctx, in_scope(select(func.sum(PaymentTerm.amount)).where(
        PaymentTerm.released_on != None, PaymentTerm.released_on <= f.as_of),  # noqa: E711
        PaymentTerm.contract_id, cids))
    billed_on_released = _sum(ctx, in_scope(select(func.sum(Invoice.billed)).join(
        PaymentTerm, PaymentTerm.id == Invoice.term_id).where(
        PaymentTerm.released_on <= f.as_of, Invoice.issued_on <= f.as_of), Invoice.contract_id, cids))

    # lag from acceptance (term released by the milestone's final acceptance) to each invoice on the term,
    # for invoices issued in the period: grouped by the two dates, averaged here
    lag_days, lag_n = 0, 0
    for issued_on, released_on, n in ctx.session.exec(in_scope(
            select(Invoice.issued_on, PaymentTerm.released_on, func.count(Invoice.id))
            .join(PaymentTerm, PaymentTerm.id == Invoice.term_id)
            .where(PaymentTerm.trigger == Trigger.ACCEPTANCE, Invoice.kind == InvoiceKind.INVOICE,
                   Invoice.status != InvoiceStatus.VOID, Invoice.issued_on >= f.start,
                   Invoice.issued_on <= f.end), Invoice.contract_id, cids)
            .group_by(Invoice.issued_on, PaymentTerm.released_on)).all():
        lag_days += (issued_on - released_on).days * n
        lag_n += n
    return {"as_of": f.as_of, "buckets": {lab: totals[lab] for lab in labels}, "current": totals[CURRENT],
            "customers": customers, "total_outstanding": total, "overdue": overdue,
            "overdue_share": ratio(overdue, total), "credit_sales": credit_sales,
            "beginning_receivables": begin, "dso": dso, "cei": cei, "unbilled": released - billed_on_released,
            "acceptance_to_invoice_days": (Decimal(lag_days) / lag_n).quantize(Decimal("0.1")) if lag_n else None}


@metric("metrics.cash")
def overdue_customers(ctx: Context, f: Filters, limit: int = 10) -> list[dict]:
    """The customers with the most overdue receivables as of f.as_of (largest first, at most `limit`)."""
    rows = [r for r in ageing(ctx, f)["customers"] if r["overdue"] > 0]
    rows.sort(key=lambda r: (-r["overdue"], r["customer"]))
    return rows[:limit]


@metric("metrics.cash")
def customer_invoices(ctx: Context, f: Filters, account_id: int) -> list[dict]:
    """One customer's invoices issued by f.as_of with what was paid and written off by then (drill-down),
    oldest due first."""
    ctx.get(Account, account_id, what="account")
    on = f.as_of
    paid = (select(func.sum(Allocation.amount)).where(
        Allocation.invoice_id == Invoice.id, Allocation.allocated_on <= on).correlate(Invoice).scalar_subquery())
    written = (select(func.sum(GateDecision.amount)).where(
        GateDecision.subject_id == Invoice.id, GateDecision.kind == GateKind.WRITE_OFF,
        GateDecision.subject_type == "invoice", GateDecision.decision == Decision.APPROVE,
        GateDecision.decided_at < end_of(on)).correlate(Invoice).scalar_subquery())
    note = aliased(Invoice)    # credit notes issued by then against the invoice (negative amounts)
    credited = (select(func.sum(note.amount)).where(note.credits_id == Invoice.id, note.issued_on <= on)
                .correlate(Invoice).scalar_subquery())
    q = in_scope(select(Invoice.id, Invoice.number, Contract.number, Invoice.issued_on, Invoice.due_on,
                        Invoice.amount, paid, written, credited).join(Contract, Contract.id == Invoice.contract_id)
                 .where(Invoice.account_id == account_id, Invoice.issued_on <= on,
                        Invoice.kind == InvoiceKind.INVOICE),
                 Invoice.contract_id, contract_ids(f)).order_by(Invoice.due_on, Invoice.id)
    out = []
    for iid, number, contract, issued_on, due_on, amount, p, w, c in ctx.session.exec(q).all():
        p, w, c = money(p), money(w), -money(c)   # SUM keeps the Money type: a Decimal, or None when nothing
        left = amount - p - w - c
        out.append({"invoice_id": iid, "invoice": number, "contract": contract, "issued_on": issued_on,
                    "due_on": due_on, "amount": amount, "paid": p, "written_off": w, "credited": c,
                    "outstanding": left, "days_overdue": max((on - due_on).days, 0) if left > 0 else 0})
    return out

