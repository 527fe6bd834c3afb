"""Invoicing and collection (开票与回款): invoices against released terms, payments and their allocation,
write-offs approved by a leader.

An invoice never exceeds what its term has released and not yet invoiced. A payment is allocated to the
account's invoices (oldest due first unless told otherwise); what is left stays on the payment as
unapplied cash, never silently lost. Invoice paid amounts move in the same transaction as allocations.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import select

from config.settings import load
from core import approvals, calculations, gates, validate
from core.context import Context, snapshot
from core.enums import ContractStatus, Decision, GateKind, InvoiceKind, InvoiceStatus, Trigger
from core.errors import AmountError, DuplicateError, GateError, ValidationError
from core.lifecycle import Lifecycle, Step, register
from core.messages import Text, code, kind
from core.models import Account, Allocation, Contract, GateDecision, Invoice, Milestone, Payment, PaymentTerm, Refund
from core.services import action
from core.services.contracts import label, not_future
from core.types import CENT, fmt_money

NUMBER_RETRIES = 5


def outstanding(invoice: Invoice) -> Decimal:
    """What the customer still owes on an invoice: amount − paid − written off."""
    return calculations.outstanding(invoice)


def status_for(invoice: Invoice) -> InvoiceStatus:
    if invoice.status == InvoiceStatus.VOID or invoice.kind == InvoiceKind.CREDIT_NOTE:
        return invoice.status
    if outstanding(invoice) <= 0:
        if invoice.written_off > 0:
            return InvoiceStatus.WRITTEN_OFF
        return InvoiceStatus.CREDITED if invoice.credited >= invoice.amount else InvoiceStatus.PAID
    return InvoiceStatus.PARTLY_PAID if invoice.paid_amount > 0 or invoice.written_off > 0 else InvoiceStatus.ISSUED


def _restatus(ctx: Context, invoice: Invoice) -> None:
    ctx.move(invoice, "status", status_for(invoice))


def parse_tax_rate(value=None) -> Decimal:
    """A VAT rate between 0 and 1: '6%', '6' and '0.06' all mean 6%; None is the configured default."""
    if value is None or (isinstance(value, str) and not value.strip()):
        value = load("finance")["default_tax_rate"]
    raw = str(value).strip()
    rate = validate.number(raw[:-1] if raw.endswith("%") else raw)   # finite, plain digits (no '1_0', no NaN)
    if rate is None:
        raise ValidationError("{field}: {got!r} is not a rate", field="tax_rate", got=str(value)[:40])
    if raw.endswith("%") or rate >= 1:
        rate = rate / 100
    if not 0 <= rate < 1:
        raise ValidationError("{field}: must be from 0% to below 100% (got {got!r})", field="tax_rate", got=raw[:40])
    return rate.quantize(Decimal("0.000001"))


def tax_in(amount: Decimal, rate: Decimal) -> Decimal:
    """The tax included in a gross amount."""
    return (amount * rate / (1 + rate)).quantize(CENT, ROUND_HALF_UP)


def _trigger_text(ctx: Context, contract: Contract, term: PaymentTerm) -> Text:
    if term.trigger == Trigger.SIGNING:
        return Text("signing")
    if term.trigger == Trigger.ACCEPTANCE:
        ms = ctx.session.get(Milestone, term.milestone_id)
        return Text("final acceptance of milestone '{name}'", name=ms.name if ms else term.milestone_id)
    if contract.warranty_ends_on:
        return Text("the end of warranty ({ends})", ends=contract.warranty_ends_on.isoformat())
    return Text("the end of warranty")


# -- lifecycles: a term is invoiced; an invoice is corrected, written off (requested, then decided); a payment's
# unapplied cash is allocated. The services run these guards; core.queries.offers answers the pages with them.

def _contract(ctx: Context, record) -> Contract:
    return ctx.get(Contract, record.contract_id)


def _term_label(term: PaymentTerm) -> Text:
    return Text("term '{name}'", name=term.name)


def _term_signed(ctx: Context, term: PaymentTerm) -> Text | None:
    contract = _contract(ctx, term)
    if contract.status == ContractStatus.CLOSED and term.trigger == Trigger.WARRANTY:
        return None   # a retention held at closure is invoiced and collected after it (core.services.closure)
    if contract.status != ContractStatus.SIGNED:
        return Text("{label} is {status}; invoices are issued only on a signed contract", label=label(contract),
                    status=code(contract.status))
    return None


def _term_released(ctx: Context, term: PaymentTerm) -> Text | None:
    if term.released_on is None:
        contract = _contract(ctx, term)
        why = Text("it was replaced by a change order") if not term.active else \
            Text("it becomes billable on {trigger}", trigger=_trigger_text(ctx, contract, term))
        return Text("term '{name}' of {label} is not released, so nothing can be invoiced on it yet: {why}",
                    name=term.name, label=label(contract), why=why)
    return None


def _invoice_label(invoice: Invoice) -> Text:
    return Text("invoice '{number}'", number=invoice.number)


def _invoice_signed(ctx: Context, invoice: Invoice) -> Text | None:
    contract = _contract(ctx, invoice)
    if contract.status != ContractStatus.SIGNED:
        return Text("{label} is {status}; its invoices no longer change", label=label(contract),
                    status=code(contract.status))
    return None


def _owed(ctx: Context, invoice: Invoice) -> Text | None:
    if outstanding(invoice) <= 0:
        return Text("write-off: invoice '{number}' has nothing outstanding", number=invoice.number)
    return None


def _write_off_pending(ctx: Context, invoice: Invoice) -> list[GateDecision]:
    return approvals.pending_steps(ctx, GateKind.WRITE_OFF, "invoice", invoice.id)


def _no_request(ctx: Context, invoice: Invoice) -> Text | None:
    if _write_off_pending(ctx, invoice):
        return Text("{gate}: {subject} {id} already has a request pending with the {role} reviewer; wait for that "
                    "decision", gate=GateKind.WRITE_OFF.value.upper(), subject=kind("invoice"), id=invoice.id,
                    role="leader")
    return None


def _request_pending(ctx: Context, invoice: Invoice) -> Text | None:
    if not _write_off_pending(ctx, invoice):
        return Text("write-off: invoice '{number}' has no write-off request pending", number=invoice.number)
    return None


def _an_invoice(ctx: Context, invoice: Invoice) -> Text | None:
    if invoice.kind == InvoiceKind.CREDIT_NOTE:
        return Text("{label} is a credit note; correct the invoice it credits instead", label=_invoice_label(invoice))
    if invoice.status == InvoiceStatus.VOID:
        return Text("{label} is void", label=_invoice_label(invoice))
    return None


def _unpaid(ctx: Context, invoice: Invoice) -> Text | None:
    if invoice.paid_amount > 0 or invoice.written_off > 0 or invoice.credited > 0:
        return Text("{label} has {paid} paid, {written_off} written off and {credited} credited; only an invoice "
                    "with none of these is voided: issue a credit note instead", label=_invoice_label(invoice),
                    paid=fmt_money(invoice.paid_amount), written_off=fmt_money(invoice.written_off),
                    credited=fmt_money(invoice.credited))
    return _no_request(ctx, invoice)


def _creditable(ctx: Context, invoice: Invoice) -> Text | None:
    if creditable(invoice) <= 0:
        return Text("{label} has nothing left to credit ({amount} invoiced, {credited} credited, {written_off} "
                    "written off)", label=_invoice_label(invoice), amount=fmt_money(invoice.amount),
                    credited=fmt_money(invoice.credited), written_off=fmt_money(invoice.written_off))
    return _no_request(ctx, invoice)


def _is_invoice(ctx: Context, invoice: Invoice) -> bool:
    """A credit note is corrected through the invoice it credits: its own view offers none of these."""
    return invoice.kind == InvoiceKind.INVOICE


def _not_voidable(invoice: Invoice, allowed) -> Text:
    return Text("{label} is {status}; only an unpaid invoice is voided: issue a credit note instead",
                label=_invoice_label(invoice), status=code(invoice.status))


def creditable(invoice: Invoice) -> Decimal:
    """What a credit note may still take off an invoice: its amount less what was credited or written off."""
    return invoice.amount - invoice.credited - invoice.written_off


def _payment_label(payment: Payment) -> Text:
    return Text("payment {ref}", ref=payment.reference or payment.id)


def _unapplied(ctx: Context, payment: Payment) -> Text | None:
    if payment.unapplied <= 0:
        return Text("{label} is applied in full; nothing is left to allocate", label=_payment_label(payment))
    return None


TERM_LIFECYCLE = register(Lifecycle("term", "released_on", _term_label, {
    "invoice.issue": Step((), (_term_signed, _term_released)),
}))
CORRECTABLE = (InvoiceStatus.ISSUED, InvoiceStatus.PARTLY_PAID, InvoiceStatus.PAID)
LIFECYCLE = register(Lifecycle("invoice", "status", _invoice_label, {
    "invoice.update": Step((), (_an_invoice, _invoice_signed)),
    "invoice.void": Step((InvoiceStatus.ISSUED,), (_an_invoice, _invoice_signed, _unpaid), _not_voidable,
                         applies_in=CORRECTABLE, applies_if=_is_invoice),
    "invoice.credit": Step(CORRECTABLE, (_an_invoice, _invoice_signed, _creditable), applies_if=_is_invoice),
    "writeoff.request": Step((), (_owed, _no_request), applies_if=_is_invoice),
    "writeoff.decide": Step((), (_request_pending,), applies_if=_is_invoice),
}))
def _refundable(ctx: Context, payment: Payment) -> Text | None:
    if payment.unapplied <= 0:
        return Text("{label} is applied in full; nothing is left to refund", label=_payment_label(payment))
    return None


PAYMENT_LIFECYCLE = register(Lifecycle("payment", "unapplied", _payment_label, {
    "payment.allocate": Step((), (_unapplied,)),
    "payment.refund": Step((), (_refundable,)),
}))


# -- numbering -------------------------------------------------------------------------------------

def next_number(ctx: Context, year: int, series: str = "INV") -> str:
    """The next number of a series in a year: INV-2026-0001 for invoices, CN-2026-0001 for credit notes."""
    prefix = f"{series}-{year}-"
    taken = ctx.session.exec(select(Invoice.number).where(Invoice.number.like(prefix + "%"))).all()
    seqs = [int(n[len(prefix):]) for n in taken if n[len(prefix):].isdigit()]
    return f"{prefix}{max(seqs, default=0) + 1:04d}"


def _insert(ctx: Context, invoice: Invoice) -> bool:
    """Insert under the unique number; False when someone else took the number meanwhile."""
    session = ctx.session
    if session.get_bind().dialect.name == "sqlite":
        # SQLite runs one writer at a time, and pysqlite's SAVEPOINT would end our transaction early
        session.add(invoice)
        try:
            session.flush()
        except IntegrityError:
            return False
        return True
    try:
        with session.begin_nested():
            session.add(invoice)
            session.flush()
    except IntegrityError:
        return False
    return True


def _claim(ctx: Context, term: PaymentTerm) -> None:
    """Bump the term's version: two invoices issued on one term at the same moment cannot both pass the
    released-and-not-invoiced check, the second is refused as stale."""
    flag_modified(term, "amount")
    ctx.session.add(term)
    ctx.session.flush()


def _number_unused(ctx: Context, number: str | None) -> None:
    """A number typed by hand must be free (invoices and credit notes share one set of numbers)."""
    if number is not None and ctx.session.exec(select(Invoice.id).where(Invoice.number == number)).first():
        raise DuplicateError("{field}: invoice number '{number}' is already used", field="number", number=number)


def _insert_numbered(ctx: Context, make: Callable[[str], Invoice], *, number: str | None, shown: str, year: int,
                     series: str = "INV") -> Invoice:
    """Insert the row `make(number)` under its number: a number typed by hand once; an automatic one taken by a
    concurrent issue meanwhile (PostgreSQL) is replaced by the next of its series, a few times."""
    for _ in range(NUMBER_RETRIES if number is None else 1):
        row = make(shown)
        if _insert(ctx, row):
            return row
        if ctx.session.get_bind().dialect.name == "sqlite":
            break
        shown = next_number(ctx, year, series)   # taken by a concurrent issue: take the next one
    raise DuplicateError("{field}: invoice number '{number}' was taken by another invoice at the same time; issue it "
                         "again", field="number", number=shown)


# -- invoices --------------------------------------------------------------------------------------

@action("invoice.issue")
def issue_invoice(ctx: Context, term_id: int, *, amount, number: str | None = None, issued_on=None,
                  tax_rate=None) -> int:
    with validate.Collect() as check:   # every bad field of the form at once
        amount = check(validate.amount, "amount", amount)
        number = check(validate.text, "number", number, max_len=64) or None
        issued_on = check(not_future, ctx, "issued_on", issued_on)
        rate = check(parse_tax_rate, tax_rate)
    term = ctx.get(PaymentTerm, term_id, what="payment term")
    contract = ctx.get(Contract, term.contract_id)
    TERM_LIFECYCLE.require(ctx, "invoice.issue", term)
    if issued_on < term.released_on:
        raise ValidationError("{field}: {got} is before term '{name}' was released ({released})", field="issued_on",
                              got=issued_on.isoformat(), name=term.name, released=term.released_on.isoformat())
    _number_unused(ctx, number)
    shown = number or next_number(ctx, issued_on.year)
    available = calculations.released_not_invoiced(ctx.session, term.id)
    if amount > available:
        raise AmountError("invoice '{number}' of {amount} exceeds what term '{name}' has released and not yet "
                          "invoiced ({available})", number=shown, amount=fmt_money(amount), name=term.name,
                          available=fmt_money(available))

    invoice = _insert_numbered(ctx, lambda n: Invoice(
        number=n, contract_id=contract.id, term_id=term.id, account_id=contract.account_id, amount=amount,
        billed=amount, tax_rate=rate, tax_amount=tax_in(amount, rate), issued_on=issued_on,
        due_on=issued_on + timedelta(days=term.due_days), status=InvoiceStatus.ISSUED),
        number=number, shown=shown, year=issued_on.year)
    ctx.audit("invoice.issue", invoice)
    _claim(ctx, term)
    return invoice.id


@action("invoice.update")
def update_invoice(ctx: Context, invoice_id: int, *, version: int | None = None, due_on=None, tax_rate=None,
                   amount=None) -> None:
    """Correct an invoice: due date, tax rate, or its amount while nothing is paid or written off."""
    invoice = ctx.get(Invoice, invoice_id, version=version)
    LIFECYCLE.require(ctx, "invoice.update", invoice)
    before = snapshot(invoice)
    if due_on is not None:
        due = validate.day("due_on", due_on)
        if due < invoice.issued_on:
            raise ValidationError("{field}: {got} is before the invoice was issued ({issued})", field="due_on",
                                  got=due.isoformat(), issued=invoice.issued_on.isoformat())
        invoice.due_on = due
    if tax_rate is not None:
        if isinstance(tax_rate, str) and not tax_rate.strip():   # a cleared cell: no silent reset to the default
            raise ValidationError("{field}: is empty; give the invoice's rate, e.g. 13%", field="tax_rate")
        invoice.tax_rate = parse_tax_rate(tax_rate)
    if amount is not None:
        new = validate.amount("amount", amount)
        if new != invoice.amount:
            if invoice.credited > 0:
                raise GateError("invoice '{number}' has {credited} credited; its amount no longer changes",
                                number=invoice.number, credited=fmt_money(invoice.credited))
            if invoice.paid_amount > 0 or invoice.written_off > 0:
                raise GateError("invoice '{number}' has {paid} paid and {written_off} written off; its amount no "
                                "longer changes", number=invoice.number, paid=fmt_money(invoice.paid_amount),
                                written_off=fmt_money(invoice.written_off))
            term = ctx.get(PaymentTerm, invoice.term_id, what="payment term")
            available = calculations.released_not_invoiced(ctx.session, term.id) + invoice.amount
            if new > available:
                raise AmountError("invoice '{number}' of {amount} exceeds what term '{name}' has released and not yet "
                                  "invoiced ({available})", number=invoice.number, amount=fmt_money(new),
                                  name=term.name, available=fmt_money(available))
            invoice.amount = invoice.billed = new
            _claim(ctx, term)
    invoice.tax_amount = tax_in(invoice.amount, invoice.tax_rate)
    ctx.audit("invoice.update", invoice, before=before)


# -- corrections: void (作废) and credit notes (红字发票) --------------------------------------------

@action("invoice.void")
def void_invoice(ctx: Context, invoice_id: int, *, reason: str, version: int | None = None) -> None:
    """Void an unpaid invoice issued by mistake: it keeps its number (and what it was, in voided_amount) but
    counts nothing any more, as if never issued, so its term's amount can be invoiced again."""
    reason = validate.text("reason", reason, max_len=500, required=True)
    invoice = ctx.get(Invoice, invoice_id, what="invoice", version=version)
    LIFECYCLE.require(ctx, "invoice.void", invoice)
    before = snapshot(invoice)
    invoice.voided_amount, invoice.voided_on, invoice.reason = invoice.amount, ctx.today(), reason
    invoice.amount = invoice.billed = invoice.tax_amount = Decimal("0.00")
    ctx.move(invoice, "status", InvoiceStatus.VOID)
    ctx.audit("invoice.void", invoice, before=before)
    _claim(ctx, ctx.get(PaymentTerm, invoice.term_id, what="payment term"))


