"""The invoicing and cash page (开票与回款) in AppTest, on a copy of the demo database."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from app.i18n import catalogue
from core import permissions
from core.calculations import outstanding
from core.context import SYSTEM, unit_of_work
from core.enums import Decision, GateKind, InvoiceStatus
from core.models import Allocation, GateDecision, Invoice, Opportunity, Payment, User
from core.ageing import ageing_buckets
from core.queries import cash as q
from core.services import billing, users
from tests.app.conftest import assert_unreachable, texts
from tests.integration.money_fixtures import TODAY, make_opportunity, signed_contract

PAGE = "screens/cash.py"
EDITOR = "cash-inv-editor-1-0"      # open invoices, every customer


def db(url, fn):
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        return fn(ctx)


@pytest.fixture
def deal(demo_world):
    """A signed 1,000,000 contract on a new customer (AR ar): its 30% advance (300,000) is released, not invoiced."""
    return signed_contract(demo_world, number="HT-TEST-0001",
                           opp_id=make_opportunity(demo_world, name="Test deal", account="Test Customer 测试客户"))


TABS = ("To invoice", "Invoices", "Payments", "Ageing", "Dunning", "Statement")


def show(at: AppTest, tab: str) -> AppTest:
    """Open a tab of the page (only the open tab is drawn)."""
    at.session_state["cash-tab"] = tab
    at.run()
    assert not at.exception and not at.error
    return at


def editing(at: AppTest) -> AppTest:
    """The Invoices tab with its list switched into the edit table (finance's due dates)."""
    show(at, "Invoices").toggle(key="cash-inv-edit").set_value(True).run()
    assert not at.exception and not at.error
    return at


def submit(at: AppTest, form: str) -> AppTest:
    """Click the submit button of a form (a once-form keys it `<form>-submit-<token>`)."""
    button = next(b for b in at.button if b.key and (b.key.startswith(f"FormSubmitter:{form}-")
                                                    or b.key.startswith(f"{form}-submit-")))
    button.click().run()
    assert not at.exception
    return at


def field(at: AppTest, kind: str, form: str, name: str):
    """A widget of a once-form, whose key carries the form's one-time token: `<form>-<name>-<token>`."""
    token = at.session_state[f"once-{form}"][:8]
    return getattr(at, kind)(key=f"{form}-{name}-{token}")


FORMS = ("cash-issue", "cash-writeoff", "cash-decide", "cash-pay", "cash-apply")


def shown_forms(at: AppTest) -> set[str]:
    """The action forms drawn on this run."""
    keys = [b.key for b in at.button if b.key]
    return {f for f in FORMS if any(k.startswith((f"FormSubmitter:{f}-", f"{f}-submit-")) for k in keys)}


def forms(at: AppTest) -> set[str]:
    """The action forms the page shows, on any of its tabs, with a record chosen where a form needs one."""
    found = set()
    for tab in TABS:
        show(at, tab)
        for key in ("cash-issue-term", "cash-invoice", "cash-payment"):
            box = [s for s in at.selectbox if s.key == key]
            if box and box[0].options:
                box[0].select_index(0).run()
        found |= shown_forms(at)
    return found


def frame(at: AppTest, *columns):
    return next(d.value for d in at.dataframe if all(c in d.value.columns for c in columns))


def metric(at: AppTest, label: str) -> D:
    return D(next(m.value for m in at.metric if m.label == label).replace(",", ""))


def open_invoices(url, account_ids=None) -> list[Invoice]:
    def run(ctx):
        rows = ctx.session.exec(select(Invoice).order_by(Invoice.due_on, Invoice.issued_on, Invoice.id)).all()
        return [r for r in rows if outstanding(r) > 0 and (account_ids is None or r.account_id in account_ids)]
    return db(url, run)


def ar_accounts(url, login) -> set[int]:
    return set(db(url, lambda ctx: ctx.session.exec(select(Opportunity.account_id).join(
        User, User.id == Opportunity.ar_id).where(User.login == login)).all()))


def total_outstanding(url, account_ids=None) -> D:
    return sum((outstanding(i) for i in open_invoices(url, account_ids)), D("0.00"))


# -- access ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", permissions.ROLES)
def test_the_page_opens_for_roles_with_billing_view_and_refuses_the_others(page, role):
    if permissions.allowed({role}, "billing.view"):
        at = page(role, PAGE)
        assert not at.exception and not at.error
        assert "Invoicing and cash" in texts(at)
        return
    assert_unreachable(page, role, PAGE)


@pytest.mark.parametrize("role", ["ar", "ar2"])
def test_an_ar_sees_only_their_accounts_and_no_action_forms(page, demo_url, role):
    mine = ar_accounts(demo_url, role)
    at = show(page(role, PAGE), "Invoices")
    assert not at.data_editor                       # due dates are finance's
    inv = frame(at, "Invoice", "Outstanding", "Days overdue")
    assert {i.id for i in open_invoices(demo_url, mine)} == set(inv["ID"])
    ageing = frame(show(at, "Ageing"), "Customer ID", "Current")
    assert set(ageing["Customer ID"]) <= mine and not ageing.empty
    assert metric(at, "Outstanding") == total_outstanding(demo_url, mine)
    assert forms(at) == set()
    assert "customers of deals whose iron triangle you are on" in texts(at)


@pytest.mark.parametrize("role", ["finance", "leader"])
def test_only_finance_sees_the_issue_and_payment_forms(page, demo_url, deal, role):
    finance = role == "finance"
    at = page(role, PAGE)
    assert any(s.key == "cash-issue-term" for s in at.selectbox) == finance
    if finance:
        assert shown_forms(at) == set()                      # no term chosen: no form yet
        at.selectbox(key="cash-issue-term").select(deal["advance"]).run()
        assert shown_forms(at) == {"cash-issue"}
    show(at, "Payments")
    assert any(s.key and s.key.startswith("cash-pay-customer-") for s in at.selectbox) == finance
    show(at, "Invoices")
    assert any(t.key == "cash-inv-edit" for t in at.toggle) == finance
    at.selectbox(key="cash-invoice").select(open_invoices(demo_url)[0].id).run()
    assert shown_forms(at) == ({"cash-writeoff"} if finance else set())


# -- ageing, dunning, statement --------------------------------------------------------------------

@pytest.mark.parametrize("role", ["finance", "leader", "ar"])
def test_the_ageing_buckets_add_up_to_the_outstanding_receivables(page, demo_url, role):
    at = show(page(role, PAGE), "Ageing")
    ageing = frame(at, "Customer ID", "Current")
    buckets = ["Current"] + [b[0] for b in ageing_buckets()]
    for _, row in ageing.iterrows():
        assert sum(D(str(row[c])) for c in buckets) == D(str(row["Total"]))
    scope = None if role != "ar" else ar_accounts(demo_url, "ar")
    assert sum(D(str(v)) for v in ageing["Total"]) == total_outstanding(demo_url, scope) == metric(at, "Outstanding")


def test_dunning_groups_the_overdue_invoices_by_level(page, demo_url):
    at = show(page("finance", PAGE), "Dunning")
    overdue = [i for i in open_invoices(demo_url) if i.due_on < TODAY]
    levels: dict[int, int] = {}
    for inv in overdue:
        late = (TODAY - inv.due_on).days
        level = 1 if late <= 30 else 2 if late <= 60 else 3 if late <= 90 else 4
        levels[level] = levels.get(level, 0) + 1
    shown = texts(at)
    for level, n in levels.items():
        assert f"Level {level}: {n} invoice{'' if n == 1 else 's'}," in shown
    rows = [d.value for d in at.dataframe if "Days overdue" in d.value.columns and "Contact" in d.value.columns]
    assert sum(len(r) for r in rows) == len(overdue)


def test_the_statement_of_a_customer(page, demo_url, demo_world):
    inv = open_invoices(demo_url)[0]
    demo_world.do("finance", billing.record_payment, account_id=inv.account_id, amount="1000", reference="ON ACCOUNT",
             allocate_to=[])
    at = show(page("finance", PAGE), "Statement")
    at.selectbox(key="cash-statement-customer").select(inv.account_id).run()
    owed = total_outstanding(demo_url, {inv.account_id})
    unapplied = sum((p.unapplied for p in db(demo_url, lambda ctx: ctx.session.exec(select(Payment).where(
        Payment.account_id == inv.account_id)).all())), D("0.00"))
    assert unapplied >= D("1000.00")
    assert f"**{owed - unapplied:,.2f}**" in texts(at)
    lines = frame(at, "Debit", "Credit", "Balance")
    assert D(str(lines["Balance"].iloc[-1])) == owed - unapplied
    assert "ON ACCOUNT" in set(lines["Reference"])


# -- invoices --------------------------------------------------------------------------------------

def test_finance_issues_an_invoice_prefilled_with_what_remains(page, demo_url, deal):
    at = page("finance", PAGE)
    todo = frame(at, "Remaining", "Due days")
    assert deal["advance"] in set(todo["ID"])
    assert at.selectbox(key="cash-issue-term").value is None      # nothing preselected
    at.selectbox(key="cash-issue-term").select(deal["advance"]).run()
    amount = field(at, "text_input", "cash-issue", f"amount-{deal['advance']}")
    assert amount.value == "300000.00"
    amount.input("100000")
    submit(at, "cash-issue")
    assert not at.error
    rows = db(demo_url, lambda ctx: [(i.id, i.number, i.amount, i.status) for i in ctx.session.exec(
        select(Invoice).where(Invoice.term_id == deal["advance"])).all()])
    assert [r[2:] for r in rows] == [(D("100000.00"), InvoiceStatus.ISSUED)]
    left = frame(at, "Remaining", "Due days").set_index("ID")
    assert float(left.at[deal["advance"], "Remaining"]) == 200000.00
    # the message names the new invoice, and a link opens it
    iid, number = rows[0][:2]
    assert f"Invoice {number} of 100,000.00 issued." in texts(at)
    opened = [p.proto for p in at.get("page_link") if p.proto.query_string == f"invoice={iid}"]
    assert len(opened) == 1 and number in opened[0].label


def test_over_invoicing_is_refused_with_the_core_message_and_nothing_changes(page, demo_url, deal):
    at = page("finance", PAGE)
    at.selectbox(key="cash-issue-term").select(deal["advance"]).run()
    field(at, "text_input", "cash-issue", f"amount-{deal['advance']}").input("300000.01")
    submit(at, "cash-issue")
    assert "of 300,000.01 exceeds what term 'Advance 30%' has released and not yet invoiced (300,000.00)" \
        in at.error[0].value
    assert db(demo_url, lambda ctx: ctx.session.exec(select(Invoice).where(Invoice.term_id == deal["advance"])).all()) \
        == []


def editor_state(rows: dict[int, dict]) -> dict:
    return {"edited_rows": rows, "added_rows": [], "deleted_rows": []}


def test_finance_moves_a_due_date_in_the_table(page, demo_url):
    at = editing(page("finance", PAGE))
    shown = at.data_editor(key=EDITOR).value
    iid, version = int(shown.iloc[1]["ID"]), int(shown.iloc[1]["Version"])
    new_due = TODAY + timedelta(days=20)
    at.session_state[EDITOR] = editor_state({1: {"Due on": str(new_due)}})
    at.run()
    at.button(key="cash-inv-save").click().run()
    assert not at.exception and not at.error
    inv = db(demo_url, lambda ctx: ctx.session.get(Invoice, iid))
    assert (inv.due_on, inv.version) == (new_due, version + 1)
    row = at.data_editor(key=EDITOR).value.set_index("ID").loc[iid]
    assert row["Days overdue"] == 0 and str(new_due) in str(row["Due on"])


def test_a_stale_due_date_edit_is_refused_naming_who_changed_the_invoice(page, demo_url, demo_world):
    at = editing(page("finance", PAGE))
    iid = int(at.data_editor(key=EDITOR).value.iloc[0]["ID"])
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        users.create_user(ctx, "finance2", name="Second finance", roles=["finance"])
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        other = users.actor(ctx, "finance2")
    demo_world.do(other, billing.update_invoice, iid, due_on=TODAY + timedelta(days=5))
    at.session_state[EDITOR] = editor_state({0: {"Due on": str(TODAY + timedelta(days=9))}})
    at.run()
    at.button(key="cash-inv-save").click().run()
    assert "stale: invoice" in at.error[0].value and "'finance2'" in at.error[0].value
    assert db(demo_url, lambda ctx: ctx.session.get(Invoice, iid).due_on) == TODAY + timedelta(days=5)


def test_write_off_requested_by_finance_and_approved_by_a_leader(page, demo_url):
    inv = open_invoices(demo_url)[0]
    at = show(page("finance", PAGE), "Invoices")
    at.selectbox(key="cash-invoice").select(inv.id).run()
    field(at, "text_input", "cash-writeoff", "amount").input("100")
    field(at, "text_area", "cash-writeoff", "reason").input("bank charges")
    submit(at, "cash-writeoff")
    assert not at.error
    pending = db(demo_url, lambda ctx: ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == GateKind.WRITE_OFF, GateDecision.subject_id == inv.id,
        GateDecision.decision == Decision.PENDING)).all())
    assert [(g.amount, g.rationale) for g in pending] == [(D("100.00"), "bank charges")]

    lead = show(page("leader", PAGE), "Invoices")
    assert inv.id in set(frame(lead, "Reason", "Requested by")["Invoice ID"])
    lead.selectbox(key="cash-invoice").select(inv.id).run()
    field(lead, "radio", "cash-decide", "decision").set_value("approve")
    field(lead, "text_area", "cash-decide", "rationale").input("not worth chasing")
    submit(lead, "cash-decide")
    assert not lead.error
    after = db(demo_url, lambda ctx: ctx.session.get(Invoice, inv.id))
    assert after.written_off == inv.written_off + D("100.00")
    assert metric(show(lead, "Ageing"), "Outstanding") == total_outstanding(demo_url)


