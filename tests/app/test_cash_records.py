"""Issue 10 on the invoicing and cash page: one payment however often its form is submitted, records opened by
their address (?invoice, ?term, ?payment, ?account), pickers choosing nothing, the open tab kept after a save,
amounts formatted, tables without internal columns and with statuses in words."""
from __future__ import annotations

from decimal import Decimal as D

from sqlmodel import select

from app import fmt
from core.calculations import outstanding
from core.enums import InvoiceStatus
from core.models import Invoice, Payment
from tests.app.conftest import texts
from tests.app.test_cash import (PAGE, db, deal, field, open_invoices, ar_accounts,  # noqa: F401
                                 show, shown_forms, submit)


def payments_with(url, reference: str) -> int:
    return len(db(url, lambda ctx: ctx.session.exec(select(Payment).where(Payment.reference == reference)).all()))


def test_the_same_payment_form_submitted_twice_records_one_payment_and_comes_back_empty(page, demo_url):
    account = open_invoices(demo_url)[0].account_id
    at = show(page("finance", PAGE), "Payments")
    token = at.session_state["once-cash-pay"]

    def fill_and_submit():
        field(at, "selectbox", "cash-pay", "customer").select(account).run()
        field(at, "text_input", "cash-pay", "amount").input("602000")
        field(at, "text_input", "cash-pay", "reference").input("BANK-TWICE")
        submit(at, "cash-pay")

    fill_and_submit()
    assert not at.error and payments_with(demo_url, "BANK-TWICE") == 1
    assert "Payment of 602,000.00 recorded." in texts(at)           # the amount as money, not 602000
    # after the save: the form is empty, under a new key, and the tab is still Payments
    assert at.session_state["once-cash-pay"] != token
    assert field(at, "selectbox", "cash-pay", "customer").value is None
    assert not any(t.value in ("602000", "BANK-TWICE") for t in at.text_input)
    assert at.session_state["cash-tab"] == "Payments"
    # the click arrives again for the form shown before (a double click, a browser retry): the same key
    at.session_state["once-cash-pay"] = token
    at.run()
    fill_and_submit()
    assert not at.error
    assert payments_with(demo_url, "BANK-TWICE") == 1


def test_an_invoice_address_opens_the_invoice_in_full_on_the_invoices_tab(page, demo_url):
    inv = open_invoices(demo_url)[0]
    at = page("finance", PAGE)
    at.query_params["invoice"] = str(inv.id)
    at.run()
    assert not at.exception and not at.error
    assert at.session_state["cash-tab"] == "Invoices"
    assert at.selectbox(key="cash-invoice").value == inv.id
    shown = texts(at)
    assert inv.number in shown and "Payments applied to this invoice" in shown
    assert next(m.value for m in at.metric if m.label == "Outstanding") == fmt.money(outstanding(inv))
    assert "History" in [e.label for e in at.expander]
    assert any("Changes" in d.value.columns for d in at.dataframe)   # the invoice's own audit history
    assert "cash-writeoff" in shown_forms(at)                      # the action core offers on it


def test_a_paid_invoice_outside_the_open_list_opens_by_its_address(page, demo_url):
    paid = db(demo_url, lambda ctx: ctx.session.exec(select(Invoice).where(
        Invoice.status == InvoiceStatus.PAID)).first())
    assert paid is not None
    at = page("finance", PAGE)
    at.query_params["invoice"] = str(paid.id)
    at.run()
    assert not at.exception and at.selectbox(key="cash-invoice").value == paid.id
    assert paid.number in texts(at) and "Paid" in texts(at)
    # nothing to write off: no form, core's reason in its place
    assert not any((b.key or "").startswith("cash-writeoff-submit-") for b in at.button)
    assert any("Request a write-off" in c.value and "nothing outstanding" in c.value for c in at.caption), \
        [c.value for c in at.caption]


def test_an_invoice_of_another_account_is_not_revealed_to_an_ar(page, demo_url):
    mine = ar_accounts(demo_url, "ar")
    other = next(i for i in open_invoices(demo_url) if i.account_id not in mine)
    at = page("ar", PAGE)
    at.query_params["invoice"] = str(other.id)
    at.run()
    assert not at.exception
    assert any(str(other.id) in w.value for w in at.warning)
    assert other.number not in texts(at)


