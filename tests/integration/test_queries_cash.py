"""Query functions of the invoicing and cash page: terms to invoice, invoices, payments, AR ageing (the
buckets add up to the outstanding receivables), dunning levels, customer statements, write-offs and the AR
scope (an AR sees only their own accounts)."""
from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlmodel import select

from core.errors import NotFound, PermissionDenied
from core.models import Contact, Invoice, Opportunity
from core import ageing
from core.queries import cash as q
from core.services import billing, delivery
from tests.integration.money_fixtures import days, make_opportunity, signed_contract

BUCKETS = ["0-30", "31-60", "61-90", "91-180", "180+"]


def hand_to(world, opp_id, ar):
    def change(ctx):
        opp = ctx.session.get(Opportunity, opp_id)
        opp.ar_id = world.users[ar].id
        ctx.session.add(opp)
    world.read(change)


@pytest.fixture
def books(world):
    """Customer A (AR: ar): invoices due 185, 25 and 70 days ago, part paid, one written off in part, and an
    overpayment left unapplied. Customer B (AR: ar2): one invoice not yet due, one term still to invoice."""
    a = signed_contract(world, number="HT-A", opp_id=make_opportunity(world, name="A", account="Alpha Grid"))
    inv1 = world.do("finance", billing.issue_invoice, a["advance"], amount="100000", issued_on=days(-200))
    inv2 = world.do("finance", billing.issue_invoice, a["advance"], amount="200000", issued_on=days(-40))
    world.do("fr", delivery.accept_milestone, a["m1"], kind="final", accepted_on=days(-100))
    inv3 = world.do("finance", billing.issue_invoice, a["final"], amount="600000", issued_on=days(-100))
    world.do("finance", billing.record_payment, account_id=a["account"], amount="50000", received_on=days(-60),
             reference="BANK-1", allocate_to=[(inv3, "50000")])
    world.do("finance", billing.record_payment, account_id=a["account"], amount="120000", received_on=days(-30),
             reference="BANK-2", allocate_to=[(inv1, "100000")])
    world.do("finance", billing.request_write_off, inv2, amount="10000", reason="late go-live penalty")
    world.do("leader", billing.decide_write_off, inv2, "approve", rationale="in the contract")

    b = signed_contract(world, number="HT-B", opp_id=make_opportunity(world, name="B", account="Beta Metro"))
    hand_to(world, b["opp"], "ar2")
    inv4 = world.do("finance", billing.issue_invoice, b["advance"], amount="120000")   # today, due in 15 days
    world.read(lambda ctx: ctx.session.add(Contact(account_id=a["account"], name="张伟", phone="13800000000",
                                                   email="zw@alpha.cn")))
    return {"a": a, "b": b, "inv": [inv1, inv2, inv3, inv4]}


def total(values) -> D:
    return sum((D(v) for v in values), D("0.00"))


def outstanding_in_db(world, account_ids=None) -> D:
    def run(ctx):
        rows = ctx.session.exec(select(Invoice)).all()
        return total(r.amount - r.paid_amount - r.written_off for r in rows
                     if account_ids is None or r.account_id in account_ids)
    return world.read(run)


def test_ageing_puts_each_receivable_in_its_bucket_and_the_buckets_add_up_to_what_is_outstanding(world, books):
    df = world.do("finance", q.ageing)
    assert list(df.columns) == ["Customer ID", "Customer", "Current"] + BUCKETS + ["Total"]
    rows = df.set_index("Customer")
    alpha, beta = rows.loc["Alpha Grid"], rows.loc["Beta Metro"]
    # 100,000 due 185 days ago was paid; 190,000 (200,000 less a 10,000 write-off) is 25 days past due;
    # 550,000 (600,000 less 50,000 received) is 70 days past due
    assert [alpha[c] for c in ["Current"] + BUCKETS] == [0, D("190000.00"), 0, D("550000.00"), 0, 0]
    assert [beta[c] for c in ["Current"] + BUCKETS] == [D("120000.00"), 0, 0, 0, 0, 0]
    assert list(df["Customer"]) == ["Alpha Grid", "Beta Metro"]          # largest total first
    for _, row in df.iterrows():
        assert total(row[c] for c in ["Current"] + BUCKETS) == row["Total"]
    assert total(df["Total"]) == outstanding_in_db(world) == D("860000.00")