def test_a_write_off_above_what_is_outstanding_is_refused(page, demo_url):
    inv = open_invoices(demo_url)[0]
    at = show(page("finance", PAGE), "Invoices")
    at.selectbox(key="cash-invoice").select(inv.id).run()
    field(at, "text_input", "cash-writeoff", "amount").input(str(outstanding(inv) + 1))
    field(at, "text_area", "cash-writeoff", "reason").input("too much")
    submit(at, "cash-writeoff")
    assert "exceeds what is outstanding on it" in at.error[0].value
    assert db(demo_url, lambda ctx: ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == GateKind.WRITE_OFF, GateDecision.subject_id == inv.id,
        GateDecision.decision == Decision.PENDING)).all()) == []


# -- payments --------------------------------------------------------------------------------------

def test_finance_records_a_payment_oldest_due_first_and_the_ageing_changes(page, demo_url):
    oldest = open_invoices(demo_url)[0]
    account = oldest.account_id
    at = show(page("finance", PAGE), "Ageing")
    before_total = metric(at, "Outstanding")
    before_account = D(str(frame(at, "Customer ID", "Current").set_index("Customer ID").at[account, "Total"]))
    oldest_of_account = open_invoices(demo_url, {account})[0]
    show(at, "Payments")
    field(at, "selectbox", "cash-pay", "customer").select(account).run()
    field(at, "text_input", "cash-pay", "amount").input("1,000.00")
    field(at, "text_input", "cash-pay", "reference").input("BANK-T1")
    submit(at, "cash-pay")
    assert not at.error
    pay = db(demo_url, lambda ctx: ctx.session.exec(select(Payment).where(Payment.reference == "BANK-T1")).one())
    allocs = db(demo_url, lambda ctx: ctx.session.exec(select(Allocation).where(Allocation.payment_id == pay.id)).all())
    assert [(a.invoice_id, a.amount) for a in allocs] == [(oldest_of_account.id, D("1000.00"))]
    after = db(demo_url, lambda ctx: ctx.session.get(Invoice, oldest_of_account.id))
    assert outstanding(after) == outstanding(oldest_of_account) - D("1000.00")
    # on the page: the allocation, the ageing and the invoice list all show the payment
    assert "Payment of 1,000.00 from" in texts(at)
    assert "The payment is fully applied to invoices." in texts(at)
    assert list(frame(at, "Payment", "Allocated on")["Invoice"]) == [oldest_of_account.number]
    assert metric(show(at, "Ageing"), "Outstanding") == before_total - D("1000.00")
    ageing = frame(at, "Customer ID", "Current").set_index("Customer ID")
    assert D(str(ageing.at[account, "Total"])) == before_account - D("1000.00")
    listed = editing(at).data_editor(key=EDITOR).value.set_index("ID")
    assert D(str(listed.at[oldest_of_account.id, "Outstanding"])) == outstanding(after)