@action("invoice.credit")
def issue_credit_note(ctx: Context, invoice_id: int, *, reason: str, amount=None, issued_on=None,
                      number: str | None = None, reinvoice: bool = False) -> int:
    """A credit note (红字发票) for part or all of an invoice (all that is left when no amount is given),
    numbered in its own series (CN-YYYY-NNNN). It reduces what the invoice owes. A concession (the default)
    lowers what the customer owes for good; `reinvoice` corrects an invoice that was wrong, giving its term that
    much to invoice again. What the credit takes off an amount already paid becomes unapplied cash of the
    customer (taken back from the invoice's newest allocations, dated the credit's day), to apply or refund."""
    if not isinstance(reinvoice, bool):
        raise ValidationError("{field}: must be true or false", field="reinvoice")
    with validate.Collect() as check:
        reason = check(validate.text, "reason", reason, max_len=500, required=True)
        amount = check(_share, amount, "amount")
        issued_on = check(not_future, ctx, "issued_on", issued_on)
        number = check(validate.text, "number", number, max_len=64) or None
    invoice = ctx.get(Invoice, invoice_id, what="invoice")
    LIFECYCLE.require(ctx, "invoice.credit", invoice)
    left = creditable(invoice)
    amount = left if amount is None else amount
    if amount > left:
        raise AmountError("credit note of {amount} on invoice '{number}' exceeds what can still be credited on it "
                          "({left}: {invoiced} invoiced, {credited} credited, {written_off} written off)",
                          field="amount", amount=fmt_money(amount), number=invoice.number, left=fmt_money(left),
                          invoiced=fmt_money(invoice.amount), credited=fmt_money(invoice.credited),
                          written_off=fmt_money(invoice.written_off))
    if issued_on < invoice.issued_on:
        raise ValidationError("{field}: {got} is before invoice '{number}' was issued ({issued})", field="issued_on",
                              got=issued_on.isoformat(), number=invoice.number, issued=invoice.issued_on.isoformat())
    _number_unused(ctx, number)
    refund_part = max(amount - outstanding(invoice), Decimal("0.00"))   # the part already paid
    note = _insert_numbered(ctx, lambda n: Invoice(
        number=n, kind=InvoiceKind.CREDIT_NOTE, credits_id=invoice.id, contract_id=invoice.contract_id,
        term_id=invoice.term_id, account_id=invoice.account_id, amount=-amount,
        billed=-amount if reinvoice else Decimal("0.00"), tax_rate=invoice.tax_rate,
        tax_amount=-tax_in(amount, invoice.tax_rate), issued_on=issued_on, due_on=invoice.due_on, reason=reason,
        status=InvoiceStatus.ISSUED),
        number=number, shown=number or next_number(ctx, issued_on.year, "CN"), year=issued_on.year, series="CN")
    ctx.audit("invoice.credit", note)
    before = snapshot(invoice)
    if refund_part > 0:
        _unallocate(ctx, invoice, refund_part, issued_on)
    invoice.credited += amount
    _restatus(ctx, invoice)
    ctx.audit("invoice.credit", invoice, before=before)
    _claim(ctx, ctx.get(PaymentTerm, invoice.term_id, what="payment term"))
    return note.id


