"""Leads (线索): unverified demand, scored and qualified or disqualified."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from core.enums import Authority, Grade, LeadStatus, Need
from core.models.base import Versioned, enum_field, money_field, utcnow


def _one_original(contact: str) -> Index:
    """One live, original lead per normalised company and phone (or e-mail): the database, not only the check
    before the insert, refuses a second one captured at the same instant. A lead captured on purpose as a
    duplicate (duplicate_of_id set) or merged away is outside it."""
    where = text(f"{contact} <> '' AND status <> 'merged' AND duplicate_of_id IS NULL")
    return Index(f"uq_lead_company_{contact}", "company_norm", contact, unique=True, sqlite_where=where,
                 postgresql_where=where)


class Lead(Versioned, SQLModel, table=True):
    __table_args__ = (_one_original("phone_norm"), _one_original("email_norm"))
    id: Optional[int] = Field(default=None, primary_key=True)
    company: str = Field(max_length=200)
    company_norm: str = Field(max_length=200, index=True)
    contact: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=64)
    phone_norm: str = Field(default="", max_length=32, index=True)
    email: str = Field(default="", max_length=254)
    email_norm: str = Field(default="", max_length=254, index=True)
    source: str = Field(default="other", max_length=32)
    region: str = Field(default="", max_length=64)
    industry: str = Field(default="", max_length=64)
    need_text: str = Field(default="", max_length=2000)
    # scorecard (BANT)
    budget: Optional[Decimal] = money_field(default=None)
    authority: Authority = enum_field(Authority, Authority.UNKNOWN)
    need: Need = enum_field(Need, Need.VAGUE)
    timeline_months: Optional[int] = None
    score: int = 0
    grade: Grade = enum_field(Grade, Grade.COLD)
    status: LeadStatus = enum_field(LeadStatus, LeadStatus.NEW, index=True)
    owner_id: Optional[int] = Field(default=None, foreign_key="user.id", index=True)
    disqualify_reason: str = Field(default="", max_length=500)
    merged_into_id: Optional[int] = Field(default=None, foreign_key="lead.id")
    duplicate_of_id: Optional[int] = Field(default=None, foreign_key="lead.id")
    captured_on: datetime = Field(default_factory=utcnow)
    version: int = 1
