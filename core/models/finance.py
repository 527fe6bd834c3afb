"""The four calculations (四算) and the closure review (决算与复盘)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlmodel import Field, SQLModel

from core.enums import Calculation
from core.models.base import enum_field, money_field, utcnow


class Baseline(SQLModel, table=True):
    """A snapshot of revenue and cost: estimate before bidding, budget at signing (re-baselined by
    change orders), actuals during delivery, final accounts at closure. The newest of a kind counts."""
    id: Optional[int] = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id", index=True)
    contract_id: Optional[int] = Field(default=None, foreign_key="contract.id", index=True)
    kind: Calculation = enum_field(Calculation, index=True)
    revenue: Decimal = money_field()
    cost: Decimal = money_field()
    note: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost


class ClosureReview(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", unique=True)
    closed_on: date
    went_well: str = Field(default="", max_length=4000)
    went_badly: str = Field(default="", max_length=4000)
    lessons: str = Field(default="", max_length=4000)
    closed_by_id: Optional[int] = Field(default=None, foreign_key="user.id")   # who asked to close
    created_at: datetime = Field(default_factory=utcnow)
