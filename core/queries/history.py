"""The audit timeline of any record: who, when, from where, what changed; newest first."""
from __future__ import annotations

import json
from functools import cache

import pandas as pd
from sqlmodel import select

from sqlmodel import SQLModel

from core import messages, scope
from core.context import Context
from core.errors import NotFound
from core.exports import ENTITIES
from core.models import AuditEvent, User
from core.services import action

# The audit trail names entities by table; pages offer the export names people know.
TABLES = {name: model.__table__.name for name, model in ENTITIES.items() if name != "audit"}
TABLES["users"] = "user"


def _fields(before_json: str, after_json: str) -> list[tuple[str, object, object]]:
    """(field, old, new) for each field that differs (all fields of a new record)."""
    before = json.loads(before_json) if before_json else {}
    after = json.loads(after_json) if after_json else {}
    skip = {"version", "created_at"}
    return [(k, before.get(k), v) for k, v in sorted(after.items()) if k not in skip and before.get(k) != v]


def _changes(before_json: str, after_json: str) -> str:
    """'field: old → new' for each field that differs (all fields of a new record)."""
    return "; ".join(f"{k}: {'' if old is None else old} → {new}" for k, old, new in _fields(before_json, after_json))


LABELS = ("number", "name", "title", "reference", "company", "login")   # how each kind of record is called


@cache
def _models() -> dict[str, type]:
    """Table name -> model, for every table (read once: the registry does not change while running)."""
    return {m.class_.__tablename__: m.class_ for m in SQLModel._sa_registry.mappers
            if getattr(m.class_, "__tablename__", None)}


def _model(table: str):
    return _models().get(table)


def record_labels(ctx: Context, table: str, ids) -> dict[int, str]:
    """id -> how people call the record (an invoice's number, a customer's name), for records of `table`."""
    model, wanted = _model(table), sorted({int(i) for i in ids if isinstance(i, int) and not isinstance(i, bool)})
    attr = next((a for a in LABELS if model is not None and a in model.__table__.columns), None)
    if not wanted or attr is None:
        return {}
    column = getattr(model, attr)
    return {i: str(v) for i, v in ctx.session.exec(select(model.id, column).where(model.id.in_(wanted))).all() if v}


@action("audit.view")
def record_name(ctx: Context, entity: str, record_id: int) -> str:
    """How people call one record ('INV-2026-0038'); '' when its kind has no name or it is gone."""
    return record_labels(ctx, TABLES.get(entity, entity), [record_id]).get(record_id, "")


def _targets(table: str) -> dict[str, str]:
    """field -> the table it points at, for the foreign keys of `table` (account_id -> account)."""
    model = _model(table)
    if model is None:
        return {}
    return {c.name: next(iter(c.foreign_keys)).column.table.name for c in model.__table__.columns if c.foreign_keys}


def _named(ctx: Context, table: str, rows: list[list[tuple[str, object, object]]]) -> list[list[tuple]]:
    """The (field, old, new) changes with ids of other records replaced by their names ('customer: — → 44'
    reads 'customer: — → Jinan Water'); an id whose record is gone stays the id."""
    targets = _targets(table)
    wanted: dict[str, set] = {}
    for fields in rows:
        for k, old, new in fields:
            if k in targets:
                wanted.setdefault(targets[k], set()).update(v for v in (old, new) if v is not None)
    labels = {t: record_labels(ctx, t, ids) for t, ids in wanted.items()}

    def name(k, v):
        return labels.get(targets.get(k, ""), {}).get(v, v) if v is not None else v
    return [[(k, name(k, old), name(k, new)) for k, old, new in fields] for fields in rows]


def _names(ctx: Context, events) -> dict[str, str]:
    """login -> the person's name, for the logins of these events (a login nobody has any more stays as it is)."""
    logins = {e.user_login for e in events}
    rows = ctx.session.exec(select(User.login, User.name).where(User.login.in_(logins))).all() if logins else []
    return {login: name or login for login, name in rows}


def _reached(ctx: Context, event: AuditEvent) -> bool:
    model = _model(event.entity)
    row = ctx.session.get(model, event.entity_id) if model is not None and event.entity_id else None
    return row is None or scope.admits(ctx, row)


@action("audit.view")
def record_history(ctx: Context, entity: str, entity_id: int, *, detail: bool = False) -> pd.DataFrame:
    """The record's events, newest first. With `detail`, `Changes` holds [(field, old, new)] for the page to
    word in the person's language, instead of the 'field: old → new' text."""
    table = TABLES.get(entity, entity)
    model = _model(table)
    row = ctx.session.get(model, entity_id) if model is not None and isinstance(entity_id, int) else None
    if row is not None and not scope.admits(ctx, row):   # another person's record: as if it had no history
        raise NotFound("{what} {id} not found", what=messages.kind(table), id=entity_id)
    events = ctx.session.exec(select(AuditEvent).where(AuditEvent.entity == table, AuditEvent.entity_id == entity_id)
                              .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())).all()
    names = _names(ctx, events)
    changes = (_named(ctx, table, [_fields(e.before_json, e.after_json) for e in events]) if detail
               else [_changes(e.before_json, e.after_json) for e in events])
    return pd.DataFrame([{"When": e.at, "Who": names.get(e.user_login, e.user_login), "Source": e.source,
                          "Action": e.action, "Changes": change} for e, change in zip(events, changes)],
                        columns=["When", "Who", "Source", "Action", "Changes"])


@action("audit.view")
def recent_activity(ctx: Context, limit: int = 200) -> pd.DataFrame:
    """The latest events, newest first; each names its record by table (`Entity`), id (`Record ID`) and the
    name people know it by (`Label`: an invoice's number, a customer's name; '' when it has none)."""
    events = ctx.session.exec(select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                              .limit(limit)).all()
    events = [e for e in events if _reached(ctx, e)]   # the events of records in the person's data scope
    names = _names(ctx, events)
    by_table: dict[str, set] = {}
    for e in events:
        by_table.setdefault(e.entity, set()).add(e.entity_id)
    labels = {t: record_labels(ctx, t, ids) for t, ids in by_table.items()}
    return pd.DataFrame([{"When": e.at, "Who": names.get(e.user_login, e.user_login), "Source": e.source,
                          "Action": e.action, "Entity": e.entity, "Record ID": e.entity_id,
                          "Label": labels.get(e.entity, {}).get(e.entity_id, "")} for e in events],
                        columns=["When", "Who", "Source", "Action", "Entity", "Record ID", "Label"])
