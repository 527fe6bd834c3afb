"""Billing: invoices only against released terms and never above them; payments oldest due first with
unapplied cash kept; write-offs approved by a leader."""
from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlmodel import select

from core.calculations import contract_receivable, four_calculations, released_not_invoiced
from core.enums import Decision, GateKind, InvoiceStatus
from core.errors import (AmountError, DuplicateError, GateError, PermissionDenied, StaleVersionError,
                         ValidationError)
from core.models import Allocation, Invoice, Payment
from core.services import billing, delivery
from tests.integration.money_fixtures import (TODAY, days, gate_rows, make_opportunity, refused, signed_contract)


@pytest.fixture
def signed(world):
    """Signed 200 days ago; the Go-live milestone finally accepted 100 days ago."""
    ids = signed_contract(world)
    world.do("fr", delivery.accept_milestone, ids["m1"], kind="final", accepted_on=days(-100))
    return ids


def issue(world, term, amount, **kw):
    return world.do("finance", billing.issue_invoice, term, amount=amount, **kw)


def test_invoice_before_acceptance_refused(world):
    ids = signed_contract(world)
    err = refused(world, GateError, "finance", billing.issue_invoice, ids["final"], amount="1")
    assert "term 'Final acceptance 60%'" in str(err) and "final acceptance of milestone 'Go-live'" in str(err)
    refused(world, GateError, "finance", billing.issue_invoice, ids["retention"], amount="1",
            match="the end of warranty")


def test_over_invoicing_refused_with_the_figures(world, signed):
    year = TODAY.year
    first = issue(world, signed["final"], "300000")
    assert world.get(Invoice, first).number == f"INV-{year}-0001"
    refused(world, AmountError, "finance", billing.issue_invoice, signed["final"], amount="450,000",
            match=f"invoice 'INV-{year}-0002' of 450,000.00 exceeds what term 'Final acceptance 60%' has released "
                  "and not yet invoiced (300,000.00)")
    refused(world, AmountError, "finance", billing.issue_invoice, signed["advance"], amount="300000.01",
            number="MANUAL-1", match="invoice 'MANUAL-1' of 300,000.01 exceeds")
    issue(world, signed["final"], "300000")
    assert world.read(lambda ctx: released_not_invoiced(ctx.session, signed["final"])) == D("0.00")
    refused(world, AmountError, "finance", billing.issue_invoice, signed["final"], amount="0.01",
            match="(0.00)")


def test_invoice_due_date_tax_and_refusals(world, signed):
    a = issue(world, signed["advance"], "100000", issued_on=days(-150))
    b = issue(world, signed["advance"], "100000", issued_on=days(-140), tax_rate="13%")
    named = issue(world, signed["final"], "1000", number="HX-0007")
    inv_a, inv_b = world.get(Invoice, a), world.get(Invoice, b)
    assert world.get(Invoice, named).number == "HX-0007"
    assert inv_a.due_on == days(-150) + timedelta(days=15)          # the advance term pays in 15 days
    assert inv_a.tax_rate == D("0.06") and inv_a.tax_amount == D("5660.38")   # 100,000 x 0.06 / 1.06
    assert inv_b.tax_rate == D("0.13") and inv_b.tax_amount == D("11504.42")
    assert inv_a.account_id == signed["account"] and inv_a.status == InvoiceStatus.ISSUED
    refused(world, DuplicateError, "finance", billing.issue_invoice, signed["final"], amount="1", number="HX-0007",
            match="'HX-0007' is already used")
    refused(world, ValidationError, "finance", billing.issue_invoice, signed["final"], amount="1",
            issued_on=days(-101), match="before term 'Final acceptance 60%' was released")
    refused(world, ValidationError, "finance", billing.issue_invoice, signed["final"], amount="1",
            tax_rate="abc", match="tax_rate")
    refused(world, ValidationError, "finance", billing.issue_invoice, signed["final"], amount="1",
            issued_on=days(1), match="in the future")
    refused(world, PermissionDenied, "ar", billing.issue_invoice, signed["final"], amount="1")