def _unallocate(ctx: Context, invoice: Invoice, amount: Decimal, on: date) -> None:
    """Take `amount` of the cash applied to an invoice back to its payments' unapplied cash, newest allocation
    first, as negative allocations dated `on` (the books as of an earlier day stay as they were)."""
    net: dict[int, Decimal] = {}
    for pay_id, part in ctx.session.exec(select(Allocation.payment_id, Allocation.amount).where(
            Allocation.invoice_id == invoice.id).order_by(Allocation.allocated_on, Allocation.id)).all():
        net[pay_id] = net.get(pay_id, Decimal("0.00")) + part
    for pay_id in reversed(list(net)):
        part = min(net[pay_id], amount)
        if part <= 0:
            continue
        payment = ctx.session.get(Payment, pay_id)
        pay_before = snapshot(payment)
        ctx.audit("invoice.credit", Allocation(payment_id=pay_id, invoice_id=invoice.id, amount=-part,
                                                allocated_on=max(on, payment.received_on)))
        payment.unapplied += part
        ctx.audit("invoice.credit", payment, before=pay_before)
        invoice.paid_amount -= part
        amount -= part
        if amount <= 0:
            return


# -- payments --------------------------------------------------------------------------------------

def open_invoices(ctx: Context, account_id: int) -> list[Invoice]:
    """The account's invoices with money outstanding, oldest due first, locked until the transaction ends
    (PostgreSQL; SQLite has one writer anyway): two clerks' payments for one customer are allocated one after
    the other, each seeing what the other left, instead of one being refused as stale."""
    rows = ctx.session.exec(select(Invoice).where(
        Invoice.account_id == account_id,
        Invoice.status.in_([InvoiceStatus.ISSUED, InvoiceStatus.PARTLY_PAID]))
        .order_by(Invoice.due_on, Invoice.issued_on, Invoice.id)
        .with_for_update().execution_options(populate_existing=True)).all()
    return [inv for inv in rows if outstanding(inv) > 0]


