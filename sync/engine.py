"""One sync cycle of one spreadsheet: lock, read every tab once, plan (sync/merge.py), apply the sheet's
edits through the core services as the department's role, write every change back once, remember the
agreed values, unlock.

Every step is idempotent: a cycle interrupted anywhere and run again converges with no duplicate and no
lost edit (a create is remembered by its row's fingerprint in the same transaction; the snapshot is only
advanced for values both sides hold).
"""
from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import cast

from sqlalchemy import CursorResult, delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from config.settings import get_settings
from core import clock
from core.context import SYSTEM, Actor, perform, unit_of_work
from core.db import max_length
from core.errors import LtcError, ValidationError
from core.models import SyncConflict, SyncCreated, SyncLock, SyncRun, SyncSnapshot
from sync.backend import Backend, BackendError, Changed, CellWrite, Grid, WritePlan
from sync.cells import canonical, from_db, typed
from sync.entities import ADAPTERS
from sync.mapping import ID, NOTE, Spreadsheet, Tab
from sync.merge import Plan, SheetRow, plan_tab

ATTEMPTS = 3
SUMMARY_MAX = max_length(SyncRun.__table__.c.summary_json)
RESTORED = "restored: deleting a row in the sheet does not delete the record"


class Crash(BaseException):
    """Raised by the crash-injection hook in tests: like a killed worker, it skips all clean-up (the run
    stays unfinished and the lock stays until it expires)."""


@dataclass
class TabReport:
    applied: int = 0          # rows whose sheet edits reached the database
    written: int = 0          # cells written to the sheet
    created: int = 0          # records created from new rows
    appended: int = 0         # rows added to the sheet (new in the database, or restored)
    conflicts: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    vanished: list[int] = field(default_factory=list)
    stopped: str = ""
    missing: str = ""


@dataclass
class CycleReport:
    spreadsheet: str
    backend: str
    status: str = "ok"         # ok, stopped, busy, failed
    message: str = ""
    requests: int = 0
    tabs: dict[str, TabReport] = field(default_factory=dict)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["totals"] = {k: sum(len(t[k]) if isinstance(t[k], list) else t[k] for t in d["tabs"].values())
                       for k in ("applied", "written", "created", "appended", "conflicts", "rejected")}
        return d


def _now() -> datetime:
    return datetime.now(timezone.utc)




# -- the lock ------------------------------------------------------------------
def lock_ttl() -> timedelta:
    """How long a worker's lock lasts (LTC_SYNC_LOCK_TTL, default 10 minutes): after that a worker that died
    holding it no longer blocks the sheet."""
    return timedelta(seconds=get_settings().sync_lock_ttl)


def acquire_lock(key: str, holder: str, *, url=None, ttl: timedelta | None = None) -> bool:
    """Take the spreadsheet's lock, or a lock whose holder died (expired). Compare-and-set, so two
    workers starting together cannot both win."""
    now, ttl = _now(), ttl or lock_ttl()
    try:
        with unit_of_work(SYSTEM, "sync", url=url) as ctx:
            ctx.session.add(SyncLock(spreadsheet=key, holder=holder, expires_at=now + ttl))
        return True
    except IntegrityError:
        pass
    with unit_of_work(SYSTEM, "sync", url=url) as ctx:
        lock = ctx.session.get(SyncLock, key)
        if lock is None or clock.utc(lock.expires_at) > now:
            return False
        taken = cast(CursorResult, ctx.session.execute(
            update(SyncLock).where(SyncLock.spreadsheet == key, SyncLock.holder == lock.holder,
                                   SyncLock.expires_at == lock.expires_at)
            .values(holder=holder, expires_at=now + ttl))).rowcount   # an UPDATE's result has the rowcount
        return taken == 1


