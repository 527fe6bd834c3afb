"""Invoice corrections (issue 12): voiding an unpaid invoice (作废) and credit notes (红字发票) for part or all of
an invoice, in their own series; a credit on a paid invoice becomes the customer's unapplied cash. Ageing, DSO,
statements, the forecast's inputs and the exports count them."""
from decimal import Decimal as D

from sqlmodel import select

from core.calculations import four_calculations
from core.enums import InvoiceKind, InvoiceStatus
from core.errors import AmountError, GateError, ValidationError
from core.exports import export_rows
from core.metrics.cash import ageing, customer_invoices
from core.metrics.filters import Filters
from core.models import Allocation, Invoice, Payment
from core.queries import cash as q
from core.queries.offers import offers
from core.services import billing
from tests.integration.money_fixtures import TODAY, days, refused, signed_contract


def invoice(world, ids, amount="300000", on=-40):
    return world.do("finance", billing.issue_invoice, ids["advance"], amount=amount, issued_on=days(on))


def outstanding_as_of(world, account, on) -> D:
    return sum((r["outstanding"] for r in world.do("finance", customer_invoices, Filters(as_of=on), account)), D(0))


def test_void_an_unpaid_invoice_and_invoice_its_term_again(world):
    ids = signed_contract(world)
    inv = invoice(world, ids)
    world.do("finance", billing.void_invoice, inv, reason="wrong customer entity")
    row = world.get(Invoice, inv)
    assert (row.status, row.amount, row.voided_amount, row.voided_on) == (InvoiceStatus.VOID, 0, D("300000"), TODAY)
    assert row.number.startswith("INV-") and row.reason == "wrong customer entity"
    # the term's 300,000 can be invoiced again, and the voided invoice counts nothing anywhere
    again = invoice(world, ids)
    assert world.get(Invoice, again).amount == D("300000")
    assert world.do("finance", ageing, Filters(as_of=TODAY))["total_outstanding"] == D("300000")
    refused(world, GateError, "finance", billing.void_invoice, inv, reason="twice", match="is void")
    refused(world, GateError, "finance", billing.issue_credit_note, inv, reason="x", match="is void")
    refused(world, ValidationError, "finance", billing.void_invoice, again, reason=" ")


def test_a_paid_invoice_is_not_voided_and_the_offer_says_why(world):
    ids = signed_contract(world)
    inv = invoice(world, ids)
    world.do("finance", billing.record_payment, account_id=ids["account"], amount="1000", reference="B-1")
    err = refused(world, GateError, "finance", billing.void_invoice, inv, reason="mistake")
    assert "is partly_paid; only an unpaid invoice is voided: issue a credit note instead" in str(err)
    offer = world.do("finance", lambda ctx: offers(ctx, "invoice", inv))["invoice.void"]
    assert not offer.allowed and offer.reason == str(err) and offer.applies


def test_a_credit_note_reduces_what_is_owed_in_its_own_series(world):
    ids = signed_contract(world)
    inv = invoice(world, ids)
    note = world.do("finance", billing.issue_credit_note, inv, amount="50000", reason="amount typed wrong",
                    issued_on=days(-10), reinvoice=True)
    cn, orig = world.get(Invoice, note), world.get(Invoice, inv)
    assert cn.number == f"CN-{days(-10).year}-0001" and cn.kind == InvoiceKind.CREDIT_NOTE
    assert (cn.amount, cn.credits_id, cn.due_on, cn.tax_amount) == (D("-50000"), inv, orig.due_on,
                                                                    -billing.tax_in(D("50000"), orig.tax_rate))
    assert (orig.credited, billing.outstanding(orig), orig.status) == (D("50000"), D("250000"), InvoiceStatus.ISSUED)
    # an error corrected: the term can be invoiced again for what was credited
    world.do("finance", billing.issue_invoice, ids["advance"], amount="50000")
    refused(world, AmountError, "finance", billing.issue_invoice, ids["advance"], amount="0.01")
    # as of before the credit the books were as they were; after it, 50,000 less
    assert outstanding_as_of(world, ids["account"], days(-11)) == D("300000")
    assert outstanding_as_of(world, ids["account"], days(-10)) == D("250000")
    age = world.do("finance", ageing, Filters(as_of=TODAY))
    assert age["total_outstanding"] == D("300000.00")          # 250,000 + the new 50,000
    assert age["credit_sales"] == D("300000.00")               # 300,000 + 50,000 − 50,000 credited
    # the statement shows the credit note as a credit line; the totals agree
    st = world.do("finance", q.statement, ids["account"])
    assert (st["invoiced"], st["credited"], st["outstanding"]) == (D("350000"), D("50000"), D("300000"))
    lines = st["lines"]
    credit = lines[lines["Type"] == "credit-note"].iloc[0]
    assert credit["Credit"] == D("50000") and credit["Reference"] == f"{cn.number} ({orig.number})"
    assert lines["Balance"].iloc[-1] == st["balance"]
    # the export lists it with its kind and the invoice it credits
    columns, rows = world.do("finance", export_rows, "invoices")
    assert {"kind", "credits_id", "credits", "credited"} <= set(columns)
    row = next(r for r in rows if r["number"] == cn.number)
    assert (row["kind"], row["credits"], row["amount"]) == ("credit_note", orig.number, "-50000.00")
    # over-crediting names the figures; a credit note is not itself credited or voided
    err = refused(world, AmountError, "finance", billing.issue_credit_note, inv, amount="250000.01", reason="x")
    assert "exceeds what can still be credited on it (250,000.00: 300,000.00 invoiced, 50,000.00 credited" in str(err)
    refused(world, GateError, "finance", billing.issue_credit_note, note, reason="x", match="is a credit note")
    refused(world, ValidationError, "finance", billing.issue_credit_note, inv, reason="x", issued_on=days(-41),
            match="is before invoice")
    # the rest credited in full: the invoice is credited, owing nothing
    world.do("finance", billing.issue_credit_note, inv, reason="contract cancelled")
    orig = world.get(Invoice, inv)
    assert (orig.status, billing.outstanding(orig)) == (InvoiceStatus.CREDITED, 0)
    numbers = world.read(lambda ctx: ctx.session.exec(select(Invoice.number).where(
        Invoice.kind == InvoiceKind.CREDIT_NOTE).order_by(Invoice.id)).all())
    assert numbers[0] == cn.number and numbers[1].startswith(f"CN-{TODAY.year}-")


