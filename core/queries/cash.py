"""What the invoicing and cash page (开票与回款) shows: terms to invoice, invoices, payments and their
allocations, AR ageing (账龄), dunning (催款) levels, customer statements and write-off requests.

Each person sees what their data scope reaches (core.scope): invoices and terms by their contract's deal,
payments and statements by customer; finance and leaders reach every customer.
Outstanding = amount − paid − written off − credited (core.calculations); ages are counted in days past the due
date as of a day (today by default, from the unit of work's clock).
Each function loads with a few queries keyed by id, never one query per row.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pandas as pd
from sqlalchemy import func
from sqlmodel import select

from core import approvals, clock, scope
from core.ageing import ageing_buckets, dunning_levels
from core.calculations import ZERO, outstanding
from core.context import Context
from core.enums import ContractStatus, Decision, GateKind, InvoiceKind, InvoiceStatus
from core.errors import NotFound
from core.models import (Account, Allocation, Contact, Contract, GateDecision, Invoice, Opportunity, Payment,
                         PaymentTerm, User)
from core.services import action

OPEN = (InvoiceStatus.ISSUED, InvoiceStatus.PARTLY_PAID)

TO_INVOICE_COLUMNS = ["ID", "Contract", "Customer", "Term", "Released on", "Amount", "Invoiced", "Remaining",
                      "Due days", "AR"]
INVOICE_COLUMNS = ["ID", "Invoice", "Kind", "Credits", "Customer", "Contract", "Term", "Issued on", "Due on",
                   "Amount", "Paid", "Written off", "Credited", "Outstanding", "Status", "Days overdue", "AR",
                   "Version"]
PAYMENT_COLUMNS = ["ID", "Customer", "Received on", "Amount", "Reference", "Allocated", "Unapplied", "Version"]
ALLOCATION_COLUMNS = ["ID", "Payment ID", "Payment", "Invoice ID", "Invoice", "Amount", "Allocated on"]
DUNNING_COLUMNS = ["Level", "Days overdue", "Customer", "Contact", "Phone", "Email", "Invoice", "Due on",
                   "Outstanding", "AR", "ID"]
LINE_COLUMNS = ["Date", "Type", "Reference", "Debit", "Credit", "Balance"]
WRITE_OFF_COLUMNS = ["ID", "Invoice ID", "Invoice", "Customer", "Amount", "Outstanding", "Reason", "Requested by",
                     "Requested at"]


def _band(bands, days: int):
    for name, first, last in bands:
        if days >= first and (last is None or days <= last):
            return name
    return None   # before the first band: not yet due (ageing) or not overdue (dunning)


def days_past_due(invoice_due: date, as_of: date) -> int:
    return (as_of - invoice_due).days


# -- scope -----------------------------------------------------------------------------------------

def _check_account(ctx: Context, account_id: int) -> Account:
    account = ctx.get(Account, account_id, what="account")
    if not scope.reaches_account(ctx, account.id):
        # the same answer as a missing account: an AR does not learn about other people's customers
        raise NotFound("account {id} not found among your customers", id=account_id)
    return account


def _ar_names(ctx: Context, account_ids) -> dict[int, str]:
    """The AR(s) of each account's opportunities, as a readable name list."""
    ids = list(set(account_ids))
    if not ids:
        return {}
    rows = ctx.session.exec(select(Opportunity.account_id, User.name).join(User, User.id == Opportunity.ar_id)
                            .where(Opportunity.account_id.in_(ids)).distinct()).all()
    out: dict[int, set] = {}
    for acc, name in rows:
        out.setdefault(acc, set()).add(name)
    return {acc: ", ".join(sorted(names)) for acc, names in out.items()}


def _as_of(ctx: Context, as_of) -> date:
    return as_of or ctx.today()


@action("billing.view")
def reach(ctx: Context) -> str | None:
    """How far the person's data scope reaches on invoices and payments: 'own', 'team' or 'all'."""
    return scope.level(ctx, "billing")


# -- lists -----------------------------------------------------------------------------------------

@action("billing.view")
def customers(ctx: Context) -> list[dict]:
    """The customers the person may see that have a signed (or closed) contract: [{id, name}] by name."""
    q = (select(Account.id, Account.name).join(Contract, Contract.account_id == Account.id)
         .where(Contract.status.in_([ContractStatus.SIGNED, ContractStatus.CLOSED])).distinct())
    rows = ctx.session.exec(scope.narrow(q, Account.id, scope.accounts(ctx))).all()
    return [{"id": i, "name": n} for i, n in sorted(rows, key=lambda r: (r[1].lower(), r[0]))]


