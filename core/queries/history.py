"""The audit timeline of any record: who, when, from where, what changed; newest first."""
from __future__ import annotations

import json

import pandas as pd
from sqlmodel import select

from core.context import Context
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


def _names(ctx: Context, events) -> dict[str, str]:
    """login -> the person's name, for the logins of these events (a login nobody has any more stays as it is)."""
    logins = {e.user_login for e in events}
    rows = ctx.session.exec(select(User.login, User.name).where(User.login.in_(logins))).all() if logins else []
    return {login: name or login for login, name in rows}


@action("audit.view")
def record_history(ctx: Context, entity: str, entity_id: int, *, detail: bool = False) -> pd.DataFrame:
    """The record's events, newest first. With `detail`, `Changes` holds [(field, old, new)] for the page to
    word in the person's language, instead of the 'field: old → new' text."""
    table = TABLES.get(entity, entity)
    events = ctx.session.exec(select(AuditEvent).where(AuditEvent.entity == table, AuditEvent.entity_id == entity_id)
                              .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())).all()
    changes = _fields if detail else _changes
    names = _names(ctx, events)
    return pd.DataFrame([{"When": e.at, "Who": names.get(e.user_login, e.user_login), "Source": e.source,
                          "Action": e.action, "Changes": changes(e.before_json, e.after_json)} for e in events],
                        columns=["When", "Who", "Source", "Action", "Changes"])


@action("audit.view")
def recent_activity(ctx: Context, limit: int = 200) -> pd.DataFrame:
    """The latest events, newest first; each names its record by table (`Entity`) and id (`Record ID`)."""
    events = ctx.session.exec(select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                              .limit(limit)).all()
    names = _names(ctx, events)
    return pd.DataFrame([{"When": e.at, "Who": names.get(e.user_login, e.user_login), "Source": e.source,
                          "Action": e.action, "Entity": e.entity, "Record ID": e.entity_id} for e in events],
                        columns=["When", "Who", "Source", "Action", "Entity", "Record ID"])