def test_invoice_numbers_run_per_year(world):
    ids = signed_contract(world, signed_on=days(-1200))
    new_year = TODAY.replace(month=1, day=1)
    last_year = [issue(world, ids["advance"], "1000", issued_on=new_year - timedelta(days=n)) for n in (3, 2)]
    this_year = issue(world, ids["advance"], "1000", issued_on=new_year)
    two_years_ago = issue(world, ids["advance"], "1000", issued_on=new_year.replace(year=TODAY.year - 2))
    assert [world.get(Invoice, i).number for i in last_year + [this_year, two_years_ago]] == [
        f"INV-{TODAY.year - 1}-0001", f"INV-{TODAY.year - 1}-0002", f"INV-{TODAY.year}-0001",
        f"INV-{TODAY.year - 2}-0001"]


def test_sequence_continues_within_a_year(world, signed):
    numbers = [world.get(Invoice, issue(world, signed["final"], "1000")).number for _ in range(3)]
    assert numbers == [f"INV-{TODAY.year}-{n:04d}" for n in (1, 2, 3)]


def test_update_invoice(world, signed):
    inv = issue(world, signed["final"], "100000", issued_on=days(-10))
    seen = world.get(Invoice, inv).version
    world.do("finance", billing.update_invoice, inv, version=seen, due_on=days(40), tax_rate="0")
    got = world.get(Invoice, inv)
    assert (got.due_on, got.tax_rate, got.tax_amount) == (days(40), D("0"), D("0.00"))
    refused(world, StaleVersionError, "finance", billing.update_invoice, inv, version=seen, due_on=days(50))
    refused(world, ValidationError, "finance", billing.update_invoice, inv, due_on=days(-11), match="before")
    refused(world, ValidationError, "finance", billing.update_invoice, inv, tax_rate="  ", match="tax_rate: is empty")
    refused(world, AmountError, "finance", billing.update_invoice, inv, amount="600000.01",
            match="(600,000.00)")
    world.do("finance", billing.update_invoice, inv, amount="600000")
    world.do("finance", billing.record_payment, account_id=signed["account"], amount="10")
    refused(world, GateError, "finance", billing.update_invoice, inv, amount="500000", match="10.00 paid")


def test_payment_goes_to_the_oldest_due_invoice_first(world, signed):
    # issued out of order: due dates decide, not issue order
    late = issue(world, signed["final"], "200000", issued_on=days(-20))      # due in 10 days
    oldest = issue(world, signed["advance"], "100000", issued_on=days(-150))  # due 135 days ago
    middle = issue(world, signed["advance"], "200000", issued_on=days(-30))   # due 15 days ago
    pay = world.do("finance", billing.record_payment, account_id=signed["account"], amount="250,000",
                   reference="BANK-1", received_on=days(-1))
    assert world.get(Invoice, oldest).paid_amount == D("100000.00")
    assert world.get(Invoice, oldest).status == InvoiceStatus.PAID
    assert (world.get(Invoice, middle).paid_amount, world.get(Invoice, middle).status) == (
        D("150000.00"), InvoiceStatus.PARTLY_PAID)
    assert (world.get(Invoice, late).paid_amount, world.get(Invoice, late).status) == (
        D("0.00"), InvoiceStatus.ISSUED)
    assert world.get(Payment, pay).unapplied == D("0.00")
    allocations = world.read(lambda ctx: ctx.session.exec(select(Allocation).where(
        Allocation.payment_id == pay).order_by(Allocation.id)).all())
    assert [(a.invoice_id, a.amount, a.allocated_on) for a in allocations] == [
        (oldest, D("100000.00"), days(-1)), (middle, D("150000.00"), days(-1))]
    assert world.read(lambda ctx: contract_receivable(ctx.session, signed["contract"])) == D("250000.00")
    assert billing.outstanding(world.get(Invoice, middle)) == D("50000.00")


