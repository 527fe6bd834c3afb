"""Who acts, from where, in which session: every service takes a Context first.

`unit_of_work` opens one short session for one user action and commits it, or rolls it back when a
service refuses, so a refusal changes nothing.
"""
from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum
from numbers import Integral
from typing import Any, ClassVar, Protocol

from sqlalchemy import Table, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, SQLModel, select

from core import clock as company_clock, permissions, scope
from core.db import new_session
from core.errors import NotFound, PermissionDenied, StaleVersionError
from core.messages import Joined, Text, kind
from core.models import AuditEvent, StageChange, User
from core.models.people import roles_in


@dataclass(frozen=True)
class Actor:
    """The person acting, as plain data (never a live ORM object)."""
    id: int | None
    login: str
    roles: frozenset[str]
    name: str = ""
    # a department sheet (no account) acting for these teams only: their people's records (core.scope)
    teams: frozenset[str] = frozenset()

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(id=user.id, login=user.login, roles=user.role_set, name=user.name)


MAX_ID = 2**31 - 1    # primary keys are INTEGER columns


def _key(id_: object) -> int | None:
    """The id as a primary key, or None when it is no whole number in the key column's range (numpy ints too)."""
    if isinstance(id_, Integral) and not isinstance(id_, bool):
        key = int(id_)
        if 0 < key <= MAX_ID:
            return key
    return None


class Row(Protocol):
    """A table row as the audit trail and stage history name it: its table and its id. Every SQLModel table
    class has both (SQLAlchemy sets `__table__`; tools/mypy_sqlmodel.py declares it for mypy)."""
    __table__: ClassVar[Table]

    @property
    def id(self) -> int | None: ...


SYSTEM = Actor(id=None, login="system", roles=frozenset(permissions.ROLES), name="system")


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Context:
    session: Session
    actor: Actor
    source: str = "app"                       # app, sheet:<tab>, import, cli
    clock: Callable[[], datetime] = field(default=_now)

    # -- time -------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return company_clock.local_date(self.clock())

    # -- permissions ------------------------------------------------------
    def require(self, action: str) -> None:
        roles = self.current_roles()
        if roles is None:
            raise PermissionDenied("permission: '{login}' is not an active user; ask an administrator",
                                   login=self.actor.login)
        if not self._allowed(roles, action):
            raise PermissionDenied("permission: '{login}' (roles: {roles}) may not perform '{action}'",
                                   login=self.actor.login, roles=Joined(", ", sorted(roles)) if roles else Text("none"),
                                   action=action)

    def may(self, action: str) -> bool:
        """Whether the actor's current roles allow `action` (require's check, as a question)."""
        roles = self.current_roles()
        return roles is not None and self._allowed(roles, action)

    def _allowed(self, roles: frozenset[str], action: str) -> bool:
        """The person's roles allow it, or, for a decision, a delegation in effect from someone whose do."""
        if permissions.allowed(roles, action):
            return True
        from core import approvals

        return approvals.delegated_may(self, action)

    def current_roles(self) -> frozenset[str] | None:
        """The actor's roles as the users table has them now (None: no such active user). The Actor is a copy
        taken at sign-in, so a person deactivated or stripped of a role loses that access at their next action,
        not at their next sign-in. System and sheet actors (no id) are not accounts: their roles stand."""
        if self.actor.id is None:
            return self.actor.roles
        known = self.session.info.setdefault("current_roles", {})
        if self.actor.id not in known:
            row = self.session.exec(select(User.active, User.roles).where(User.id == self.actor.id)).first()
            known[self.actor.id] = self.actor.roles & roles_in(row[1]) if row is not None and row[0] else None
        return known[self.actor.id]

    # -- loading ----------------------------------------------------------
    def get(self, model: type[SQLModel], id_: int | None, *, version: int | None = None,
            what: str | None = None):
        """Load a row or raise NotFound; with `version`, refuse when someone saved it since. A row outside the
        person's data scope (core.scope) is not found either, with the same words: nothing about it shows."""
        what = what or model.__name__.lower()
        # an id that is no whole number in the key column's range cannot exist: say so, do not crash the driver
        key = _key(id_)
        row = self.session.get(model, key) if key is not None else None
        if row is None or not scope.admits(self, row):
            raise NotFound("{what} {id} not found", what=kind(what), id=key if key is not None else repr(id_))
        if version is not None and getattr(row, "version", version) != version:
            stale = self._stale_message(what, row, version)
            raise StaleVersionError(stale)
        return row

    def _stale_message(self, what: str, row, version: int) -> Text:
        last = self.session.exec(
            select(AuditEvent).where(AuditEvent.entity == row.__table__.name,
                                     AuditEvent.entity_id == row.id)
            .order_by(AuditEvent.id.desc()).limit(1)).first()
        if last is None:
            return Text("stale: {what} {id} was changed (version {version}, you saw {seen}); reload it and apply your "
                        "change again", what=kind(what), id=row.id, version=row.version, seen=version)
        return Text("stale: {what} {id} was changed by '{login}' at {at:%Y-%m-%d %H:%M} (version {version}, you saw "
                    "{seen}); reload it and apply your change again", what=kind(what), id=row.id, login=last.user_login,
                    at=last.at, version=row.version, seen=version)

    # -- writing ----------------------------------------------------------
    def audit(self, action: str, row: Row | None = None, *, before: dict | None = None,
              entity: str | None = None, entity_id: int | None = None, after: dict | None = None) -> None:
        """Record who did what; `row` is flushed first so a new row has its id."""
        if row is not None:
            self.session.add(row)
            self.session.flush()
            entity = entity or row.__table__.name
            entity_id = entity_id if entity_id is not None else row.id
            after = snapshot(row) if after is None else after
        self.session.add(AuditEvent(
            at=self.now(), user_id=self.actor.id, user_login=self.actor.login, source=self.source,
            action=action, entity=entity or "", entity_id=entity_id,
            before_json=to_json(before) if before else "", after_json=to_json(after) if after else ""))

    def move(self, row: Row, attr: str, to: Enum, entity: str | None = None) -> None:
        """Change a stage or status and keep its history (time in stage is measured from it)."""
        old = getattr(row, attr)
        if old == to:
            return
        setattr(row, attr, to)
        if hasattr(row, "stage_since") and attr == "stage":
            row.stage_since = self.now()
        self.session.add(row)
        self.session.flush()
        assert row.id is not None   # flushed: the database has given a new row its id
        self.session.add(StageChange(entity=entity or row.__table__.name, entity_id=row.id,
                                     from_stage=str(old.value if old else ""), to_stage=str(to.value),
                                     at=self.now(), by_id=self.actor.id))


