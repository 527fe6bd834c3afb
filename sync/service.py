"""What the CLI and the Sync centre call: set up the spreadsheets, run cycles, resolve conflicts."""
from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import delete
from sqlmodel import select

from config.settings import get_settings
from core.context import Context, SYSTEM, unit_of_work
from core.errors import NotFound, ValidationError
from core.models import Setting, SyncConflict, SyncRun, SyncSnapshot
from core.services import action
from sync.backends import make_backend
from sync.engine import CycleReport, run_cycle
from sync.entities import ADAPTERS
from sync.mapping import Spreadsheet, spreadsheet, spreadsheets


def init_sheets(*, backend=None, lang: str | None = None, url=None) -> list[tuple[str, str]]:
    """Create what is missing in every department's spreadsheet; remember where each one is."""
    backend = backend or make_backend()
    if backend is None:
        raise ValidationError("LTC_SHEETS_BACKEND is 'off': nothing to set up", field="LTC_SHEETS_BACKEND")
    lang = lang or get_settings().lang
    out = []
    for sheet in spreadsheets():
        where, created = backend.ensure(sheet, lang)
        with unit_of_work(SYSTEM, "cli", url=url) as ctx:
            if created:   # a new, empty tab: forget what an earlier (lost) one had agreed
                ctx.session.execute(delete(SyncSnapshot).where(SyncSnapshot.tab.in_(created)))
            key = f"sheets.{backend.name}.{sheet.key}"
            row = ctx.session.get(Setting, key) or Setting(key=key)
            row.value, row.updated_at = where, datetime.now(timezone.utc)
            ctx.session.add(row)
        out.append((sheet.key, where))
    return out


def sync_all(*, backend_factory=make_backend, url=None, only: str | None = None) -> list[CycleReport]:
    """One cycle of each spreadsheet (or of `only`), each with a fresh request counter."""
    reports = []
    for sheet in spreadsheets():
        if only and sheet.key != only:
            continue
        backend = backend_factory()
        if backend is None:
            break
        reports.append(run_cycle(sheet, backend, url=url))
    return reports


@action("sync.resolve")
def resolve_conflict(ctx: Context, conflict_id: int, choice: str, value: str | None = None) -> None:
    """Settle a conflict as the person resolving it (their permissions apply):
    'sheet' applies the sheet's value, 'db' keeps the database's (the sheet gets it next cycle), 'other'
    applies `value`. The snapshot then takes the sheet's value as the base, so the next cycle writes the
    database's (now final) value to the sheet."""
    c = ctx.session.get(SyncConflict, conflict_id)
    if c is None or c.status != "open":
        raise NotFound(f"conflict {conflict_id} not found or already resolved")
    if choice not in ("sheet", "db", "other"):
        raise ValidationError(f"choice: {choice!r} is not one of sheet, db, other", field="choice")
    tab = next(t for s in spreadsheets() for t in s.tabs if t.key == c.tab)
    if choice in ("sheet", "other"):
        new = c.sheet_value if choice == "sheet" else (value or "")
        from sync.cells import canonical
        new = canonical(tab.column(c.field), new)
        ADAPTERS[tab.entity].update(ctx, c.record_id, {c.field: new})
    snap = ctx.session.exec(select(SyncSnapshot).where(SyncSnapshot.tab == c.tab,
                                                       SyncSnapshot.record_id == c.record_id)).first()
    base = json.loads(snap.values_json) if snap else {}
    base[c.field] = c.sheet_value
    snap = snap or SyncSnapshot(tab=c.tab, record_id=c.record_id)
    snap.values_json = json.dumps(base, ensure_ascii=False, sort_keys=True)
    ctx.session.add(snap)
    c.status, c.resolution, c.resolved_by = "resolved", choice, ctx.actor.login
    c.resolved_at = ctx.now()
    ctx.session.add(c)
    ctx.audit("sync.resolve", entity="syncconflict", entity_id=c.id,
              after={"tab": c.tab, "record": c.record_id, "field": c.field, "choice": choice})


def sheet_by_key(key: str) -> Spreadsheet:
    try:
        return spreadsheet(key)
    except KeyError as exc:
        raise ValidationError(f"spreadsheet: {exc.args[0]}", field="spreadsheet") from None


@action("sync.run")
def sync_now(ctx: Context, progress=None, *, backend_factory=make_backend) -> list[CycleReport]:
    """'Sync now' from the Sync centre: one cycle of every spreadsheet, reporting progress after each."""
    sheets = spreadsheets()
    reports = []
    for i, sheet in enumerate(sheets, 1):
        backend = backend_factory()
        if backend is None:
            break
        reports.append(run_cycle(sheet, backend))
        if progress:
            progress(i, len(sheets), sheet.key)
    return reports


@action("sync.view")
def recent_runs(ctx: Context, limit: int = 50) -> list[dict]:
    runs = ctx.session.exec(select(SyncRun).order_by(SyncRun.id.desc()).limit(limit)).all()
    out = []
    for r in runs:
        totals = json.loads(r.summary_json or "{}").get("totals", {})
        out.append({"ID": r.id, "Spreadsheet": r.spreadsheet, "Backend": r.backend, "Started": r.started_at,
                    "Status": r.status, "Requests": r.requests, **{k.title(): v for k, v in totals.items()},
                    "Message": json.loads(r.summary_json or "{}").get("message", "")})
    return out


@action("sync.view")
def open_conflicts(ctx: Context) -> list[dict]:
    rows = ctx.session.exec(select(SyncConflict).where(SyncConflict.status == "open")
                            .order_by(SyncConflict.id)).all()
    return [{"ID": c.id, "Spreadsheet": c.spreadsheet, "Tab": c.tab, "Record": c.record_id, "Field": c.field,
             "Sheet value": c.sheet_value, "Database value": c.db_value, "Since": c.created_at} for c in rows]


@action("sync.view")
def refused_cells(ctx: Context) -> list[dict]:
    """The cells the latest cycle of each spreadsheet refused, with the reason."""
    out = []
    for sheet in spreadsheets():
        run = ctx.session.exec(select(SyncRun).where(SyncRun.spreadsheet == sheet.key, SyncRun.finished_at != None)  # noqa: E711
                               .order_by(SyncRun.id.desc()).limit(1)).first()
        if run is None:
            continue
        for tab, rep in json.loads(run.summary_json or "{}").get("tabs", {}).items():
            for row, field, message in rep.get("rejected", []):
                out.append({"Spreadsheet": sheet.key, "Tab": tab, "Row": row, "Column": field, "Reason": message})
    return out
