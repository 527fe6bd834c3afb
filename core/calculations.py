"""The four calculations (四算) and the money figures every stage after signing relies on.

Pure reads, no permission checks: services and pages call them with a session. Estimate, budget and final
accounts are the newest Baseline row of their kind; actuals are computed live (revenue = invoiced so far,
cost = the cost entries), so they can never drift from the invoices and costs themselves.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func
from sqlmodel import Session, select

from core.enums import Calculation, InvoiceKind
from core.models import Baseline, Contract, CostEntry, Invoice, PaymentTerm
from core.types import CENT

ZERO = Decimal("0.00")


def figures(revenue: Decimal, cost: Decimal) -> dict:
    """Revenue, cost, margin and margin rate (None when there is no revenue)."""
    revenue, cost = Decimal(revenue).quantize(CENT), Decimal(cost).quantize(CENT)
    margin = revenue - cost
    rate = (margin / revenue).quantize(Decimal("0.0001"), ROUND_HALF_UP) if revenue else None
    return {"revenue": revenue, "cost": cost, "margin": margin, "margin_rate": rate}


def _sum(session: Session, column, *where) -> Decimal:
    # SUM keeps the Money column type, so the cents come back as a Decimal (None when no rows)
    total = session.exec(select(func.sum(column)).where(*where)).one()
    return ZERO if total is None else Decimal(total).quantize(CENT)


def latest_baseline(session: Session, kind: Calculation, *, contract_id: int | None = None,
                    opportunity_id: int | None = None) -> Baseline | None:
    """The newest baseline of a kind: per contract, or per opportunity (the estimate comes before any contract)."""
    q = select(Baseline).where(Baseline.kind == kind)
    if contract_id is not None:
        q = q.where(Baseline.contract_id == contract_id)
    if opportunity_id is not None:
        q = q.where(Baseline.opportunity_id == opportunity_id)
    return session.exec(q.order_by(Baseline.id.desc()).limit(1)).first()


def invoiced_total(session: Session, contract_id: int) -> Decimal:
    return _sum(session, Invoice.amount, Invoice.contract_id == contract_id)


def cost_total(session: Session, contract_id: int) -> Decimal:
    return _sum(session, CostEntry.amount, CostEntry.contract_id == contract_id)


def invoiced_on_term(session: Session, term_id: int) -> Decimal:
    """What counts as invoiced against a term (Invoice.billed: a void and an error's credit note give it back,
    a concession's credit note does not: the customer owes that much less, nothing is to bill again)."""
    return _sum(session, Invoice.billed, Invoice.term_id == term_id)


def released_not_invoiced(session: Session, term_id: int) -> Decimal:
    """What may still be invoiced on a term: its amount once released, less what was invoiced on it."""
    term = session.get(PaymentTerm, term_id)
    if term is None or term.released_on is None:
        return ZERO
    return max(term.amount - invoiced_on_term(session, term_id), ZERO)


def outstanding(invoice: Invoice) -> Decimal:
    """What the customer still owes on an invoice: amount − paid − written off − credited. A credit note owes
    nothing itself: its negative amount is the `credited` of the invoice it credits, so sums of amounts over
    all rows and sums of outstanding agree."""
    if invoice.kind == InvoiceKind.CREDIT_NOTE:
        return ZERO
    return invoice.amount - invoice.paid_amount - invoice.written_off - invoice.credited


def receivables(session: Session, contract_id: int) -> list[Invoice]:
    """The contract's invoices with money still outstanding, oldest due first."""
    rows = session.exec(select(Invoice).where(Invoice.contract_id == contract_id)
                        .order_by(Invoice.due_on, Invoice.id)).all()
    return [inv for inv in rows if outstanding(inv) > 0]


def contract_receivable(session: Session, contract_id: int) -> Decimal:
    """Sum over the contract's invoices of amount − paid − written off (credit notes' negative amounts
    included: the same as the sum of their outstanding)."""
    return (_sum(session, Invoice.amount, Invoice.contract_id == contract_id)
            - _sum(session, Invoice.paid_amount, Invoice.contract_id == contract_id)
            - _sum(session, Invoice.written_off, Invoice.contract_id == contract_id))


def active_terms(session: Session, contract_id: int) -> list[PaymentTerm]:
    return list(session.exec(select(PaymentTerm).where(PaymentTerm.contract_id == contract_id,
                                                       PaymentTerm.active == True)  # noqa: E712
                             .order_by(PaymentTerm.seq, PaymentTerm.id)).all())


def terms_total(session: Session, contract_id: int) -> Decimal:
    return sum((t.amount for t in active_terms(session, contract_id)), ZERO)


def four_calculations(session: Session, contract_id: int) -> dict:
    """{'estimate'|'budget'|'actual'|'final': {revenue, cost, margin, margin_rate} or None when not made yet}.

    Actual revenue is what has been invoiced so far and actual cost the sum of the cost entries."""
    contract = session.get(Contract, contract_id)
    if contract is None:
        from core.errors import NotFound
        from core.messages import KINDS
        raise NotFound("{what} {id} not found", what=KINDS["contract"], id=contract_id)
    out: dict = {}
    estimate = latest_baseline(session, Calculation.ESTIMATE, opportunity_id=contract.opportunity_id)
    out["estimate"] = figures(estimate.revenue, estimate.cost) if estimate else None
    for kind in (Calculation.BUDGET, Calculation.FINAL):
        row = latest_baseline(session, kind, contract_id=contract_id)
        out[kind.value] = figures(row.revenue, row.cost) if row else None
    out["actual"] = figures(invoiced_total(session, contract_id), cost_total(session, contract_id))
    return {k: out[k] for k in ("estimate", "budget", "actual", "final")}