@action("billing.view")
def to_invoice(ctx: Context) -> pd.DataFrame:
    """Released payment terms of signed contracts (or closed ones: a retention held at closure) with something not
    yet invoiced (ID is the term id)."""
    q = (select(PaymentTerm, Contract.number, Contract.account_id, Account.name)
         .join(Contract, Contract.id == PaymentTerm.contract_id).join(Account, Account.id == Contract.account_id)
         .where(PaymentTerm.released_on != None,  # noqa: E711
                Contract.status.in_([ContractStatus.SIGNED, ContractStatus.CLOSED]))
         .order_by(PaymentTerm.released_on, PaymentTerm.id))
    rows = ctx.session.exec(scope.narrow(q, PaymentTerm.contract_id, scope.contracts(ctx, "billing"))).all()
    ids = [t.id for t, *_ in rows]
    invoiced = dict(ctx.session.exec(select(Invoice.term_id, func.sum(Invoice.billed))
                                     .where(Invoice.term_id.in_(ids)).group_by(Invoice.term_id)).all()) if ids else {}
    ars = _ar_names(ctx, [acc for _, _, acc, _ in rows])
    out = []
    for term, number, acc, customer in rows:
        done = Decimal(invoiced.get(term.id) or 0)
        left = max(term.amount - done, ZERO)
        if left > 0:
            out.append({"ID": term.id, "Contract": number, "Customer": customer, "Term": term.name,
                        "Released on": term.released_on, "Amount": term.amount, "Invoiced": done, "Remaining": left,
                        "Due days": term.due_days, "AR": ars.get(acc, "")})
    return pd.DataFrame(out, columns=TO_INVOICE_COLUMNS)


def _invoice_rows(ctx: Context, *, open_only: bool = False, account_id: int | None = None,
                  limit: int | None = None):
    q = (select(Invoice, Contract.number, PaymentTerm.name, Account.name)
         .join(Contract, Contract.id == Invoice.contract_id).join(PaymentTerm, PaymentTerm.id == Invoice.term_id)
         .join(Account, Account.id == Invoice.account_id))
    if open_only:
        q = q.where(Invoice.status.in_(OPEN))
    if account_id is not None:
        q = q.where(Invoice.account_id == account_id)
    q = scope.narrow(q, Invoice.contract_id, scope.contracts(ctx, "billing"))
    q = q.order_by(Invoice.due_on.desc(), Invoice.id.desc())
    if limit:
        q = q.limit(limit)
    rows = ctx.session.exec(q).all()
    if open_only:
        rows = [r for r in rows if outstanding(r[0]) > 0]
    return rows


@action("billing.view")
def invoices(ctx: Context, *, as_of=None, open_only: bool = False, account_id: int | None = None,
             limit: int = 500) -> pd.DataFrame:
    """Invoices, latest due first (at most `limit`; 0 = all), with what is outstanding and how many days overdue."""
    as_of = _as_of(ctx, as_of)
    rows = _invoice_rows(ctx, open_only=open_only, account_id=account_id, limit=limit)
    ars = _ar_names(ctx, [inv.account_id for inv, *_ in rows])
    credited_ids = {inv.credits_id for inv, *_ in rows if inv.credits_id}
    credits = dict(ctx.session.exec(select(Invoice.id, Invoice.number).where(
        Invoice.id.in_(credited_ids))).all()) if credited_ids else {}
    out = []
    for inv, number, term, customer in rows:
        owed = outstanding(inv)
        out.append({"ID": inv.id, "Invoice": inv.number, "Kind": inv.kind.value,
                    "Credits": credits.get(inv.credits_id, "") if inv.credits_id else "", "Customer": customer,
                    "Contract": number, "Term": term, "Issued on": inv.issued_on, "Due on": inv.due_on,
                    "Amount": inv.amount, "Paid": inv.paid_amount, "Written off": inv.written_off,
                    "Credited": inv.credited, "Outstanding": owed,
                    "Status": inv.status.value,
                    "Days overdue": max(days_past_due(inv.due_on, as_of), 0) if owed > 0 else 0,
                    "AR": ars.get(inv.account_id, ""), "Version": inv.version})
    return pd.DataFrame(out, columns=INVOICE_COLUMNS)