def snapshot(row: Row) -> dict[str, Any]:
    """A row's fields as JSON-safe data (no secrets: password hashes are left out)."""
    out = {}
    for key in row.__table__.columns.keys():
        if key == "password_hash":
            continue
        out[key] = getattr(row, key)
    return out


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(type(value).__name__)


def to_json(data: dict) -> str:
    return json.dumps(data, default=_json_default, ensure_ascii=False, sort_keys=True)


@event.listens_for(Session, "before_flush")
def _stamp_created_at(session, _flush_context, _instances) -> None:
    """New rows take their creation time from the unit of work's clock, not the wall clock, so the demo's
    simulated story (and any replay) stores the same data every time."""
    clock = session.info.get("clock")
    if clock is None:
        return
    for row in session.new:
        if hasattr(row, "created_at"):
            row.created_at = clock()


@contextmanager
def unit_of_work(actor: Actor, source: str = "app", *, url: str | None = None,
                 clock: Callable[[], datetime] | None = None) -> Iterator[Context]:
    """One session for one action: commit on success, roll back on any error."""
    session = new_session(url)
    ctx = Context(session=session, actor=actor, source=source, clock=clock or _now)
    session.info["clock"] = ctx.clock
    try:
        yield ctx
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise StaleVersionError(
            "stale: the record was changed by someone else while you edited it; reload and retry") from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def perform(actor: Actor, fn: Callable, *args, origin: str = "app", url: str | None = None, attempts: int = 5,
            request_key: str | None = None, **kwargs):
    """Run one service in its own unit of work, as a page, the sync and the CLI do. `origin` is where the change
    comes from (app, sheet:<tab>, import, cli: the audit's source); every other keyword goes to the service,
    `source=` too (a lead's source), which a parameter of that name here used to swallow.

    Refused as stale although the person gave no `version` (so nothing they had read went stale), the service
    met a concurrent change to a record it read itself, e.g. two clerks' payments allocated to the same
    invoice: it runs again on fresh data, every rule checked again. A stale `version` the person gave is
    theirs to see and is never retried.

    With a `request_key` (one per form shown, per API request, per sheet row), the write happens once: a second
    run of the key (a double click, a retry, a rerun) returns the first run's result and changes nothing."""
    from core import idempotency

    key = idempotency.check(request_key) if request_key is not None else None
    name = getattr(fn, "action", getattr(fn, "__name__", "action"))
    for attempt in range(1, attempts + 1):
        try:
            with unit_of_work(actor, origin, url=url) as ctx:
                if key is not None:
                    kept = idempotency.recall(ctx, key, name)
                    if not idempotency.is_missing(kept):
                        return kept
                result = fn(ctx, *args, **kwargs)
                if key is not None:
                    idempotency.remember(ctx, key, name, result)
                return result
        except StaleVersionError:
            if kwargs.get("version") is not None or attempt == attempts:
                raise
            time.sleep(random.uniform(0, 0.02 * attempt))   # let the other writer finish; no lock-step retries
        except IntegrityError:
            if key is None or attempt == attempts:   # only the key's own race is run again: it finds the key
                raise