def _allocate(ctx: Context, payment: Payment, invoice: Invoice, amount: Decimal, on: date) -> None:
    if invoice.account_id != payment.account_id:
        raise ValidationError("allocation: invoice '{number}' belongs to another customer than payment {id}",
                              field="allocate_to", number=invoice.number, id=payment.id)
    owed = outstanding(invoice)
    if amount > owed:
        raise AmountError("allocation of {amount} to invoice '{number}' exceeds what is outstanding on it ({owed})",
                          amount=fmt_money(amount), number=invoice.number, owed=fmt_money(owed))
    if amount > payment.unapplied:
        raise AmountError("allocation of {amount} to invoice '{number}' exceeds what is left of {payment} ({left})",
                          amount=fmt_money(amount), number=invoice.number, payment=_payment_label(payment),
                          left=fmt_money(payment.unapplied))
    ctx.audit("payment.allocate", Allocation(payment_id=payment.id, invoice_id=invoice.id, amount=amount,
                                              allocated_on=on))
    inv_before, pay_before = snapshot(invoice), snapshot(payment)
    invoice.paid_amount += amount
    _restatus(ctx, invoice)
    ctx.audit("payment.allocate", invoice, before=inv_before)
    payment.unapplied -= amount
    ctx.audit("payment.allocate", payment, before=pay_before)