def test_overpayment_stays_unapplied_and_can_be_allocated_later(world, signed):
    inv = issue(world, signed["advance"], "100000")
    pay = world.do("finance", billing.record_payment, account_id=signed["account"], amount="130000")
    assert world.get(Invoice, inv).status == InvoiceStatus.PAID
    assert world.get(Payment, pay).unapplied == D("30000.00")
    inv2 = issue(world, signed["final"], "50000")
    refused(world, AmountError, "finance", billing.allocate_payment, pay, inv2, "30000.01",
            match="exceeds what is left of payment")
    refused(world, AmountError, "finance", billing.allocate_payment, pay, inv, "1",
            match="outstanding on it (0.00)")
    world.do("finance", billing.allocate_payment, pay, inv2, "30000")
    assert world.get(Payment, pay).unapplied == D("0.00")
    got = world.get(Invoice, inv2)
    assert (got.paid_amount, got.status) == (D("30000.00"), InvoiceStatus.PARTLY_PAID)


def test_payment_with_no_open_invoice_is_all_unapplied(world, signed):
    pay = world.do("finance", billing.record_payment, account_id=signed["account"], amount="5000")
    assert world.get(Payment, pay).unapplied == D("5000.00")


def test_explicit_allocation_and_its_refusals(world, signed):
    a = issue(world, signed["advance"], "100000", issued_on=days(-150))
    b = issue(world, signed["final"], "100000", issued_on=days(-10))
    pay = world.do("finance", billing.record_payment, account_id=signed["account"], amount="80000",
                   allocate_to=[(b, "60000")])
    assert world.get(Invoice, b).paid_amount == D("60000.00")
    assert world.get(Invoice, a).paid_amount == D("0.00")           # told otherwise: not oldest first
    assert world.get(Payment, pay).unapplied == D("20000.00")
    refused(world, AmountError, "finance", billing.record_payment, account_id=signed["account"], amount="50000",
            allocate_to=[(b, "40000.01")], match="exceeds what is outstanding on it (40,000.00)")
    refused(world, AmountError, "finance", billing.record_payment, account_id=signed["account"], amount="50000",
            allocate_to=[(a, "30000"), (b, "30000")], match="allocations add up to 60,000.00")
    other = signed_contract(world, opp_id=make_opportunity(world, name="other", account="另一家公司"),
                            number="HT-OTHER")
    refused(world, ValidationError, "finance", billing.record_payment, account_id=other["account"], amount="10",
            allocate_to=[(a, "10")], match="another customer")
    refused(world, ValidationError, "finance", billing.record_payment, account_id=signed["account"], amount="10",
            received_on=days(1), match="in the future")
    refused(world, PermissionDenied, "ar", billing.record_payment, account_id=signed["account"], amount="10")


def test_an_allocation_left_empty_applies_as_much_as_the_invoice_owes(world, signed):
    a = issue(world, signed["advance"], "100000", issued_on=days(-150))
    b = issue(world, signed["final"], "100000", issued_on=days(-10))
    # more than b owes: b is paid in full, the rest stays unapplied (a, oldest, is not touched: b was chosen)
    pay = world.do("finance", billing.record_payment, account_id=signed["account"], amount="130000",
                   allocate_to=[(b, "")], reference="EMPTY-1")
    assert (world.get(Invoice, b).paid_amount, world.get(Invoice, a).paid_amount) == (D("100000.00"), D("0.00"))
    assert world.get(Payment, pay).unapplied == D("30000.00")
    # less than a owes: all of the payment goes to it
    small = world.do("finance", billing.record_payment, account_id=signed["account"], amount="40000",
                     allocate_to=[(a, None)], reference="EMPTY-2")
    assert world.get(Invoice, a).paid_amount == D("40000.00") and world.get(Payment, small).unapplied == D("0.00")
    # later, no amount: what is left of the payment, up to what the invoice owes
    world.do("finance", billing.allocate_payment, pay, a)
    assert world.get(Invoice, a).paid_amount == D("70000.00") and world.get(Payment, pay).unapplied == D("0.00")
    # nothing to apply is refused naming the figures, never a zero allocation
    refused(world, AmountError, "finance", billing.record_payment, account_id=signed["account"], amount="10",
            allocate_to=[(b, None)], match="nothing to apply (0.00 outstanding on it, 10.00 left of the payment)")
    refused(world, AmountError, "finance", billing.allocate_payment, pay, a,
            match="nothing to apply (30,000.00 outstanding on it, 0.00 left of the payment)")