def test_a_payment_to_a_chosen_invoice_keeps_the_excess_as_unapplied_cash(page, demo_url):
    """The chosen invoice first, then the customer's other open invoices oldest due first (the rule a Finance
    sheet's Payments row follows too, issue 12); with none open, as here, the excess stays unapplied."""
    counts: dict[int, int] = {}
    for inv in open_invoices(demo_url):
        counts[inv.account_id] = counts.get(inv.account_id, 0) + 1
    target = [inv for inv in open_invoices(demo_url) if counts[inv.account_id] == 1][-1]
    account = target.account_id
    owed = outstanding(target)
    at = show(page("finance", PAGE), "Payments")
    field(at, "selectbox", "cash-pay", "customer").select(account).run()
    field(at, "text_input", "cash-pay", "amount").input(str(owed + D("500")))
    field(at, "selectbox", "cash-pay", "invoice").select(target.id)
    field(at, "text_input", "cash-pay", "reference").input("BANK-T2")
    submit(at, "cash-pay")
    assert not at.error
    pay = db(demo_url, lambda ctx: ctx.session.exec(select(Payment).where(Payment.reference == "BANK-T2")).one())
    assert pay.unapplied == D("500.00")
    allocs = db(demo_url, lambda ctx: ctx.session.exec(select(Allocation).where(Allocation.payment_id == pay.id)).all())
    assert [(a.invoice_id, a.amount) for a in allocs] == [(target.id, owed)]
    assert outstanding(db(demo_url, lambda ctx: ctx.session.get(Invoice, target.id))) == 0
    assert "Unapplied cash kept on this payment: 500.00" in texts(at)