def _same_reference(ctx: Context, account_id: int, reference: str) -> Payment | None:
    """A payment of this customer already recorded under this bank reference (spaces and case aside)."""
    if not reference:
        return None
    return ctx.session.exec(select(Payment).where(
        Payment.account_id == account_id,
        func.lower(func.trim(Payment.reference)) == reference.strip().lower()).limit(1)).first()


def _share(text, field: str) -> Decimal | None:
    """An allocation's amount; left empty it is None: as much as the payment and the invoice allow."""
    return None if text is None or str(text).strip() == "" else validate.amount(field, text)


def _invoice_paid_for(ctx: Context, account: Account, invoice_id) -> Invoice:
    """The invoice a payment names, when it is the customer's and still owes something."""
    invoice = ctx.get(Invoice, invoice_id, what="invoice")
    if invoice.account_id != account.id:
        raise ValidationError("payment: invoice '{number}' is another customer's, not {customer}'s",
                              field="for_invoice", number=invoice.number, customer=account.name)
    if outstanding(invoice) <= 0:
        raise AmountError("payment: invoice '{number}' has nothing outstanding ({status}); name an open invoice of "
                          "{customer}, or none to apply the payment oldest due first", field="for_invoice",
                          number=invoice.number, status=invoice.status.value, customer=account.name)
    return invoice


