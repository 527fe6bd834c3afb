"""The three-way merge of one tab: pure, no I/O.

Given the rows read from the sheet, the database's rows and the snapshot of the last sync (all as canonical
text, see sync/cells.py), it returns a Plan: what to apply to the database (through the core services, by
the engine), what to write to the sheet, which fields conflict, which cells are refused and why. Per field:

    sheet == db              nothing to do (the snapshot catches up)
    only the sheet changed   apply to the database (a db-owned column is reverted instead, with a note)
    only the db changed      write the database's value to the sheet
    both changed, differ     a conflict that keeps both values until someone resolves it

A row without an ID is a new record (its ID is written back once created). A row that disappeared from the
sheet is never deleted from the database: it is reported and written back. When a large share of the rows
vanished at once (a bad paste or sort), the plan stops and nothing is acted on.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from core.errors import ValidationError
from sync.cells import canonical, same_number
from sync.mapping import ID, Tab

# A cycle stops when more than this share of the synced rows vanished (and at least MASS_MIN rows).
MASS_SHARE = 0.2
MASS_MIN = 5

Values = dict[str, str]


@dataclass
class SheetRow:
    row: int                 # the sheet's row number (1 = header)
    cells: dict[str, object]  # field -> raw cell value, only for mapped columns present in the sheet


@dataclass
class Conflict:
    record_id: int
    field: str
    sheet: str
    db: str
    base: str | None


@dataclass
class Plan:
    tab: str
    updates: list[tuple[int, int, Values]] = field(default_factory=list)      # (row, id, {field: sheet value})
    creates: list[tuple[int, str, Values]] = field(default_factory=list)      # (row, fingerprint, values)
    writes: list[tuple[int, str, str]] = field(default_factory=list)          # (row, field, db value)
    appends: list[int] = field(default_factory=list)                          # ids to add as new rows
    id_writebacks: list[tuple[int, int]] = field(default_factory=list)        # (row, id) already created
    conflicts: list[Conflict] = field(default_factory=list)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)        # (row, field, message)
    notes: dict[int, str] = field(default_factory=dict)                       # row -> Sync note text
    vanished: list[int] = field(default_factory=list)                         # ids no longer in the sheet
    parsed: dict[int, Values] = field(default_factory=dict)                   # row -> readable cells, canonical
    stopped: str = ""

    def note(self, row: int, text: str) -> None:
        self.notes[row] = f"{self.notes[row]}; {text}" if self.notes.get(row) else text


def fingerprint(tab: str, values: Values) -> str:
    """Identifies a new row's content, so a create that crashed before its ID was written back is
    recognised next cycle instead of being created twice."""
    data = json.dumps([tab, sorted((k, v) for k, v in values.items() if v)], ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()[:32]


def plan_tab(tab: Tab, sheet_rows: list[SheetRow], db: dict[int, Values], base: dict[int, Values],
             created: dict[str, int] | None = None, present: set[str] | None = None) -> Plan:
    """`db` and `base` map record id -> {field: canonical}; `created` maps fingerprints of rows created
    earlier to their ids; `present` is the set of fields whose column the sheet has (default: all)."""
    plan = Plan(tab=tab.key)
    created = created or {}
    columns = [c for c in tab.data_columns if present is None or c.field in present]
    seen: dict[int, int] = {}

    for srow in sheet_rows:
        raw_id = srow.cells.get(ID)
        values, bad = _parse(columns, srow)
        plan.parsed[srow.row] = values
        if raw_id in (None, ""):
            _new_row(plan, tab, srow, values, bad, created, seen)
            continue
        try:
            rid = int(canonical(tab.column(ID), raw_id))
        except ValidationError:
            plan.rejected.append((srow.row, ID, f"ID: {str(raw_id)[:20]!r} is not an ID written by the system"))
            plan.note(srow.row, "ID: not an ID written by the system; clear it to create a new record")
            continue
        if rid in seen:
            plan.rejected.append((srow.row, ID, f"ID {rid} appears again (row {seen[rid]}); this row is ignored"))
            plan.note(srow.row, f"duplicate of row {seen[rid]}: this row is ignored; delete it")
            continue
        seen[rid] = srow.row
        if rid not in db:
            plan.rejected.append((srow.row, ID, f"ID {rid}: no such record"))
            plan.note(srow.row, f"ID {rid}: no such record; clear the ID to create a new one")
            continue
        _existing_row(plan, columns, srow.row, rid, values, bad, db[rid], base.get(rid), srow.cells)

    synced = [rid for rid in base if rid in db]
    plan.vanished = [rid for rid in synced if rid not in seen]
    if len(plan.vanished) >= MASS_MIN and len(plan.vanished) > MASS_SHARE * max(len(synced), 1):
        stopped = Plan(tab=tab.key)
        stopped.vanished = plan.vanished
        stopped.stopped = (f"{len(plan.vanished)} of {len(synced)} synced rows disappeared from '{tab.title}' at "
                           "once (a bad paste or sort?): nothing was changed; restore the rows or undo, then sync")
        return stopped
    # rows new in the database, and rows deleted from the sheet, are written (back) to the sheet
    plan.appends = [rid for rid in db if rid not in seen]
    return plan


def _parse(columns, srow: SheetRow) -> tuple[Values, dict[str, str]]:
    values, bad = {}, {}
    for col in columns:
        try:
            values[col.field] = canonical(col, srow.cells.get(col.field))
        except ValidationError as exc:
            bad[col.field] = str(exc)
    return values, bad


def _new_row(plan: Plan, tab: Tab, srow: SheetRow, values: Values, bad: dict[str, str],
             created: dict[str, int], seen: dict[int, int]) -> None:
    if not any(values.values()) and not bad:
        return   # a blank row
    if bad:
        for f, msg in bad.items():
            plan.rejected.append((srow.row, f, msg))
        plan.note(srow.row, "; ".join(bad.values()))
        return
    editable = {c.field for c in tab.data_columns if c.owner in ("sheet", "create")}
    fields = {k: v for k, v in values.items() if k in editable}
    fp = fingerprint(tab.key, fields)
    if fp in created:   # created in a cycle that stopped before writing the ID back
        rid = created[fp]
        if rid not in seen:
            seen[rid] = srow.row
            plan.id_writebacks.append((srow.row, rid))
            return
    plan.creates.append((srow.row, fp, fields))


def _existing_row(plan: Plan, columns, row: int, rid: int, values: Values, bad: dict[str, str],
                  db: Values, base: Values | None, raw: dict | None = None) -> None:
    """`raw`: the cells as the sheet gave them, to recognise the database's text parsed into a number."""
    raw = raw or {}
    changes: Values = {}
    for col in columns:
        f = col.field
        d = db.get(f, "")
        b = None if base is None else base.get(f)
        if f in bad and same_number(raw.get(f), d):
            plan.writes.append((row, f, d))       # the database's text, parsed as a number: written back as text
            plan.note(row, f"{col.header}: the sheet had turned {d} into a number; it is written back as text")
            continue
        if f in bad:
            if b is not None and d != b:
                plan.writes.append((row, f, d))    # the database moved on: no point keeping the bad text
            plan.rejected.append((row, f, bad[f]))
            plan.note(row, bad[f])
            continue
        s = values[f]
        if s == d:
            continue
        elif b is not None and s == b:
            plan.writes.append((row, f, d))
        elif col.owner != "sheet":
            plan.writes.append((row, f, d))
            plan.note(row, f"{col.header} is kept by the system: your edit was reverted")
        elif b is None or d != b:
            if b is None and s == "":
                plan.writes.append((row, f, d))    # an empty cell on a row never synced: fill it
            else:
                plan.conflicts.append(Conflict(record_id=rid, field=f, sheet=s, db=d, base=b))
                plan.note(row, f"{col.header}: changed here and in the system; kept both until resolved")
        else:
            changes[f] = s
    if changes:
        plan.updates.append((row, rid, changes))