@action("billing.view")
def payments(ctx: Context, *, account_id: int | None = None, unapplied_only: bool = False,
             limit: int = 200) -> pd.DataFrame:
    """Payments received, newest first (at most `limit`; 0 = all), with what was allocated and what is unapplied."""
    q = select(Payment, Account.name).join(Account, Account.id == Payment.account_id)
    if account_id is not None:
        q = q.where(Payment.account_id == account_id)
    if unapplied_only:
        q = q.where(Payment.unapplied > 0)
    q = scope.narrow(q, Payment.account_id, scope.accounts(ctx)).order_by(Payment.received_on.desc(), Payment.id.desc())
    rows = ctx.session.exec(q.limit(limit) if limit else q).all()
    return pd.DataFrame([{"ID": p.id, "Customer": customer, "Received on": p.received_on, "Amount": p.amount,
                          "Reference": p.reference, "Allocated": p.amount - p.unapplied, "Unapplied": p.unapplied,
                          "Version": p.version} for p, customer in rows], columns=PAYMENT_COLUMNS)


def _allocations(ctx: Context, payment_ids: list[int]) -> pd.DataFrame:
    if not payment_ids:
        return pd.DataFrame(columns=ALLOCATION_COLUMNS)
    rows = ctx.session.exec(select(Allocation, Invoice.number, Payment.reference)
                            .join(Invoice, Invoice.id == Allocation.invoice_id)
                            .join(Payment, Payment.id == Allocation.payment_id)
                            .where(Allocation.payment_id.in_(payment_ids))
                            .order_by(Allocation.allocated_on, Allocation.id)).all()
    # a payment by its bank reference (its id only when it has none), as the invoice's own list says it
    return pd.DataFrame([{"ID": a.id, "Payment ID": a.payment_id, "Payment": ref or f"#{a.payment_id}",
                          "Invoice ID": a.invoice_id, "Invoice": number, "Amount": a.amount,
                          "Allocated on": a.allocated_on} for a, number, ref in rows], columns=ALLOCATION_COLUMNS)


@action("billing.view")
def payment_result(ctx: Context, payment_id: int) -> dict:
    """One payment as allocated: {payment, account_id, customer, amount, received_on, reference, unapplied,
    allocations (DataFrame)}."""
    p = ctx.get(Payment, payment_id, what="payment")
    account = _check_account(ctx, p.account_id)
    return {"payment": p.id, "account_id": account.id, "customer": account.name, "amount": p.amount,
            "received_on": p.received_on, "reference": p.reference, "unapplied": p.unapplied,
            "allocations": _allocations(ctx, [p.id])}


# -- ageing and dunning ----------------------------------------------------------------------------

@action("billing.view")
def ageing(ctx: Context, *, as_of=None) -> pd.DataFrame:
    """AR ageing (账龄) by customer as of a day: what is outstanding, in the configured buckets of days
    past due, with what is not yet due under 'Current'. Each row's buckets add up to its 'Total', and the
    totals to every outstanding receivable the person may see. Largest total first."""
    as_of = _as_of(ctx, as_of)
    buckets = ageing_buckets()
    columns = ["Customer ID", "Customer", "Current"] + [b[0] for b in buckets] + ["Total"]
    table: dict[int, dict] = {}
    for inv, _, _, customer in _invoice_rows(ctx, open_only=True):
        row = table.setdefault(inv.account_id, {"Customer ID": inv.account_id, "Customer": customer,
                                                **{c: ZERO for c in columns[2:]}})
        owed = outstanding(inv)
        row[_band(buckets, days_past_due(inv.due_on, as_of)) or "Current"] += owed
        row["Total"] += owed
    rows = sorted(table.values(), key=lambda r: (-r["Total"], r["Customer"]))
    return pd.DataFrame(rows, columns=columns)


@action("billing.view")
def dunning(ctx: Context, *, as_of=None) -> pd.DataFrame:
    """Overdue invoices (催款) by dunning level, highest level and oldest first, with the customer's contact
    and the AR who owns the account."""
    as_of = _as_of(ctx, as_of)
    levels = dunning_levels()
    rows = []
    for inv, _, _, customer in _invoice_rows(ctx, open_only=True):
        days = days_past_due(inv.due_on, as_of)
        level = _band(levels, days)
        if level is not None:
            rows.append((inv, customer, level, days))
    accounts = list({inv.account_id for inv, *_ in rows})
    contacts: dict[int, Contact] = {}
    if accounts:
        for c in ctx.session.exec(select(Contact).where(Contact.account_id.in_(accounts))
                                  .order_by(Contact.id.desc())).all():
            contacts[c.account_id] = c   # ordered newest first, so the first (oldest) contact wins
    ars = _ar_names(ctx, accounts)
    out = []
    for inv, customer, level, days in rows:
        c = contacts.get(inv.account_id)
        out.append({"Level": int(level) if str(level).isdigit() else level, "Days overdue": days,
                    "Customer": customer, "Contact": c.name if c else "", "Phone": c.phone if c else "",
                    "Email": c.email if c else "", "Invoice": inv.number, "Due on": inv.due_on,
                    "Outstanding": outstanding(inv), "AR": ars.get(inv.account_id, ""), "ID": inv.id})
    out.sort(key=lambda r: (-r["Days overdue"], r["Invoice"]))
    return pd.DataFrame(out, columns=DUNNING_COLUMNS)