def release_lock(key: str, holder: str, *, url=None) -> None:
    with unit_of_work(SYSTEM, "sync", url=url) as ctx:
        ctx.session.execute(delete(SyncLock).where(SyncLock.spreadsheet == key, SyncLock.holder == holder))


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# -- the cycle -----------------------------------------------------------------
def run_cycle(sheet: Spreadsheet, backend: Backend, *, url=None, holder: str | None = None,
              crash: Callable[[str], None] | None = None) -> CycleReport:
    """Run one cycle; never raises for a sheet's or a backend's trouble: the report says what happened."""
    holder = holder or worker_name()
    report = CycleReport(spreadsheet=sheet.key, backend=backend.name)
    if not acquire_lock(sheet.key, holder, url=url):
        report.status, report.message = "busy", f"another sync of '{sheet.key}' is running; this one did nothing"
        return report
    start_requests = backend.requests
    with unit_of_work(SYSTEM, "sync", url=url) as ctx:
        run = SyncRun(spreadsheet=sheet.key, backend=backend.name, started_at=_now())
        ctx.session.add(run)
        ctx.session.flush()
        run_id = run.id
    assert run_id is not None   # flushed: the database gave it one
    try:
        _hook(crash, "locked")
        for attempt in range(ATTEMPTS):
            try:
                report.tabs = _cycle(sheet, backend, url, crash)
                break
            except Changed as exc:
                if attempt == ATTEMPTS - 1:
                    raise BackendError(
                        f"{exc}; gave up after {ATTEMPTS} tries, the next cycle will try again") from exc
        stopped = [t.stopped for t in report.tabs.values() if t.stopped]
        if stopped:
            report.status, report.message = "stopped", " ".join(stopped)
    except BackendError as exc:
        report.status, report.message = "failed", str(exc)
    except Exception as exc:   # a bug: report it and free the lock rather than block the sheet for lock_ttl()
        report.status, report.message = "failed", f"{type(exc).__name__}: {exc}"
    report.requests = backend.requests - start_requests
    _finish(run_id, report, url)
    release_lock(sheet.key, holder, url=url)
    return report


def _hook(crash, step: str) -> None:
    if crash is not None:
        crash(step)


def _finish(run_id: int, report: CycleReport, url) -> None:
    with unit_of_work(SYSTEM, "sync", url=url) as ctx:
        run = ctx.session.get_one(SyncRun, run_id)
        run.finished_at, run.status, run.requests = _now(), report.status, report.requests
        run.summary_json = _summary(report)
        ctx.session.add(run)


def _summary(report: CycleReport) -> str:
    """The report as JSON that fits its column: after a paste of thousands of bad rows only the first refusals
    are listed (the totals still count them all), rather than the cycle crashing and keeping the lock."""
    d, keep = report.as_dict(), 1000
    while len(text := json.dumps(d, ensure_ascii=False, default=str)) > SUMMARY_MAX and keep:
        keep //= 2
        d["message"] = d["message"][:2000]
        for tab in d["tabs"].values():
            tab["rejected"], tab["vanished"] = tab["rejected"][:keep], tab["vanished"][:keep]
    return text


def _cycle(sheet: Spreadsheet, backend: Backend, url, crash) -> dict[str, TabReport]:
    grids = backend.read(sheet)
    _hook(crash, "read")
    actor = Actor(id=None, login=f"sheet-{sheet.key}", roles=frozenset({sheet.act_as}), name=sheet.title,
                  teams=frozenset({sheet.team}) if sheet.team else frozenset())
    out, applied = {}, []
    for tab in sheet.tabs:
        rep = out[tab.key] = TabReport()
        grid = grids.get(tab.key)
        if grid is None:
            rep.missing = f"tab '{tab.title}' is missing: run `ltc sheets init`"
            continue
        state = _apply_tab(sheet.key, tab, grid, actor, url, rep, crash)
        if state:
            applied.append(state)
    _hook(crash, "applied")
    # the sheet's new values are worked out after every tab was applied: a payment changes its invoice
    write = WritePlan()
    changed_db = any(st.rep.applied or st.rep.created for st in applied)
    snapshots = [_writes(state, write, url, reload=changed_db) for state in applied]
    backend.write(sheet, write)
    _hook(crash, "written")
    with unit_of_work(SYSTEM, "sync", url=url) as ctx:
        for tab_key, base, db, sheet_now in snapshots:
            agreed = {rid: {**base.get(rid, {}), **{f: v for f, v in values.items() if f != ID and v == db[rid].get(f)}}
                      for rid, values in sheet_now.items()}
            _save_snapshots(ctx, tab_key, agreed, known=base)
    _hook(crash, "snapshot")
    return out


def _header(tab: Tab, grid: Grid) -> dict[str, int]:
    """field -> 1-based column, found by header text (English or Chinese), wherever the column is."""
    by_label = {}
    for col in tab.columns:
        by_label[col.header.casefold()] = col.field
        by_label[col.zh.casefold()] = col.field
    found = {}
    for i, h in enumerate(grid.rows[0] if grid.rows else [], 1):
        f = by_label.get(str(h or "").strip().casefold())
        if f and f not in found:
            found[f] = i
    return found