def test_ageing_bucket_edges_follow_the_configured_days_past_due(world, books):
    due = world.get(Invoice, books["inv"][3]).due_on      # Beta's invoice, 120,000
    expected = {-1: "Current", 0: "0-30", 30: "0-30", 31: "31-60", 60: "31-60", 61: "61-90", 90: "61-90",
                91: "91-180", 180: "91-180", 181: "180+", 1000: "180+"}
    for late, bucket in expected.items():
        row = world.do("leader", q.ageing, as_of=due + timedelta(days=late)).set_index("Customer").loc["Beta Metro"]
        assert row[bucket] == D("120000.00"), (late, bucket)
        assert row["Total"] == D("120000.00")


def test_dunning_levels_by_days_past_due_with_contact_and_ar(world, books):
    df = world.do("finance", q.dunning)
    assert [(r["Invoice"], r["Level"], r["Days overdue"]) for _, r in df.iterrows()] == [
        (world.get(Invoice, books["inv"][2]).number, 3, 70), (world.get(Invoice, books["inv"][1]).number, 1, 25)]
    first = df.iloc[0]
    assert (first["Customer"], first["Contact"], first["Phone"], first["Email"], first["Outstanding"], first["AR"]) == \
        ("Alpha Grid", "张伟", "13800000000", "zw@alpha.cn", D("550000.00"), "AR user")
    due = world.get(Invoice, books["inv"][3]).due_on
    for late, level in {0: None, 1: 1, 30: 1, 31: 2, 60: 2, 61: 3, 90: 3, 91: 4, 400: 4}.items():
        d = world.do("finance", q.dunning, as_of=due + timedelta(days=late))
        beta = d[d["Customer"] == "Beta Metro"]
        assert (list(beta["Level"]) or [None]) == [level], late


def test_invoices_show_outstanding_days_overdue_and_the_ar(world, books):
    df = world.do("finance", q.invoices).set_index("ID")
    inv1, inv2, inv3, inv4 = books["inv"]
    assert (df.at[inv1, "Outstanding"], df.at[inv1, "Status"], df.at[inv1, "Days overdue"]) == (0, "paid", 0)
    assert (df.at[inv2, "Outstanding"], df.at[inv2, "Written off"], df.at[inv2, "Days overdue"]) == \
        (D("190000.00"), D("10000.00"), 25)
    assert (df.at[inv3, "Paid"], df.at[inv3, "Status"], df.at[inv3, "Days overdue"]) == \
        (D("50000.00"), "partly_paid", 70)
    assert (df.at[inv4, "Days overdue"], df.at[inv4, "AR"]) == (0, "AR two")
    assert set(world.do("finance", q.invoices, open_only=True)["ID"]) == {inv2, inv3, inv4}
    assert list(world.do("finance", q.invoices, account_id=books["b"]["account"])["ID"]) == [inv4]
    assert len(world.do("finance", q.invoices, limit=2)) == 2


def test_to_invoice_lists_released_terms_with_what_remains(world, books):
    df = world.do("finance", q.to_invoice)
    # Alpha: advance and final fully invoiced, retention not released; Beta: 300,000 advance, 120,000 invoiced
    assert list(df["ID"]) == [books["b"]["advance"]]
    row = df.iloc[0]
    assert (row["Amount"], row["Invoiced"], row["Remaining"], row["Due days"], row["AR"]) == \
        (D("300000.00"), D("120000.00"), D("180000.00"), 15, "AR two")


def test_payments_and_the_allocation_of_one_payment(world, books):
    pays = world.do("finance", q.payments)
    assert list(pays["Reference"]) == ["BANK-2", "BANK-1"]
    assert (pays.iloc[0]["Allocated"], pays.iloc[0]["Unapplied"]) == (D("100000.00"), D("20000.00"))
    assert list(world.do("finance", q.payments, unapplied_only=True)["Reference"]) == ["BANK-2"]
    res = world.do("finance", q.payment_result, int(pays.iloc[0]["ID"]))
    assert (res["customer"], res["amount"], res["unapplied"]) == ("Alpha Grid", D("120000.00"), D("20000.00"))
    assert list(res["allocations"]["Amount"]) == [D("100000.00")]
    assert list(res["allocations"]["Payment"]) == ["BANK-2"]   # by its bank reference, not its id


def test_statement_running_balance_is_outstanding_less_unapplied_cash(world, books):
    s = world.do("finance", q.statement, books["a"]["account"])
    assert (s["invoiced"], s["received"], s["allocated"], s["written_off"], s["outstanding"], s["unapplied"]) == \
        (D("900000.00"), D("170000.00"), D("150000.00"), D("10000.00"), D("740000.00"), D("20000.00"))
    assert s["balance"] == D("720000.00")
    lines = s["lines"]
    assert list(lines["Type"]) == ["invoice", "invoice", "payment", "invoice", "payment", "write-off"]
    assert lines.iloc[-1]["Balance"] == s["balance"]
    assert total(lines["Debit"]) - total(lines["Credit"]) == s["balance"]
    assert len(s["invoices"]) == 3 and len(s["payments"]) == 2 and len(s["allocations"]) == 2