def test_a_payment_for_an_invoice_pays_it_first_and_the_rest_oldest_due_first(world, signed):
    """Issue 12: one rule for a payment naming its invoice, whether typed in the Finance sheet or on the page."""
    a = issue(world, signed["advance"], "100000", issued_on=days(-150))
    b = issue(world, signed["final"], "100000", issued_on=days(-10))
    c = issue(world, signed["final"], "100000", issued_on=days(-5))
    pay = world.do("finance", billing.record_payment, account_id=signed["account"], amount="150000", for_invoice=c,
                   reference="FOR-C")
    assert [world.get(Invoice, i).paid_amount for i in (a, b, c)] == [D("50000.00"), D("0.00"), D("100000.00")]
    assert world.get(Payment, pay).unapplied == D("0.00")
    allocations = world.read(lambda ctx: ctx.session.exec(select(Allocation.invoice_id).where(
        Allocation.payment_id == pay).order_by(Allocation.id)).all())
    assert allocations == [c, a]
    refused(world, AmountError, "finance", billing.record_payment, account_id=signed["account"], amount="10",
            for_invoice=c, match="has nothing outstanding (paid); name an open invoice of")
    other = signed_contract(world, opp_id=make_opportunity(world, name="other", account="另一家公司"),
                            number="HT-OTHER")
    refused(world, ValidationError, "finance", billing.record_payment, account_id=other["account"], amount="10",
            for_invoice=a, match="is another customer's")
    refused(world, ValidationError, "finance", billing.record_payment, account_id=signed["account"], amount="10",
            for_invoice=a, allocate_to=[(a, "10")], match="not both")
    assert world.read(lambda ctx: len(ctx.session.exec(select(Payment)).all())) == 1


def test_one_bank_reference_is_one_payment(world, signed):
    issue(world, signed["advance"], "100000")
    first = world.do("finance", billing.record_payment, account_id=signed["account"], amount="1000",
                     reference="CMB-2026-0042")
    err = refused(world, DuplicateError, "finance", billing.record_payment, account_id=signed["account"],
                  amount="1000", reference=" cmb-2026-0042 ", match="already has a payment with bank reference")
    assert err.field == "reference" and "'CMB-2026-0042' (1,000.00 received on" in str(err)
    assert world.get(Payment, first).reference == "CMB-2026-0042"
    # another customer may have its own transfer under the same reference; no reference is never a duplicate
    other = signed_contract(world, opp_id=make_opportunity(world, name="other", account="另一家公司"),
                            number="HT-OTHER")
    world.do("finance", billing.record_payment, account_id=other["account"], amount="5", reference="CMB-2026-0042")
    world.do("finance", billing.record_payment, account_id=signed["account"], amount="5")
    world.do("finance", billing.record_payment, account_id=signed["account"], amount="5")


def test_write_off_needs_a_leader(world, signed):
    inv = issue(world, signed["advance"], "100000")
    world.do("finance", billing.record_payment, account_id=signed["account"], amount="70000")
    refused(world, AmountError, "finance", billing.request_write_off, inv, amount="30000.01", reason="bankrupt",
            match="exceeds what is outstanding on it (30,000.00)")
    refused(world, PermissionDenied, "ar", billing.request_write_off, inv, amount="1", reason="x")
    gate = world.do("finance", billing.request_write_off, inv, amount="30000", reason="customer disputes rest")
    refused(world, GateError, "finance", billing.request_write_off, inv, amount="1", reason="again",
            match="already has a request pending")
    refused(world, PermissionDenied, "finance", billing.decide_write_off, inv, "approve", rationale="mine")
    refused(world, ValidationError, "leader", billing.decide_write_off, inv, "approve", rationale="")
    world.do("leader", billing.decide_write_off, inv, "approve", rationale="not worth a lawsuit")
    got = world.get(Invoice, inv)
    assert (got.written_off, got.status, billing.outstanding(got)) == (D("30000.00"), InvoiceStatus.WRITTEN_OFF,
                                                                       D("0.00"))
    rows = gate_rows(world, GateKind.WRITE_OFF, "invoice", inv)
    assert [(r.id, r.decision, r.amount) for r in rows] == [(gate, Decision.APPROVE, D("30000.00"))]
    refused(world, GateError, "leader", billing.decide_write_off, inv, "approve", rationale="x",
            match="no write-off request pending")