def _not_before_received(payment: Payment, field: str, on: date) -> None:
    """Cash is applied or paid back only from the day it came in."""
    if on < payment.received_on:
        raise ValidationError("{field}: {got} is before the payment was received ({received})", field=field,
                              got=on.isoformat(), received=payment.received_on.isoformat())


def _most(left: Decimal, invoice: Invoice) -> Decimal:
    """An allocation left empty: what the invoice owes, up to what the payment has left (never nothing)."""
    part = min(left, outstanding(invoice))
    if part <= 0:
        raise AmountError("allocation to invoice '{number}': nothing to apply ({owed} outstanding on it, {left} left "
                          "of the payment)", number=invoice.number, owed=fmt_money(outstanding(invoice)),
                          left=fmt_money(max(left, Decimal("0.00"))))
    return part


@action("payment.record")
def record_payment(ctx: Context, *, account_id: int, amount, received_on=None, reference: str = "",
                   allocate_to: list[tuple[int, object]] | None = None, for_invoice: int | None = None) -> int:
    """Record cash received. Allocated oldest due first among the account's open invoices unless
    `allocate_to` [(invoice_id, amount), ...] says otherwise (an amount left empty: as much as the invoice
    owes and the payment has left); what is left stays unapplied. `for_invoice`, the invoice a remittance
    names (a sheet's Payments row, the page's form with no amount applied), is paid first and the rest goes
    oldest due first as usual; an invoice with nothing outstanding is refused, not quietly passed over.
    A bank reference is one transfer: the same reference twice for one customer is refused, so one transfer
    never counts as two payments."""
    with validate.Collect() as check:   # every bad field of the form at once
        amount = check(validate.amount, "amount", amount)
        received_on = check(not_future, ctx, "received_on", received_on)
        reference = check(validate.text, "reference", reference, max_len=200)
    account = ctx.get(Account, account_id, what="account")
    earlier = _same_reference(ctx, account.id, reference)
    if earlier is not None:
        raise DuplicateError("{field}: {customer} already has a payment with bank reference '{reference}' ({amount} "
                             "received on {on}); one transfer is recorded once", field="reference",
                             customer=account.name, reference=earlier.reference, amount=fmt_money(earlier.amount),
                             on=earlier.received_on.isoformat())
    plan: list[tuple[Invoice, Decimal | None]] | None = None
    if allocate_to is not None and for_invoice is not None:
        raise ValidationError("{field}: give the invoice the payment is for or a list of allocations, not both",
                              field="for_invoice")
    if allocate_to is not None:
        if not isinstance(allocate_to, (list, tuple)):
            raise ValidationError("{field}: a list of (invoice id, amount) is required", field="allocate_to")
        plan = []
        for i, item in enumerate(allocate_to, start=1):
            try:
                invoice_id, part = item
            except (TypeError, ValueError):
                raise ValidationError("{field}: item {i} is not (invoice id, amount)", field="allocate_to",
                                      i=i) from None
            plan.append((ctx.get(Invoice, invoice_id, what="invoice"), _share(part, f"allocate_to {i}")))
        total = sum((p for _, p in plan if p is not None), Decimal("0.00"))
        if total > amount:
            raise AmountError("allocations add up to {total}, more than the payment of {amount}",
                              total=fmt_money(total), amount=fmt_money(amount))
    else:
        plan = [(invoice, None) for invoice in open_invoices(ctx, account.id)]   # oldest due first
        if for_invoice is not None:
            first = _invoice_paid_for(ctx, account, for_invoice)
            plan = [(first, None)] + [(inv, part) for inv, part in plan if inv.id != first.id]
    payment = Payment(account_id=account.id, amount=amount, received_on=received_on, reference=reference,
                      unapplied=amount)
    ctx.audit("payment.record", payment)
    left = amount - sum((p for _, p in plan if p is not None), Decimal("0.00"))
    for invoice, part in plan:
        if part is None:
            if allocate_to is None and (left <= 0 or outstanding(invoice) <= 0):
                continue   # oldest first: as far as the money goes
            part = _most(left, invoice)
            left -= part
        _allocate(ctx, payment, invoice, part, received_on)
    return payment.id