def test_a_bad_payment_amount_shows_the_core_refusal_and_records_nothing(page, demo_url):
    account = open_invoices(demo_url)[0].account_id
    at = show(page("finance", PAGE), "Payments")
    before = db(demo_url, lambda ctx: len(ctx.session.exec(select(Payment)).all()))
    field(at, "selectbox", "cash-pay", "customer").select(account).run()
    field(at, "text_input", "cash-pay", "amount").input("-5")
    submit(at, "cash-pay")
    assert at.error[0].value == "Amount received: must not be negative (got -5.00)"   # named by its label
    assert db(demo_url, lambda ctx: len(ctx.session.exec(select(Payment)).all())) == before


def test_unapplied_cash_is_applied_to_an_invoice_later(page, demo_url, demo_world):
    target = open_invoices(demo_url)[0]
    pid = demo_world.do("finance", billing.record_payment, account_id=target.account_id, amount="700",
                   reference="ON ACCOUNT", allocate_to=[])
    at = show(page("finance", PAGE), "Payments")
    at.selectbox(key="cash-payment").select(pid).run()
    field(at, "selectbox", "cash-apply", "invoice").select(target.id)
    submit(at, "cash-apply")               # amount left empty: as much as possible
    assert not at.error
    assert db(demo_url, lambda ctx: ctx.session.get(Payment, pid).unapplied) == D("0.00")
    after = db(demo_url, lambda ctx: ctx.session.get(Invoice, target.id))
    assert outstanding(after) == outstanding(target) - D("700.00")
    assert "Applied to invoice INV-" in texts(at)


