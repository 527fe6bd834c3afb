"""Audit trail, settings and locks: the system's own records."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlmodel import Field, SQLModel

from core.models.base import utcnow


class AuditEvent(SQLModel, table=True):
    """Who changed what, when, from where (app, sheet:<tab>, import, cli)."""
    id: Optional[int] = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    user_id: Optional[int] = Field(default=None, foreign_key="user.id")
    user_login: str = Field(default="", max_length=64)
    source: str = Field(default="app", max_length=64)
    action: str = Field(max_length=64)
    entity: str = Field(max_length=32, index=True)
    entity_id: Optional[int] = Field(default=None, index=True)
    before_json: str = Field(default="", max_length=100000)
    after_json: str = Field(default="", max_length=100000)


class Setting(SQLModel, table=True):
    """Small named values the system keeps (round-robin pointer, spreadsheet keys)."""
    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(default="", max_length=4000)
    updated_at: datetime = Field(default_factory=utcnow)


class RequestKey(SQLModel, table=True):
    """A write that people or systems may repeat (a double click, a browser or API retry, a sheet row read twice)
    carries a one-time key: the first run's result is kept here, and the same key never records twice."""
    __tablename__ = "request_key"
    key: str = Field(primary_key=True, max_length=64)
    action: str = Field(max_length=64)
    user_login: str = Field(default="", max_length=64)
    result_json: str = Field(default="null", max_length=4000)
    at: datetime = Field(default_factory=utcnow)