def test_a_credit_on_a_paid_invoice_becomes_unapplied_cash_to_refund(world):
    ids = signed_contract(world)
    inv = invoice(world, ids, on=-60)
    pay = world.do("finance", billing.record_payment, account_id=ids["account"], amount="300000",
                   reference="B-300", received_on=days(-30))
    world.do("finance", billing.issue_credit_note, inv, amount="20000", reason="penalty refunded", issued_on=days(-5))
    orig, payment = world.get(Invoice, inv), world.get(Payment, pay)
    assert (orig.paid_amount, orig.credited, billing.outstanding(orig), orig.status) == (
        D("280000"), D("20000"), D("0"), InvoiceStatus.PAID)
    assert payment.unapplied == D("20000")
    back = world.read(lambda ctx: ctx.session.exec(select(Allocation).where(
        Allocation.invoice_id == inv, Allocation.amount < 0)).all())
    assert [(r.amount, r.allocated_on) for r in back] == [(D("-20000"), days(-5))]
    # nothing is owed on any day; the cash is the customer's, shown unapplied, and can be refunded
    assert outstanding_as_of(world, ids["account"], days(-20)) == 0
    assert outstanding_as_of(world, ids["account"], TODAY) == 0
    assert world.do("finance", ageing, Filters(as_of=TODAY))["total_outstanding"] == 0
    world.do("finance", billing.refund_unapplied, pay, reference="R-20000")
    assert world.get(Payment, pay).unapplied == 0


def test_a_concession_lowers_what_is_owed_for_good_and_the_project_can_close(world):
    """A concession's credit note (the default) leaves nothing to invoice again: the customer owes that much
    less, and closure does not wait for it."""
    from core.services import closure, delivery
    from core.models import PaymentTerm

    ids = signed_contract(world, signed_on=days(-800))
    cid = ids["contract"]
    world.do("fr", delivery.accept_milestone, ids["m1"], kind="final", accepted_on=days(-500))
    world.do("finance", delivery.release_warranty_terms, cid)
    invs = {t: world.do("finance", billing.issue_invoice, ids[t], amount=world.get(PaymentTerm, ids[t]).amount)
            for t in ("advance", "final", "retention")}
    world.do("finance", billing.issue_credit_note, invs["final"], amount="30000", reason="late go-live penalty")
    refused(world, AmountError, "finance", billing.issue_invoice, ids["final"], amount="0.01")   # nothing to bill
    world.do("finance", billing.record_payment, account_id=ids["account"], amount="970000", reference="B-ALL")
    assert world.read(lambda ctx: closure.blockers(ctx, world.get(billing.Contract, cid), TODAY)) == []
    calc = world.read(lambda ctx: four_calculations(ctx.session, cid))
    assert calc["actual"]["revenue"] == D("970000.00")   # revenue net of the concession
    refused(world, ValidationError, "finance", billing.issue_credit_note, invs["advance"], reason="x",
            reinvoice="yes")
