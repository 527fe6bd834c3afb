"""Bids (投标/方案): the solution and price response to a tender."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlmodel import Field, SQLModel

from core.enums import BidStatus
from core.models.base import Versioned, enum_field, money_field, utcnow


class Bid(Versioned, SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id", index=True)
    title: str = Field(max_length=200)
    deadline: date
    bid_bond: Decimal = money_field()
    quoted_price: Optional[Decimal] = money_field(default=None)
    price_floor: Optional[Decimal] = money_field(default=None)  # set by the ATB approval
    competitors: str = Field(default="", max_length=1000)
    status: BidStatus = enum_field(BidStatus, BidStatus.DRAFT, index=True)
    submitted_on: Optional[date] = None
    result_on: Optional[date] = None
    loss_reason: str = Field(default="", max_length=1000)
    winner: str = Field(default="", max_length=200)   # the competitor who won, when lost
    created_at: datetime = Field(default_factory=utcnow)
    version: int = 1