def test_chinese_labels(page):
    at = page("finance", PAGE, lang="zh")
    assert "开票与回款" in texts(at) and "已释放未开票的付款条款" in texts(at)
    at.session_state["cash-tab"] = "账龄"
    at.run()
    assert "按客户的应收账龄" in texts(at) and "应收余额" in texts(at)


def test_every_column_header_has_a_label():
    names = [c for n in dir(q) if n.endswith("_COLUMNS") for c in getattr(q, n)] + ["Customer ID", "Current", "Total"]
    for col in names:
        key = "cash.col." + "".join(ch if ch.isalnum() else "_" for ch in col.lower().replace("%", "pct")).strip("_")
        assert key in catalogue(), key


def test_the_invoice_table_formats_its_amounts(page, demo_url):
    """The walk saw 1162285.71 in the Invoices table while every other table said 1,162,285.71."""
    import json

    at = editing(page("finance", PAGE))
    config = json.loads(at.data_editor(key=EDITOR).proto.columns)
    for col in ("Amount", "Paid", "Outstanding"):
        assert config[col]["type_config"]["format"] == "accounting", (col, config[col])
    # and wide enough for the longest figure: a clipped 1,206,500.00 reads "6,500.00" (the walk, cash flow)
    longest = max(len(f"{float(v):,.2f}") for v in at.data_editor(key=EDITOR).value["Amount"])
    assert int(config["Amount"]["width"]) >= 8 * longest, config["Amount"]