# -- statement -------------------------------------------------------------------------------------

@action("billing.view")
def statement(ctx: Context, account_id: int, *, as_of=None) -> dict:
    """A customer's statement: invoices, credit notes, payments, allocations and write-offs, with a running
    balance (invoiced − credited − received − written off; a voided invoice shows in the invoices, not as a line)
    and the totals:
    {customer, invoiced, credited, received, allocated, written_off, outstanding, unapplied, balance, lines,
     invoices, payments, allocations}. balance = outstanding − unapplied (cash received but not yet applied)."""
    as_of = _as_of(ctx, as_of)
    account = _check_account(ctx, account_id)
    inv_df = invoices(ctx, as_of=as_of, account_id=account.id, limit=0)
    pay_df = payments(ctx, account_id=account.id, limit=0)
    alloc_df = _allocations(ctx, [int(i) for i in pay_df["ID"]])
    inv_ids = [int(i) for i in inv_df["ID"]]
    write_offs = ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == GateKind.WRITE_OFF, GateDecision.subject_type == "invoice",
        GateDecision.subject_id.in_(inv_ids), GateDecision.decision == Decision.APPROVE)
        .order_by(GateDecision.decided_at, GateDecision.id)).all() if inv_ids else []
    numbers = dict(zip(inv_df["ID"], inv_df["Invoice"]))

    events = []   # (date, order, id, type, reference, debit, credit)
    for _, r in inv_df.iterrows():
        if r["Kind"] == InvoiceKind.CREDIT_NOTE:   # a credit note credits the customer what it takes off
            events.append((r["Issued on"], 1, r["ID"], "credit-note", f"{r['Invoice']} ({r['Credits']})", ZERO,
                           -r["Amount"]))   # after the invoices of its day: the balance never dips below
        elif r["Status"] != InvoiceStatus.VOID:
            events.append((r["Issued on"], 0, r["ID"], "invoice", r["Invoice"], r["Amount"], ZERO))
    for _, r in pay_df.iterrows():
        events.append((r["Received on"], 2, r["ID"], "payment", r["Reference"] or f"payment {r['ID']}", ZERO,
                       r["Amount"]))
    for w in write_offs:
        events.append((clock.local_date(w.decided_at), 3, w.id, "write-off", numbers.get(w.subject_id, ""),
                       ZERO, w.amount or ZERO))
    events.sort(key=lambda e: e[:3])   # by day, then kind, then as recorded
    balance, lines = ZERO, []
    for day, _, _, kind, ref, debit, credit in events:
        balance += debit - credit
        lines.append({"Date": day, "Type": kind, "Reference": ref, "Debit": debit, "Credit": credit,
                      "Balance": balance})

    def total(df, col):
        return sum((Decimal(v) for v in df[col]), ZERO) if not df.empty else ZERO

    owed, unapplied = total(inv_df, "Outstanding"), total(pay_df, "Unapplied")
    notes = inv_df[inv_df["Kind"] == InvoiceKind.CREDIT_NOTE]
    return {"customer": account.name, "account_id": account.id, "as_of": as_of,
            "invoiced": total(inv_df[inv_df["Kind"] == InvoiceKind.INVOICE], "Amount"),
            "credited": -total(notes, "Amount"), "received": total(pay_df, "Amount"),
            "allocated": total(alloc_df, "Amount"), "written_off": total(inv_df, "Written off"),
            "outstanding": owed, "unapplied": unapplied, "balance": owed - unapplied,
            "lines": pd.DataFrame(lines, columns=LINE_COLUMNS), "invoices": inv_df, "payments": pay_df,
            "allocations": alloc_df}


# -- write-offs ------------------------------------------------------------------------------------