def _apply_tab(sheet_key: str, tab: Tab, grid: Grid, actor: Actor, url, rep: TabReport, crash):
    pos = _header(tab, grid)
    if ID not in pos:
        rep.missing = f"tab '{grid.title}' has no ID column: run `ltc sheets init`"
        return None
    adapter = ADAPTERS[tab.entity]
    cols = {c.field: c for c in tab.columns}
    rows = [SheetRow(row=n, cells={f: (r[i - 1] if i - 1 < len(r) else None) for f, i in pos.items()})
            for n, r in enumerate(grid.rows[1:], 2)]
    with unit_of_work(SYSTEM, "sync", url=url) as ctx:
        db = _canonical_rows(tab, adapter.rows(ctx))
        base = {s.record_id: json.loads(s.values_json)
                for s in ctx.session.exec(select(SyncSnapshot).where(SyncSnapshot.tab == tab.key)).all()}
        created = {c.fingerprint: c.record_id
                   for c in ctx.session.exec(select(SyncCreated).where(SyncCreated.tab == tab.key)).all()}
    plan = plan_tab(tab, rows, db, base, created, present=set(pos))
    rep.vanished = plan.vanished
    if plan.stopped:
        rep.stopped = plan.stopped
        return None
    source = f"sheet:{tab.title}"
    keep: set[tuple[int, str]] = {(r, f) for r, f, _ in plan.rejected}
    row_of: dict[int, int] = {}            # record id -> sheet row
    for srow in rows:
        try:
            rid = int(canonical(cols[ID], srow.cells.get(ID)))
        except (ValidationError, TypeError, ValueError):
            continue
        if rid in db and rid not in row_of and (srow.row, ID) not in keep:
            row_of[rid] = srow.row
    for c in plan.conflicts:
        keep.add((row_of[c.record_id], c.field))
    _record_conflicts(sheet_key, tab, plan, url, seen=set(row_of))
    rep.conflicts = len(plan.conflicts)

    for n, (row, rid, changes) in enumerate(plan.updates):
        try:
            def update(ctx, rid=rid, changes=changes):   # bound now: the loop moves on
                adapter.update(ctx, rid, changes)
                _save_snapshots(ctx, tab.key, {rid: {**base.get(rid, {}), **changes}})
            perform(actor, update, origin=source, url=url)
            rep.applied += 1
        except LtcError as exc:
            _refused(plan, keep, rep, row, exc, changes)
        _hook(crash, f"update:{n}")
    for n, (row, fp, values) in enumerate(plan.creates):
        try:
            def create(ctx, fp=fp, values=values):
                new_id = adapter.create(ctx, values)
                ctx.session.add(SyncCreated(tab=tab.key, fingerprint=fp, record_id=new_id))
                return new_id
            rid = perform(actor, create, origin=source, url=url)
            rep.created += 1
            row_of[rid] = row
        except LtcError as exc:
            _refused(plan, keep, rep, row, exc, values)
        _hook(crash, f"create:{n}")
    for row, rid in plan.id_writebacks:
        row_of[rid] = row
    rep.rejected = [(r, f, m) for r, f, m in plan.rejected]

    return _TabState(tab, grid, pos, rows, plan, keep, row_of, base, rep, db)


@dataclass
class _TabState:
    """What one tab's apply step leaves for the write step."""
    tab: Tab
    grid: Grid
    pos: dict[str, int]
    rows: list[SheetRow]
    plan: Plan
    keep: set
    row_of: dict[int, int]
    base: dict[int, dict]
    rep: TabReport
    db: dict[int, dict[str, str]]          # the database's rows as read before applying