def test_a_term_address_opens_to_invoice_with_the_term_chosen_in_the_issue_form(page, deal):
    at = page("finance", PAGE)
    assert at.selectbox(key="cash-issue-term").value is None        # no other customer's term preselected
    assert "cash-issue" not in shown_forms(at)
    show(at, "Ageing")
    at.query_params["term"] = str(deal["advance"])
    at.run()
    assert at.session_state["cash-tab"] == "To invoice"
    assert at.selectbox(key="cash-issue-term").value == deal["advance"]
    assert field(at, "text_input", "cash-issue", f"amount-{deal['advance']}").value == "300000.00"


def test_a_payment_address_opens_the_payment_with_its_allocations(page, demo_url, demo_world):
    inv = open_invoices(demo_url)[0]
    from core.services import billing
    pid = demo_world.do("finance", billing.record_payment, account_id=inv.account_id, amount="1234.5",
                        reference="BY-ADDRESS")
    at = page("finance", PAGE)
    at.query_params["payment"] = str(pid)
    at.run()
    assert at.session_state["cash-tab"] == "Payments"
    assert at.selectbox(key="cash-payment").value == pid
    assert "Payment of 1,234.50 from" in texts(at)
    alloc = next(d.value for d in at.dataframe if "Allocated on" in d.value.columns and "Payment" in d.value.columns)
    assert list(alloc["Invoice ID"]) == [inv.id]


def test_an_account_address_opens_the_customer_statement(page, demo_url):
    account = open_invoices(demo_url)[0].account_id
    at = page("finance", PAGE)
    at.query_params["account"] = str(account)
    at.run()
    assert at.session_state["cash-tab"] == "Statement"
    assert at.selectbox(key="cash-statement-customer").value == account
    assert any(d.value.columns.tolist()[:3] == ["Date", "Type", "Reference"] for d in at.dataframe)


def test_the_tab_and_the_invoice_stay_open_after_a_write_off_request(page, demo_url):
    inv = open_invoices(demo_url)[0]
    at = page("finance", PAGE)
    at.query_params["invoice"] = str(inv.id)
    at.run()
    field(at, "text_input", "cash-writeoff", "amount").input("10")
    field(at, "text_area", "cash-writeoff", "reason").input("bank charges")
    submit(at, "cash-writeoff")
    assert not at.error
    assert at.session_state["cash-tab"] == "Invoices" and at.selectbox(key="cash-invoice").value == inv.id
    assert "Write-off requested" in texts(at)
    # one request at a time: the form gives way to the reason until a leader decides
    assert not any((b.key or "").startswith("cash-writeoff-submit-") for b in at.button)
    assert any("already has a request pending" in c.value for c in at.caption)


def test_tables_hide_internal_columns_and_show_statuses_in_words(page, demo_url):
    at = show(page("leader", PAGE, lang="zh"), "发票")
    listed = next(d for d in at.dataframe if "Outstanding" in d.value.columns)
    order = list(listed.proto.column_order)
    assert "Version" not in order and "ID" not in order and "Status" in order
    statuses = set(listed.value["Status"])
    assert statuses and not statuses & {s.value for s in InvoiceStatus}
    ageing = next(d for d in show(at, "账龄").dataframe if "Current" in d.value.columns)
    assert "Customer ID" not in list(ageing.proto.column_order)
    for m in at.metric:                                         # every tile the same way: money with separators
        assert m.value == fmt.money(D(m.value.replace(",", "")))


def test_every_bad_field_of_the_payment_form_is_refused_at_once_with_its_label(page, demo_url):
    from datetime import timedelta
    from tests.integration.money_fixtures import TODAY
    account = open_invoices(demo_url)[0].account_id
    at = show(page("finance", PAGE), "Payments")
    before = db(demo_url, lambda ctx: len(ctx.session.exec(select(Payment)).all()))
    field(at, "selectbox", "cash-pay", "customer").select(account).run()
    field(at, "text_input", "cash-pay", "amount").input("-5")
    field(at, "date_input", "cash-pay", "on").set_value(TODAY + timedelta(days=3))   # typed, not dropped
    submit(at, "cash-pay")
    errors = [e.value for e in at.error]
    assert any(e.startswith("Amount received:") for e in errors)
    assert any(e.startswith("Received on:") for e in errors)
    assert db(demo_url, lambda ctx: len(ctx.session.exec(select(Payment)).all())) == before