def test_rejected_or_overtaken_write_off_writes_nothing_off(world, signed):
    inv = issue(world, signed["advance"], "100000")
    world.do("finance", billing.request_write_off, inv, amount="100000", reason="dispute")
    world.do("leader", billing.decide_write_off, inv, "reject", rationale="keep chasing")
    assert world.get(Invoice, inv).written_off == D("0.00")
    world.do("finance", billing.request_write_off, inv, amount="100000", reason="dispute again")
    world.do("finance", billing.record_payment, account_id=signed["account"], amount="40000")
    # paid in part since the request: approving the full amount would write off cash received
    refused(world, AmountError, "leader", billing.decide_write_off, inv, "approve", rationale="ok",
            match="exceeds what is outstanding on it now (60,000.00)")
    world.do("leader", billing.decide_write_off, inv, "reject", rationale="re-request")
    world.do("finance", billing.request_write_off, inv, amount="20000", reason="partial")
    world.do("leader", billing.decide_write_off, inv, "approve", rationale="ok")
    got = world.get(Invoice, inv)
    assert (got.written_off, got.status, billing.outstanding(got)) == (D("20000.00"), InvoiceStatus.PARTLY_PAID,
                                                                       D("40000.00"))


def test_actual_revenue_is_what_was_invoiced(world, signed):
    issue(world, signed["advance"], "300000")
    issue(world, signed["final"], "150000")
    actual = world.read(lambda ctx: four_calculations(ctx.session, signed["contract"]))["actual"]
    assert actual["revenue"] == D("450000.00") and actual["cost"] == D("0.00")


def test_invoice_number_taken_concurrently_is_retried_or_refused_cleanly(world, signed, monkeypatch):
    """Another session takes the number between our look-up and our insert: the unique constraint catches it.
    PostgreSQL retries with the next number inside a savepoint; SQLite (one writer at a time) refuses cleanly."""
    first = issue(world, signed["advance"], "1000")
    taken = world.get(Invoice, first).number
    real = billing.next_number
    calls = []

    def stale_then_real(ctx, year, series="INV"):
        calls.append(year)
        return taken if len(calls) == 1 else real(ctx, year, series)

    monkeypatch.setattr(billing, "next_number", stale_then_real)
    if world.url.startswith("sqlite"):
        refused(world, DuplicateError, "finance", billing.issue_invoice, signed["advance"], amount="1000",
                match=f"'{taken}' was taken by another invoice")
    else:
        second = issue(world, signed["advance"], "1000")
        assert world.get(Invoice, second).number == f"INV-{TODAY.year}-0002" and len(calls) == 2
        assert world.get(Invoice, first).amount == D("1000.00")


def test_two_invoices_on_one_term_at_the_same_moment_cannot_both_pass(world, signed, monkeypatch):
    """Both sessions check what the term has left before either commits; the term's version decides: the
    loser is refused as stale, run again on fresh data (core.context.perform), and then refused on the amount."""
    import threading

    from core import calculations

    real = calculations.released_not_invoiced
    calls = []

    def check_then_let_the_other_commit(session, term_id):
        available = real(session, term_id)
        calls.append(available)
        if len(calls) == 1:      # our check is done: the other invoice is issued and committed right now
            t = threading.Thread(target=issue, args=(world, signed["advance"], "300000"),
                                 kwargs={"number": "OTHER-1"})
            t.start()
            t.join()
        return available

    monkeypatch.setattr(calculations, "released_not_invoiced", check_then_let_the_other_commit)
    with pytest.raises(AmountError, match="not yet invoiced"):
        issue(world, signed["advance"], "300000", number="MINE-1")
    numbers = world.read(lambda ctx: [i.number for i in ctx.session.exec(select(Invoice)).all()])
    assert numbers == ["OTHER-1"] and calls == [D("300000.00"), D("300000.00"), D("0")]
