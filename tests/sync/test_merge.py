"""The pure three-way merge, field by field."""
from sync.mapping import spreadsheet
from sync.merge import MASS_MIN, SheetRow, fingerprint, plan_tab

TAB = next(t for t in spreadsheet("finance").tabs if t.key == "invoices")
MS = next(t for t in spreadsheet("delivery").tabs if t.key == "milestones")


def inv(**kw):
    base = {"number": "INV-1", "contract": "HT-1", "term": "3", "amount": "100.00", "issued_on": "2026-01-10",
            "due_on": "2026-02-09", "outstanding": "100.00", "status": "issued"}
    return {**base, **kw}


def row(n, **cells):
    return SheetRow(row=n, cells=cells)


def test_sheet_only_change_is_applied():
    db = {1: inv()}
    p = plan_tab(TAB, [row(2, id=1, **inv(due_on="2026-03-01"))], db, {1: inv()})
    assert p.updates == [(2, 1, {"due_on": "2026-03-01"})] and not p.writes and not p.conflicts


def test_typed_date_and_number_forms_are_read():
    db = {1: inv()}
    cells = inv(due_on="3/1/2026", amount="100")     # as a person types them
    p = plan_tab(TAB, [row(2, id="1", **cells)], db, {1: inv()})
    assert p.updates == [(2, 1, {"due_on": "2026-03-01"})]
    serial = plan_tab(TAB, [row(2, id=1.0, **inv(due_on=46082))], db, {1: inv()})   # a date serial
    assert serial.updates == [(2, 1, {"due_on": "2026-03-01"})]


def test_db_only_change_is_written_to_the_sheet():
    p = plan_tab(TAB, [row(2, id=1, **inv())], {1: inv(status="paid", outstanding="0.00")}, {1: inv()})
    assert sorted(p.writes) == [(2, "outstanding", "0.00"), (2, "status", "paid")] and not p.updates


def test_both_changed_differently_is_a_conflict_keeping_both():
    p = plan_tab(TAB, [row(2, id=1, **inv(due_on="2026-03-01"))], {1: inv(due_on="2026-04-01")}, {1: inv()})
    assert len(p.conflicts) == 1
    c = p.conflicts[0]
    assert (c.field, c.sheet, c.db, c.base) == ("due_on", "2026-03-01", "2026-04-01", "2026-02-09")
    assert not p.updates and not p.writes and "changed here and in the system" in p.notes[2]


def test_db_owned_column_edit_is_reverted_with_a_note():
    p = plan_tab(TAB, [row(2, id=1, **inv(status="paid"))], {1: inv()}, {1: inv()})
    assert p.writes == [(2, "status", "issued")] and "kept by the system" in p.notes[2]


def test_bad_cell_is_refused_and_left_as_typed():
    p = plan_tab(TAB, [row(2, id=1, **inv(due_on="next friday"))], {1: inv()}, {1: inv()})
    assert p.rejected and p.rejected[0][1] == "due_on" and "Due on" in p.rejected[0][2]
    assert not p.writes and not p.updates and "not a date" in p.notes[2]


def test_new_row_is_created_and_a_recreated_fingerprint_only_gets_its_id():
    values = inv(number="INV-9", amount="50.00", outstanding="", status="", contract="")
    p = plan_tab(TAB, [row(5, **values)], {}, {})
    assert len(p.creates) == 1 and p.creates[0][0] == 5
    fp = p.creates[0][1]
    again = plan_tab(TAB, [row(5, **values)], {7: inv()}, {}, created={fp: 7})
    assert again.creates == [] and again.id_writebacks == [(5, 7)]


def test_rows_are_matched_by_id_not_position_and_blank_rows_skipped():
    db = {1: inv(), 2: inv(number="INV-2")}
    rows = [row(2, id=2, **inv(number="INV-2")), row(3), row(4, id=1, **inv())]
    p = plan_tab(TAB, rows, db, dict(db))
    assert not p.updates and not p.writes and not p.creates and not p.appends


def test_deleted_row_is_not_deleted_but_written_back_and_reported():
    db = {1: inv(), 2: inv(number="INV-2")}
    p = plan_tab(TAB, [row(2, id=1, **inv())], db, dict(db))
    assert p.vanished == [2] and p.appends == [2] and not p.stopped


def test_mass_disappearance_stops_the_cycle():
    db = {i: inv(number=f"INV-{i}") for i in range(1, 11)}
    rows = [row(2, id=1, **db[1])]
    p = plan_tab(TAB, rows, db, dict(db))
    assert p.stopped and "disappeared" in p.stopped and len(p.vanished) == 9 >= MASS_MIN
    assert not p.appends and not p.writes


def test_duplicate_and_unknown_ids_are_refused():
    db = {1: inv()}
    p = plan_tab(TAB, [row(2, id=1, **inv()), row(3, id=1, **inv()), row(4, id=99, **inv())], db, dict(db))
    assert {r[0] for r in p.rejected} == {3, 4}


def test_fingerprint_ignores_empty_fields_and_order():
    assert fingerprint("t", {"a": "1", "b": ""}) == fingerprint("t", {"a": "1"})
