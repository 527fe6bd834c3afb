"""Invoice corrections on the cash page (issue 12): finance voids an unpaid invoice or issues a credit note
(红字发票) from the invoice's own view; a paid invoice offers no void, saying why; unapplied cash is refunded
from the payment's view."""
from decimal import Decimal as D

from sqlmodel import select

from core.enums import InvoiceKind, InvoiceStatus
from core.models import Invoice, Payment
from core.services import billing
from tests.app.conftest import texts
from tests.app.test_cash import PAGE, db, deal, field, show, submit  # noqa: F401 (deal: a fixture)
from tests.integration.money_fixtures import days


def open_invoice(page, login, iid):
    at = show(page(login, PAGE), "Invoices")
    at.toggle(key="cash-inv-open").set_value(False).run()
    at.selectbox(key="cash-invoice").select(iid).run()
    assert not at.exception
    return at


def test_finance_credits_part_of_a_paid_invoice_and_the_rest_becomes_unapplied_cash(page, demo_url, demo_world,
                                                                                      deal):
    inv = demo_world.do("finance", billing.issue_invoice, deal["advance"], amount="300000", issued_on=days(-20))
    pay = demo_world.do("finance", billing.record_payment, account_id=deal["account"], amount="300000",
                        reference="B-CN-1", received_on=days(-10))
    at = open_invoice(page, "finance", inv)
    # paid: no void, the reason shown; the credit note form is there
    assert "only an unpaid invoice is voided: issue a credit note instead" in texts(at)
    field(at, "text_input", f"cash-credit-{inv}", "amount").input("45,000")
    field(at, "text_input", f"cash-credit-{inv}", "reason").input("one site dropped")
    submit(at, f"cash-credit-{inv}")
    assert not at.error, [e.value for e in at.error]
    note = db(demo_url, lambda ctx: ctx.session.exec(select(Invoice).where(Invoice.credits_id == inv)).one())
    assert (note.kind, note.amount, note.reason) == (InvoiceKind.CREDIT_NOTE, D("-45000"), "one site dropped")
    assert f"Credit note {note.number} issued." in texts(at)
    assert db(demo_url, lambda ctx: ctx.session.get(Payment, pay).unapplied) == D("45000")
    # the statement shows the credit note as a line of its own, and what was credited
    at = show(page("finance", PAGE), "Statement")
    at.selectbox(key="cash-statement-customer").select(deal["account"]).run()
    lines = next(d.value for d in at.dataframe if "Balance" in d.value.columns)
    assert list(lines["Type"]) == ["Invoice", "Payment", "Credit note"]
    assert any(m.label == "Credited" and m.value == "45,000.00" for m in at.metric)
    # the customer's 45,000 is refunded from the payment's own view
    at = show(page("finance", PAGE), "Payments")
    at.selectbox(key="cash-payment").select(pay).run()
    field(at, "text_input", "cash-refund", "reference").input("REFUND-CN-1")
    submit(at, "cash-refund")
    assert not at.error and "Refund recorded." in texts(at)
    assert db(demo_url, lambda ctx: ctx.session.get(Payment, pay).unapplied) == 0
    # the credit note opens as a record of its own, naming the invoice it credits
    original = db(demo_url, lambda ctx: ctx.session.get(Invoice, inv))
    at = open_invoice(page, "finance", note.id)
    assert f"A credit note (红字发票) on invoice {original.number}: one site dropped" in texts(at)


def test_finance_voids_an_unpaid_invoice_and_a_bad_reason_changes_nothing(page, demo_url, demo_world, deal):
    inv = demo_world.do("finance", billing.issue_invoice, deal["advance"], amount="300000", issued_on=days(-5))
    at = open_invoice(page, "finance", inv)
    submit(at, f"cash-void-{inv}")                     # no reason: refused naming the field
    assert any("Why it is voided" in e.value or "reason" in e.value for e in at.error)
    assert db(demo_url, lambda ctx: ctx.session.get(Invoice, inv)).status == InvoiceStatus.ISSUED
    field(at, "text_input", f"cash-void-{inv}", "reason").input("issued to the wrong entity")
    submit(at, f"cash-void-{inv}")
    row = db(demo_url, lambda ctx: ctx.session.get(Invoice, inv))
    assert (row.status, row.amount, row.voided_amount) == (InvoiceStatus.VOID, 0, D("300000"))
    at = open_invoice(page, "finance", inv)
    assert "It counts nothing; its term's amount can be invoiced again." in texts(at)
    assert not any((b.key or "").startswith(f"cash-credit-{inv}-submit") for b in at.button)