def test_an_ar_sees_only_the_accounts_where_they_are_ar(world, books):
    a_acc, b_acc = books["a"]["account"], books["b"]["account"]
    assert [c["name"] for c in world.do("finance", q.customers)] == ["Alpha Grid", "Beta Metro"]
    assert [c["name"] for c in world.do("ar", q.customers)] == ["Alpha Grid"]
    assert [c["name"] for c in world.do("ar2", q.customers)] == ["Beta Metro"]
    assert set(world.do("ar", q.invoices)["Customer"]) == {"Alpha Grid"}
    assert list(world.do("ar2", q.ageing)["Customer"]) == ["Beta Metro"]
    assert total(world.do("ar2", q.ageing)["Total"]) == outstanding_in_db(world, {b_acc})
    assert world.do("ar2", q.dunning).empty and world.do("ar", q.to_invoice).empty
    assert list(world.do("ar2", q.to_invoice)["ID"]) == [books["b"]["advance"]]
    assert world.do("ar2", q.payments).empty
    with pytest.raises(NotFound):
        world.do("ar2", q.statement, a_acc)
    pid = int(world.do("finance", q.payments).iloc[0]["ID"])
    with pytest.raises(NotFound):
        world.do("ar2", q.payment_result, pid)
    assert world.do("ar", q.statement, a_acc)["balance"] == D("720000.00")


def test_a_role_taken_away_narrows_the_view_at_the_next_read(world, books):
    """Issue 13: 'finance and leaders see all customers' was checked against the roles a person signed in with.
    A person signed in as AR and finance sees every customer; once finance is taken from them, the same
    sign-in sees only their own accounts, on the cash page and in My work."""
    from core.queries.work import my_work
    from core.services import users

    world.do("admin", users.create_user, "ar_fin", email="ar_fin@example.com", roles=["ar", "finance"])
    signed_in = world.read(lambda ctx: users.actor(ctx, "ar_fin"))      # the copy the session keeps
    world.users["ar_fin"] = signed_in
    hand_to(world, books["b"]["opp"], "ar_fin")
    assert [c["name"] for c in world.do("ar_fin", q.customers)] == ["Alpha Grid", "Beta Metro"]
    assert world.do("ar_fin", my_work)["terms_to_invoice"]        # finance's list: every term to invoice
    uid = signed_in.id
    world.do("admin", lambda ctx: users.update_user(ctx, uid, roles=["ar"]))
    assert [c["name"] for c in world.do("ar_fin", q.customers)] == ["Beta Metro"]
    assert set(world.do("ar_fin", q.invoices)["Customer"]) <= {"Beta Metro"}
    assert world.do("ar_fin", my_work)["terms_to_invoice"] == []


def test_pending_write_offs(world, books):
    assert world.do("leader", q.pending_write_offs).empty      # the one in the books was decided
    inv3 = books["inv"][2]
    world.do("finance", billing.request_write_off, inv3, amount="5000", reason="rounding with the customer")
    df = world.do("leader", q.pending_write_offs)
    row = df.iloc[0]
    assert (row["Invoice ID"], row["Amount"], row["Outstanding"], row["Reason"], row["Requested by"]) == \
        (inv3, D("5000.00"), D("550000.00"), "rounding with the customer", "FINANCE user")
    assert world.do("ar2", q.pending_write_offs).empty


@pytest.mark.parametrize("role", ["admin", "marketing", "sr", "fr", "legal"])
def test_roles_without_billing_view_are_refused(world, role):
    with pytest.raises(PermissionDenied):
        world.do(role, q.ageing)


@pytest.mark.parametrize("rows,message", [
    ([["a", 0, 30], ["b", 32, -1]], "starts at day 32, expected 31"),
    ([["a", 0, -1], ["b", 1, -1]], "only the last band may be open-ended"),
    ([["a", 0, 30], ["b", 31, 60]], "the last band must be open-ended"),
    ([["a", 10, 5], ["b", 6, -1]], "ends before it starts"),
])
def test_bucket_configuration_with_gaps_or_no_open_end_is_refused(rows, message):
    with pytest.raises(ValueError, match=message):
        ageing._bands(rows, "ageing_buckets")


def test_the_configured_buckets():
    assert ageing.ageing_buckets() == [("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("91-180", 91, 180),
                                  ("180+", 181, None)]
    assert ageing.dunning_levels() == [("1", 1, 30), ("2", 31, 60), ("3", 61, 90), ("4", 91, None)]
