"""Delivery (交付与验收): milestones, acceptance certificates and cost actuals."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlmodel import Field, SQLModel

from core.enums import AcceptanceKind, MilestoneStatus
from core.models.base import Versioned, enum_field, money_field, utcnow


class Milestone(Versioned, SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    seq: int = 1
    name: str = Field(max_length=200)
    planned_on: date
    forecast_on: Optional[date] = None
    accepted_on: Optional[date] = None       # the final acceptance date
    status: MilestoneStatus = enum_field(MilestoneStatus, MilestoneStatus.PLANNED)
    version: int = 1


class Acceptance(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    milestone_id: int = Field(foreign_key="milestone.id", index=True)
    kind: AcceptanceKind = enum_field(AcceptanceKind)
    accepted_on: date
    certificate_ref: str = Field(default="", max_length=500)
    recorded_by_id: Optional[int] = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class CostEntry(Versioned, SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    spent_on: date
    category: str = Field(default="other", max_length=64)   # labour, hardware, subcontract, travel, other
    amount: Decimal = money_field()
    description: str = Field(default="", max_length=1000)
    version: int = 1
