"""The sync contract suite: the same behaviour on every backend, on SQLite and PostgreSQL."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlmodel import select

from core import clock
from core.context import SYSTEM, unit_of_work
from core.models import AuditEvent, Invoice, Lead, Milestone, Payment, PaymentTerm, SyncConflict, SyncLock
from core.services import leads
from sync.engine import Crash, acquire_lock, run_cycle
from sync.mapping import spreadsheet, spreadsheets
from sync.service import resolve_conflict

PAST = datetime(2000, 1, 1, tzinfo=timezone.utc)


def cycle(world, factory, key):
    return run_cycle(spreadsheet(key), factory(), url=world.url)


def all_cycles(world, factory):
    return {s.key: run_cycle(s, factory(), url=world.url) for s in spreadsheets()}


def test_first_sync_fills_every_tab_and_a_second_changes_nothing(world, sheets, chain):
    factory, person = sheets
    first = all_cycles(world, factory)
    assert all(r.status == "ok" for r in first.values())
    assert {r["ID"] for r in person.rows("marketing", "Leads")} == {chain["lead1"], chain["lead2"]}
    assert person.row("finance", "Invoices", chain["invoice"])["Amount"] == 300000
    again = all_cycles(world, factory)
    for r in again.values():
        t = r.as_dict()["totals"]
        assert (t["written"], t["appended"], t["applied"], t["created"]) == (0, 0, 0, 0)
        assert r.requests <= 2


def test_formula_like_data_stays_text(world, sheets, chain):
    factory, person = sheets
    world.do("marketing", leads.update_lead, chain["lead2"], contact="@SUM(A1)", region="+1-2", industry="-cmd")
    cycle(world, factory, "marketing")
    row = person.row("marketing", "Leads", chain["lead2"])
    assert row["Company"] == "=IMPORTXML(\"http://x\",\"//a\")"
    assert (row["Contact"], row["Region"], row["Industry"]) == ("@SUM(A1)", "+1-2", "-cmd")
    assert cycle(world, factory, "marketing").as_dict()["totals"]["written"] == 0   # read back as the same text


def test_sheet_edit_goes_through_the_service_with_audit(world, sheets, chain):
    factory, person = sheets
    cycle(world, factory, "marketing")
    score_before = world.get(Lead, chain["lead1"]).score
    person.set("marketing", "Leads", chain["lead1"], "Budget", "1,234,567.50")
    rep = cycle(world, factory, "marketing")
    assert rep.tabs["leads"].applied == 1
    lead = world.get(Lead, chain["lead1"])
    assert lead.budget == Decimal("1234567.50")
    assert lead.score == score_before + 7    # the scorecard's budget band moved from 18 to 25 points
    ev = world.read(lambda ctx: ctx.session.exec(select(AuditEvent).where(
        AuditEvent.entity == "lead", AuditEvent.entity_id == chain["lead1"]).order_by(AuditEvent.id.desc())).first())
    assert ev.source == "sheet:Leads" and "1234567.50" in ev.after_json
    # the derived grade/score are written back in the same cycle; nothing left to do after
    assert cycle(world, factory, "marketing").as_dict()["totals"]["written"] == 0


def test_db_change_reaches_the_sheet(world, sheets, chain):
    factory, person = sheets
    cycle(world, factory, "marketing")
    world.do("marketing", leads.update_lead, chain["lead1"], contact="李雷")
    cycle(world, factory, "marketing")
    assert person.row("marketing", "Leads", chain["lead1"])["Contact"] == "李雷"


def test_bad_cell_is_refused_kept_and_explained_then_picked_up_when_fixed(world, sheets, chain):
    factory, person = sheets
    cycle(world, factory, "marketing")
    person.set("marketing", "Leads", chain["lead1"], "Budget", "lots")
    rep = cycle(world, factory, "marketing")
    assert rep.tabs["leads"].rejected and world.get(Lead, chain["lead1"]).budget == Decimal("500000.00")
    row = person.row("marketing", "Leads", chain["lead1"])
    assert row["Budget"] == "lots" and "not an amount" in row["Sync note"]
    person.set("marketing", "Leads", chain["lead1"], "Budget", "600000")
    cycle(world, factory, "marketing")
    assert world.get(Lead, chain["lead1"]).budget == Decimal("600000.00")
    assert not person.row("marketing", "Leads", chain["lead1"])["Sync note"]


def test_db_owned_column_edit_is_reverted_with_a_note(world, sheets, chain):
    factory, person = sheets
    cycle(world, factory, "finance")
    person.set("finance", "Invoices", chain["invoice"], "Outstanding", 1)
    cycle(world, factory, "finance")
    row = person.row("finance", "Invoices", chain["invoice"])
    assert row["Outstanding"] == 300000 and "kept by the system" in row["Sync note"]


def test_conflict_keeps_both_values_until_resolved(world, sheets, chain):
    factory, person = sheets
    cycle(world, factory, "marketing")
    person.set("marketing", "Leads", chain["lead1"], "Contact", "From the sheet")
    world.do("marketing", leads.update_lead, chain["lead1"], contact="From the app")
    rep = cycle(world, factory, "marketing")
    assert rep.tabs["leads"].conflicts == 1
    conflict = world.read(lambda ctx: ctx.session.exec(select(SyncConflict)).one())
    assert (conflict.sheet_value, conflict.db_value) == ("From the sheet", "From the app")
    assert person.row("marketing", "Leads", chain["lead1"])["Contact"] == "From the sheet"
    cycle(world, factory, "marketing")   # still one open conflict, not two
    assert world.read(lambda ctx: len(ctx.session.exec(select(SyncConflict)).all())) == 1
    world.do("marketing", resolve_conflict, conflict.id, "sheet")
    cycle(world, factory, "marketing")
    assert world.get(Lead, chain["lead1"]).contact == "From the sheet"
    assert person.row("marketing", "Leads", chain["lead1"])["Contact"] == "From the sheet"


def test_conflict_resolved_keeping_the_database_value(world, sheets, chain):
    factory, person = sheets
    cycle(world, factory, "marketing")
    person.set("marketing", "Leads", chain["lead1"], "Contact", "Sheet")
    world.do("marketing", leads.update_lead, chain["lead1"], contact="App")
    cycle(world, factory, "marketing")
    cid = world.read(lambda ctx: ctx.session.exec(select(SyncConflict.id)).one())
    world.do("marketing", resolve_conflict, cid, "db")
    cycle(world, factory, "marketing")
    assert person.row("marketing", "Leads", chain["lead1"])["Contact"] == "App"
    assert world.get(Lead, chain["lead1"]).contact == "App"


def test_new_rows_are_created_with_their_id_written_back(world, sheets, chain):
    factory, person = sheets
    cycle(world, factory, "finance")
    person.append("finance", "Payments", {"Invoice": world.get(Invoice, chain["invoice"]).number,
                                          "Amount": "100,000.00", "Received on": "2026/11/20", "Reference": "B-1"})
    rep = cycle(world, factory, "finance")
    assert rep.tabs["payments"].created == 1
    pay = person.rows("finance", "Payments")[-1]
    assert isinstance(pay["ID"], int) and world.get(Payment, pay["ID"]).amount == Decimal("100000.00")
    # allocated as in the app: the invoice's outstanding is down, on the sheet too, in the same cycle
    assert world.get(Invoice, chain["invoice"]).paid_amount == Decimal("100000.00")
    assert person.row("finance", "Invoices", chain["invoice"])["Outstanding"] == 200000
    assert cycle(world, factory, "finance").as_dict()["totals"]["created"] == 0


def _second_invoice(world, chain) -> int:
    """The Go-live term (600,000) released and invoiced: the customer owes two invoices, the advance the older."""
    from core.services import billing, delivery
    world.do("fr", delivery.accept_milestone, chain["m1"], kind="final", accepted_on=clock.today() - timedelta(days=1))
    return world.do("finance", billing.issue_invoice, chain["final"], amount=Decimal("600000"))


def test_a_payment_row_pays_its_invoice_first_and_the_rest_oldest_due_first(world, sheets, chain):
    """Issue 12: a row paying more than its invoice left the rest unapplied, where the app allocates it."""
    factory, person = sheets
    newer = _second_invoice(world, chain)
    cycle(world, factory, "finance")
    person.append("finance", "Payments", {"Invoice": world.get(Invoice, newer).number, "Amount": "700,000.00",
                                          "Received on": clock.today().isoformat(), "Reference": "B-7"})
    rep = cycle(world, factory, "finance")
    assert rep.tabs["payments"].created == 1 and not rep.tabs["payments"].rejected
    assert world.get(Invoice, newer).paid_amount == Decimal("600000.00")
    assert world.get(Invoice, chain["invoice"]).paid_amount == Decimal("100000.00")   # the rest, oldest due first
    row = person.rows("finance", "Payments")[-1]
    assert row["Invoice"] == world.get(Invoice, newer).number and row["Unapplied"] in (0, "0.00", None, "")
    assert cycle(world, factory, "finance").as_dict()["totals"]["written"] == 0


def test_a_payment_row_naming_a_paid_invoice_is_refused_with_a_note(world, sheets, chain):
    """Issue 12: the row was recorded as unapplied cash and its invoice blanked, with no note."""
    from core.services import billing
    factory, person = sheets
    number = world.get(Invoice, chain["invoice"]).number
    world.do("finance", billing.record_payment, account_id=chain["account"], amount=Decimal("300000"),
             reference="PAID-IN-FULL")
    cycle(world, factory, "finance")
    payments = world.read(lambda ctx: len(ctx.session.exec(select(Payment)).all()))
    person.append("finance", "Payments", {"Invoice": number, "Amount": "5,000.00",
                                          "Received on": clock.today().isoformat(), "Reference": "B-8"})
    rep = cycle(world, factory, "finance")
    assert rep.tabs["payments"].created == 0 and rep.tabs["payments"].rejected
    row = person.rows("finance", "Payments")[-1]
    assert row["ID"] is None and row["Invoice"] == number
    assert f"invoice '{number}' has nothing outstanding (paid)" in row["Sync note"]
    assert world.read(lambda ctx: len(ctx.session.exec(select(Payment)).all())) == payments


def test_acceptance_typed_in_the_delivery_sheet_releases_the_term(world, sheets, chain):
    factory, person = sheets
    cycle(world, factory, "delivery")
    person.set("delivery", "Milestones", chain["m1"], "Accepted on", (clock.today() - timedelta(days=1)).isoformat())
    rep = cycle(world, factory, "delivery")
    assert rep.tabs["milestones"].applied == 1
    assert world.get(Milestone, chain["m1"]).status == "accepted"
    assert world.get(PaymentTerm, chain["final"]).released_on is not None


def test_invoice_above_the_released_amount_is_refused(world, sheets, chain):
    factory, person = sheets
    cycle(world, factory, "finance")
    person.append("finance", "Invoices", {"Term": chain["final"], "Amount": 600000})
    rep = cycle(world, factory, "finance")
    assert rep.tabs["invoices"].created == 0 and rep.tabs["invoices"].rejected
    row = person.rows("finance", "Invoices")[-1]
    assert row["ID"] is None and row["Sync note"]
    assert world.read(lambda ctx: len(ctx.session.exec(select(Invoice)).all())) == 1


def test_deleted_row_is_restored_and_a_mass_deletion_stops(world, sheets, chain):
    factory, person = sheets
    for i in range(8):
        world.do("marketing", leads.capture_lead, company=f"Extra {i}", phone=f"1390000000{i}", source="website")
    cycle(world, factory, "marketing")
    person.delete("marketing", "Leads", [chain["lead1"]])
    rep = cycle(world, factory, "marketing")
    assert rep.tabs["leads"].vanished == [chain["lead1"]] and world.get(Lead, chain["lead1"]) is not None
    assert "restored" in person.row("marketing", "Leads", chain["lead1"])["Sync note"]
    ids = [r["ID"] for r in person.rows("marketing", "Leads")]
    person.delete("marketing", "Leads", ids[:7])
    rep = cycle(world, factory, "marketing")
    assert rep.status == "stopped" and len(person.rows("marketing", "Leads")) == len(ids) - 7


def test_sorting_moving_columns_and_helper_columns_change_nothing(world, sheets, chain):
    factory, person = sheets
    cycle(world, factory, "marketing")
    person.sort("marketing", "Leads", "Company")
    person.move_first_column_to_end_and_add_helper("marketing", "Leads")
    rep = cycle(world, factory, "marketing")
    t = rep.as_dict()["totals"]
    assert (t["applied"], t["written"], t["appended"], t["conflicts"]) == (0, 0, 0, 0)
    assert all(r["My notes"].startswith("note") for r in person.rows("marketing", "Leads"))


@pytest.mark.parametrize("step", ["locked", "read", "create:0", "applied", "written", "snapshot"])
def test_crash_at_any_step_then_a_new_cycle_converges(world, sheets, chain, step):
    factory, person = sheets
    cycle(world, factory, "finance")
    number = world.get(Invoice, chain["invoice"]).number
    person.append("finance", "Payments", {"Invoice": number, "Amount": 1000, "Received on": "2026-11-20",
                                          "Reference": "CRASH"})

    def crash(at):
        if at == step:
            raise Crash(at)
    with pytest.raises(Crash):
        run_cycle(spreadsheet("finance"), factory(), url=world.url, crash=crash)
    with unit_of_work(SYSTEM, "test", url=world.url) as ctx:   # the killed worker's lock has expired
        ctx.session.get(SyncLock, "finance").expires_at = PAST
    cycle(world, factory, "finance")
    cycle(world, factory, "finance")
    payments = world.read(lambda ctx: ctx.session.exec(select(Payment).where(Payment.reference == "CRASH")).all())
    assert len(payments) == 1
    rows = [r for r in person.rows("finance", "Payments") if r["Reference"] == "CRASH"]
    assert len(rows) == 1 and rows[0]["ID"] == payments[0].id
    assert cycle(world, factory, "finance").as_dict()["totals"]["written"] == 0


def test_one_sync_at_a_time_and_a_dead_lock_expires(world, sheets, chain):
    factory, _ = sheets
    assert acquire_lock("finance", "worker-a", url=world.url)
    busy = cycle(world, factory, "finance")
    assert busy.status == "busy"
    assert not acquire_lock("finance", "worker-b", url=world.url)
    with unit_of_work(SYSTEM, "test", url=world.url) as ctx:
        ctx.session.get(SyncLock, "finance").expires_at = PAST
    assert cycle(world, factory, "finance").status == "ok"


def test_every_value_the_service_accepts_is_a_value_the_sheet_accepts(world, sheets, chain):
    """Issue 12: a cost of category 'software', recorded in the app, was refused by the Delivery sheet's list on
    every cycle although nobody had edited its row. An enum column's values are core's (core/choices.py)."""
    from core.choices import choices
    from core.services import delivery
    factory, person = sheets
    for category in choices("cost", "category"):
        world.do("fr", delivery.record_cost, chain["contract"], spent_on=clock.today(), category=category,
                 amount=Decimal("100"))
    first, again = cycle(world, factory, "delivery"), cycle(world, factory, "delivery")
    assert not first.tabs["costs"].rejected and not again.tabs["costs"].rejected
    assert {r["Category"] for r in person.rows("delivery", "Costs")} == set(choices("cost", "category"))
    for s in spreadsheets():
        for tab in s.tabs:
            for col in tab.columns:
                if col.type == "enum":
                    assert col.values == choices(tab.entity, col.field), f"{tab.key}.{col.field}"


def test_a_mapping_whose_list_disagrees_with_core_refuses_to_start_naming_the_column():
    from sync.mapping import _tab
    columns = [{"header": "ID", "field": "id"}, {"header": "Sync note", "field": "sync_note"},
               {"header": "Category", "field": "category", "type": "enum", "values": ["labour", "hardware"]}]
    with pytest.raises(ValueError, match=r"tab 'costs' column 'Category': values \['labour', 'hardware'\] disagree "
                                         r"with core's \['labour', 'hardware', 'software'"):
        _tab("costs", {"title": "Costs", "entity": "cost", "columns": columns})
    columns[2] = {"header": "Stage", "field": "stage", "type": "enum"}
    with pytest.raises(ValueError, match="column 'Stage': type enum, but core keeps no list of values for cost.stage"):
        _tab("costs", {"title": "Costs", "entity": "cost", "columns": columns})


def test_the_finance_sheet_shows_a_credit_note_with_its_kind_and_the_invoice_it_credits(world, sheets, chain):
    """Issue 12: credit notes (红字发票) are rows of the Invoices tab, netting what the invoice owes."""
    from core.services import billing

    factory, person = sheets
    number = world.get(Invoice, chain["invoice"]).number
    note = world.do("finance", billing.issue_credit_note, chain["invoice"], amount="30000", reason="price agreed")
    cycle(world, factory, "finance")
    row = person.row("finance", "Invoices", note)
    assert (row["Kind"], row["Credits"], row["Amount"], row["Outstanding"]) == ("credit_note", number, -30000, 0)
    assert row["Number"].startswith("CN-")
    credited = person.row("finance", "Invoices", chain["invoice"])
    assert (credited["Kind"], credited["Credits"] or "", credited["Outstanding"]) == ("invoice", "", 270000)
    assert cycle(world, factory, "finance").as_dict()["totals"]["written"] == 0