def _writes(st: _TabState, write: WritePlan, url, reload: bool):
    """Add to `write` what the sheet should show now: the database's values, except cells kept as typed
    (refused input, conflicts). Returns what to remember as agreed once the write succeeded.
    `reload`: the database changed during this cycle (any tab), so read it again."""
    tab, grid, pos, rows, plan, keep, row_of, base, rep = (st.tab, st.grid, st.pos, st.rows, st.plan, st.keep,
                                                          st.row_of, st.base, st.rep)
    cols = {c.field: c for c in tab.columns}
    write.kinds[grid.title] = {i: cols[f].type for f, i in pos.items()}
    db = st.db
    if reload:
        with unit_of_work(SYSTEM, "sync", url=url) as ctx:
            db = _canonical_rows(tab, ADAPTERS[tab.entity].rows(ctx))
    sheet_now: dict[int, dict[str, str | None]] = {}   # None: a kept cell the sheet left empty
    by_row = {s.row: s for s in rows}
    for rid, row in row_of.items():
        current = {**plan.parsed.get(row, {}), ID: _id_text(cols[ID], by_row[row].cells.get(ID))}
        final: dict[str, str | None] = {}
        for f, i in pos.items():
            if f == NOTE:
                continue
            want = str(rid) if f == ID else db[rid].get(f, "")
            if (row, f) in keep and f != ID:
                final[f] = current.get(f)
                continue
            if current.get(f) != want:
                write.cells.append(CellWrite(grid.title, row, i, typed(cols[f], want)))
                rep.written += 1
            final[f] = want
        sheet_now[rid] = final
    for row in {s.row for s in rows}:
        note = plan.notes.get(row, "")
        old = str(by_row[row].cells.get(NOTE) or "")
        if NOTE in pos and note != old:
            write.cells.append(CellWrite(grid.title, row, pos[NOTE], note))
    width = max(pos.values())
    for rid in plan.appends:
        values = [""] * width
        for f, i in pos.items():
            values[i - 1] = typed(cols[f], str(rid) if f == ID else db[rid].get(f, "")) if f != NOTE else ""
        if rid in plan.vanished and NOTE in pos:
            values[pos[NOTE] - 1] = RESTORED
        write.appends.setdefault(grid.title, []).append(values)
        sheet_now[rid] = {f: (str(rid) if f == ID else db[rid].get(f, "")) for f in pos if f != NOTE}
        rep.appended += 1

    return tab.key, base, db, sheet_now


def _refused(plan: Plan, keep: set, rep: TabReport, row: int, exc: LtcError, changes: dict) -> None:
    plan.rejected.append((row, exc.field or ", ".join(changes), str(exc)))
    plan.note(row, str(exc))
    for f in changes:
        keep.add((row, f))


def _canonical_rows(tab: Tab, rows: dict[int, dict]) -> dict[int, dict[str, str]]:
    cols = [c for c in tab.data_columns]
    return {rid: {c.field: from_db(c, r.get(c.field)) for c in cols} for rid, r in rows.items()}


def _id_text(col, raw) -> str | None:
    try:
        return canonical(col, raw)
    except ValidationError:
        return None


def _save_snapshots(ctx, tab: str, values: dict[int, dict[str, str]], known: dict[int, dict] | None = None) -> None:
    """Remember the agreed values of many records at once: only the records whose values differ from what
    is `known` to be stored already are read and written (bulk inserts and updates)."""
    if known is not None:
        values = {rid: v for rid, v in values.items() if known.get(rid) != v}
    if not values:
        return
    ids = list(values)
    have = {}
    for chunk in range(0, len(ids), 900):   # stay under SQLite's bound-parameter limit
        have.update({s.record_id: (s.id, s.values_json) for s in ctx.session.exec(select(SyncSnapshot).where(
            SyncSnapshot.tab == tab, SyncSnapshot.record_id.in_(ids[chunk:chunk + 900]))).all()})
    inserts, updates = [], []
    for rid, vals in values.items():
        data = json.dumps(vals, ensure_ascii=False, sort_keys=True)
        if rid not in have:
            inserts.append({"tab": tab, "record_id": rid, "values_json": data})
        elif have[rid][1] != data:
            updates.append({"id": have[rid][0], "values_json": data})
    if inserts:
        ctx.session.execute(insert(SyncSnapshot), inserts)
    if updates:
        ctx.session.execute(update(SyncSnapshot), updates)


def _record_conflicts(sheet_key: str, tab: Tab, plan: Plan, url, seen: set[int]) -> None:
    """Keep each conflict once (the same field of the same record stays one open entry, with the latest
    values of both sides), and settle the open ones whose sides agree again (a person reverted their edit,
    or typed what the system has)."""
    now = {(c.record_id, c.field): c for c in plan.conflicts}
    with unit_of_work(SYSTEM, "sync", url=url) as ctx:
        open_rows = ctx.session.exec(select(SyncConflict).where(SyncConflict.tab == tab.key,
                                                                SyncConflict.status == "open")).all()
        by_key = {(r.record_id, r.field): r for r in open_rows}
        for key, row in by_key.items():
            if key not in now and key[0] in seen:
                row.status, row.resolution, row.resolved_by, row.resolved_at = "resolved", "settled", "sync", _now()
                ctx.session.add(row)
        for key, c in now.items():
            row = by_key.get(key) or SyncConflict(spreadsheet=sheet_key, tab=tab.key, record_id=c.record_id,
                                                  field=c.field)
            row.sheet_value, row.db_value, row.base_value = c.sheet, c.db, c.base
            ctx.session.add(row)