@action("payment.refund")
def refund_unapplied(ctx: Context, payment_id: int, *, amount=None, refunded_on=None, reference: str = "") -> int:
    """Pay unapplied cash back to the customer (all of it when no amount is given); returns the refund's id.
    Cash can only leave as it came: never more than the payment has unapplied, never before it was received."""
    share = _share(amount, "amount")
    with validate.Collect() as check:
        on = check(not_future, ctx, "refunded_on", refunded_on)
        reference = check(validate.text, "reference", reference, max_len=200)
    payment = ctx.get(Payment, payment_id, what="payment")
    PAYMENT_LIFECYCLE.require(ctx, "payment.refund", payment)
    amount = payment.unapplied if share is None else share
    if amount <= 0 or amount > payment.unapplied:
        raise AmountError("refund of {amount} from {payment}: it has {left} unapplied", amount=fmt_money(amount),
                          payment=_payment_label(payment), left=fmt_money(payment.unapplied), field="amount")
    _not_before_received(payment, "refunded_on", on)
    before = snapshot(payment)
    payment.unapplied -= amount
    ctx.audit("payment.refund", payment, before=before)
    refund = Refund(payment_id=payment.id, account_id=payment.account_id, amount=amount, refunded_on=on,
                    reference=reference)
    ctx.audit("payment.refund", refund)
    return refund.id