def test_a_clicked_invoice_row_opens_the_invoice(page, demo_url):
    """The walk found the invoice list (an edit table for finance) opened nothing when a row was clicked."""
    at = show(page("finance", PAGE), "Invoices")
    table = "cash-inv-table-1-0"
    first = int(at.dataframe(key=table).value.iloc[0]["ID"])
    at.session_state[table] = {"selection": {"rows": [0], "columns": [], "cells": []}}   # a row click
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="cash-invoice").value == first
    number = db(demo_url, lambda ctx: ctx.session.get(Invoice, first).number)
    assert any(number in m.value for m in at.markdown)


def test_an_invoice_opens_the_payment_form_for_itself(page, demo_url):
    """From an invoice (?invoice=) the walk had to choose its customer and the invoice again in the payment form;
    a second payment under one bank reference went through without a word."""
    target = open_invoices(demo_url)[-1]
    owed = outstanding(target)
    at = page("finance", PAGE)
    at.query_params["invoice"] = str(target.id)
    at.run()
    at.button(key=f"cash-invoice-pay-{target.id}").click().run()
    assert not at.exception and at.session_state["cash-tab"] == "Payments"
    assert field(at, "selectbox", "cash-pay", "customer").value == target.account_id
    assert field(at, "selectbox", "cash-pay", "invoice").value == target.id
    field(at, "text_input", "cash-pay", "amount").input(str(owed + D("10")))
    field(at, "text_input", "cash-pay", "reference").input("BANK-FOR-ONE")
    submit(at, "cash-pay")                # "amount applied" left empty: what the invoice owes
    assert not at.error
    pay = db(demo_url, lambda ctx: ctx.session.exec(select(Payment).where(Payment.reference == "BANK-FOR-ONE")).one())
    allocs = db(demo_url, lambda ctx: ctx.session.exec(select(Allocation).where(Allocation.payment_id == pay.id)).all())
    assert [(a.invoice_id, a.amount) for a in allocs] == [(target.id, owed)] and pay.unapplied == D("10.00")
    # the same bank reference again: refused at the form, naming the field, and nothing recorded
    field(at, "selectbox", "cash-pay", "customer").select(target.account_id).run()
    field(at, "text_input", "cash-pay", "amount").input("5")
    field(at, "text_input", "cash-pay", "reference").input("BANK-FOR-ONE")
    submit(at, "cash-pay")
    assert any("Bank reference:" in e.value and "already has a payment" in e.value for e in at.error)
    assert db(demo_url, lambda ctx: len(ctx.session.exec(select(Payment).where(
        Payment.reference == "BANK-FOR-ONE")).all())) == 1