@action("billing.view")
def pending_write_offs(ctx: Context) -> pd.DataFrame:
    """Write-off requests waiting for a leader's decision: the step open now of each (a second leader's step
    shows once the first approved)."""
    q = (select(GateDecision, Invoice, Account.name, User.name)
         .join(Invoice, Invoice.id == GateDecision.subject_id).join(Account, Account.id == Invoice.account_id)
         .outerjoin(User, User.id == GateDecision.requested_by_id)
         .where(GateDecision.kind == GateKind.WRITE_OFF, GateDecision.subject_type == "invoice",
                GateDecision.decision == Decision.PENDING)
         .order_by(GateDecision.requested_at, GateDecision.id))
    rows = [r for r in ctx.session.exec(scope.narrow(q, Invoice.contract_id, scope.contracts(ctx, "billing"))).all()
            if approvals.is_open(ctx, r[0])]
    return pd.DataFrame([{"ID": g.id, "Invoice ID": inv.id, "Invoice": inv.number, "Customer": customer,
                          "Amount": g.amount, "Outstanding": outstanding(inv), "Reason": g.rationale,
                          "Requested by": who or "", "Requested at": g.requested_at}
                         for g, inv, customer, who in rows], columns=WRITE_OFF_COLUMNS)


# -- one record ------------------------------------------------------------------------------------

INVOICE_ALLOCATION_COLUMNS = ["ID", "Payment ID", "Payment", "Received on", "Amount", "Allocated on"]
CREDIT_NOTE_COLUMNS = ["ID", "Credit note", "Issued on", "Amount", "Reason"]
REQUEST_COLUMNS = ["ID", "Step", "Amount", "Decision", "Waits for", "Reason", "Requested by", "Requested at",
                   "Decided by", "On behalf of", "Decided at"]


@action("billing.view")
def invoice_detail(ctx: Context, invoice_id: int) -> dict:
    """One invoice as the invoice list shows it ({ID, Invoice, Customer, ..., Status, Days overdue, AR}) with
    `allocations` (the payments applied to it; a credit note's take-back negative), `credit_notes` (those
    crediting it), `write_offs` (its write-off requests and decisions), and a void's or a credit note's Reason. An
    invoice of a customer the person may not see is NotFound, like a missing one."""
    invoice = ctx.get(Invoice, invoice_id, what="invoice")   # out of the person's scope: not found (core.scope)
    row = invoices(ctx, account_id=invoice.account_id, limit=0)
    row = row[row["ID"] == invoice.id].iloc[0].to_dict()
    row["Customer ID"] = invoice.account_id
    row["Reason"], row["Voided on"], row["Voided amount"] = invoice.reason, invoice.voided_on, invoice.voided_amount
    notes = ctx.session.exec(select(Invoice).where(Invoice.credits_id == invoice.id).order_by(Invoice.id)).all()
    row["credit_notes"] = pd.DataFrame([{"ID": n.id, "Credit note": n.number, "Issued on": n.issued_on,
                                         "Amount": -n.amount, "Reason": n.reason} for n in notes],
                                       columns=CREDIT_NOTE_COLUMNS)
    allocs = ctx.session.exec(select(Allocation, Payment).join(Payment, Payment.id == Allocation.payment_id)
                              .where(Allocation.invoice_id == invoice.id)
                              .order_by(Allocation.allocated_on, Allocation.id)).all()
    row["allocations"] = pd.DataFrame(
        [{"ID": a.id, "Payment ID": p.id, "Payment": p.reference or f"#{p.id}", "Received on": p.received_on,
          "Amount": a.amount, "Allocated on": a.allocated_on} for a, p in allocs], columns=INVOICE_ALLOCATION_COLUMNS)
    gates_ = ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == GateKind.WRITE_OFF, GateDecision.subject_type == "invoice",
        GateDecision.subject_id == invoice.id).order_by(GateDecision.requested_at, GateDecision.id)).all()
    people = {u.id: u.name for u in ctx.session.exec(select(User).where(User.id.in_(
        {g.requested_by_id for g in gates_} | {g.decided_by_id for g in gates_}
        | {g.on_behalf_of_id for g in gates_}))).all()} if gates_ else {}
    row["write_offs"] = pd.DataFrame(   # each step of each request (config/approvals.toml), who decided it
        [{"ID": g.id, "Step": g.reviewer_role, "Amount": g.amount, "Decision": g.decision.value,
          "Waits for": ", ".join(approvals.waiting_for(ctx, g)) if g.decision == Decision.PENDING else "",
          "Reason": g.rationale, "Requested by": people.get(g.requested_by_id, ""), "Requested at": g.requested_at,
          "Decided by": people.get(g.decided_by_id, ""), "On behalf of": people.get(g.on_behalf_of_id, ""),
          "Decided at": g.decided_at} for g in gates_],
        columns=REQUEST_COLUMNS)
    return row