@action("payment.allocate")
def allocate_payment(ctx: Context, payment_id: int, invoice_id: int, amount=None, *, allocated_on=None) -> int:
    """Apply unapplied cash to an invoice later; returns the allocation id. No amount: as much as the invoice
    owes and the payment has left."""
    share = _share(amount, "amount")
    payment = ctx.get(Payment, payment_id, what="payment")
    invoice = ctx.get(Invoice, invoice_id, what="invoice")
    amount = _most(payment.unapplied, invoice) if share is None else share
    on = not_future(ctx, "allocated_on", allocated_on)
    # nothing unapplied (PAYMENT_LIFECYCLE's guard) is refused by _allocate naming the figures, as an AmountError
    _not_before_received(payment, "allocated_on", on)
    _allocate(ctx, payment, invoice, amount, on)
    return ctx.session.exec(select(Allocation.id).where(Allocation.payment_id == payment.id)
                            .order_by(Allocation.id.desc())).first()


# -- write-offs ------------------------------------------------------------------------------------

@action("writeoff.request")
def request_write_off(ctx: Context, invoice_id: int, *, amount, reason: str) -> int:
    amount = validate.amount("amount", amount)
    reason = validate.text("reason", reason, max_len=4000, required=True)
    invoice = ctx.get(Invoice, invoice_id, what="invoice")
    owed = outstanding(invoice)
    if amount > owed:
        raise AmountError("write-off of {amount} on invoice '{number}' exceeds what is outstanding on it ({owed})",
                          amount=fmt_money(amount), number=invoice.number, owed=fmt_money(owed))
    LIFECYCLE.require(ctx, "writeoff.request", invoice)
    # the approval path for the amount (config/approvals.toml): a leader, and above a threshold a second one
    return approvals.ask(ctx, GateKind.WRITE_OFF, "invoice", invoice.id, {"amount": amount}, amount=amount,
                         rationale=reason).id


@action("writeoff.decide")
def decide_write_off(ctx: Context, invoice_id: int, decision, *, rationale: str) -> int:
    decision = gates.parse_decision(GateKind.WRITE_OFF, decision)
    invoice = ctx.get(Invoice, invoice_id, what="invoice")
    LIFECYCLE.require(ctx, "writeoff.decide", invoice)
    row = approvals.next_step(ctx, GateKind.WRITE_OFF, "invoice", invoice.id)   # the guard saw one pending
    gates.decide(ctx, row, decision, rationale=rationale)
    if approvals.settled(ctx, row) and decision == Decision.APPROVE:   # the last step approved: it applies
        owed = outstanding(invoice)
        if row.amount > owed:   # paid in part since the request: refuse rather than write off cash received
            raise AmountError("write-off of {amount} on invoice '{number}' exceeds what is outstanding on it now "
                              "({owed}); reject it and request again", amount=fmt_money(row.amount),
                              number=invoice.number, owed=fmt_money(owed))
        before = snapshot(invoice)
        invoice.written_off += row.amount
        _restatus(ctx, invoice)
        ctx.audit("writeoff.apply", invoice, before=before)
    return row.id
