"""What the sheet sync remembers between cycles: the last synced values, conflicts, runs and locks.
(The sync logic itself lives in sync/; these are only its records, kept in the same database.)"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from core.models.base import utcnow


class SyncSnapshot(SQLModel, table=True):
    """The values of one record's row as both sides last agreed (the base of the three-way merge)."""
    __table_args__ = (UniqueConstraint("tab", "record_id"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    tab: str = Field(max_length=64, index=True)
    record_id: int
    values_json: str = Field(default="{}", max_length=20000)


class SyncCreated(SQLModel, table=True):
    """A record created from a sheet row, by the row's content: a cycle interrupted before the new ID was
    written back recognises the row next time instead of creating it twice."""
    __table_args__ = (UniqueConstraint("tab", "fingerprint"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    tab: str = Field(max_length=64)
    fingerprint: str = Field(max_length=64)
    record_id: int
    created_at: datetime = Field(default_factory=utcnow)


class SyncConflict(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    spreadsheet: str = Field(max_length=64, index=True)
    tab: str = Field(max_length=64)
    record_id: int
    field: str = Field(max_length=64)
    sheet_value: str = Field(default="", max_length=4000)
    db_value: str = Field(default="", max_length=4000)
    base_value: Optional[str] = Field(default=None, max_length=4000)
    status: str = Field(default="open", max_length=16, index=True)   # open, resolved
    resolution: str = Field(default="", max_length=16)               # sheet, db, other
    resolved_by: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    resolved_at: Optional[datetime] = None


class SyncRun(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    spreadsheet: str = Field(max_length=64, index=True)
    backend: str = Field(max_length=16)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: Optional[datetime] = None
    status: str = Field(default="running", max_length=16)   # running, ok, stopped, failed, busy
    requests: int = 0
    summary_json: str = Field(default="{}", max_length=100000)


class SyncLock(SQLModel, table=True):
    """One sync at a time per spreadsheet; a lock past its expiry (a crashed worker) may be taken over."""
    spreadsheet: str = Field(primary_key=True, max_length=64)
    holder: str = Field(max_length=200)
    expires_at: datetime
