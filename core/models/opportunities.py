"""Opportunities (机会点), their iron triangle, customer guidance, gate decisions and stage history."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlmodel import Field, SQLModel

from core.enums import Decision, GateKind, Stage, Stance
from core.models.base import Versioned, enum_field, money_field, utcnow


class Opportunity(Versioned, SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    account_id: int = Field(foreign_key="account.id", index=True)
    lead_id: Optional[int] = Field(default=None, foreign_key="lead.id")
    amount: Decimal = money_field()
    expected_close: Optional[date] = None
    stage: Stage = enum_field(Stage, Stage.INITIATION, index=True)
    stage_since: datetime = Field(default_factory=utcnow)
    # iron triangle (铁三角)
    ar_id: Optional[int] = Field(default=None, foreign_key="user.id", index=True)
    sr_id: Optional[int] = Field(default=None, foreign_key="user.id")
    fr_id: Optional[int] = Field(default=None, foreign_key="user.id")
    region: str = Field(default="", max_length=64)
    industry: str = Field(default="", max_length=64)
    # customer guidance (引导客户)
    pain_points: str = Field(default="", max_length=4000)
    value_proposition: str = Field(default="", max_length=4000)
    hold_review_on: Optional[date] = None
    lost_reason: str = Field(default="", max_length=1000)   # why it was lost (bid loss or manual move)
    created_at: datetime = Field(default_factory=utcnow)
    version: int = 1


class Stakeholder(Versioned, SQLModel, table=True):
    """One person in the customer's decision chain and where they stand."""
    id: Optional[int] = Field(default=None, primary_key=True)
    opportunity_id: int = Field(foreign_key="opportunity.id", index=True)
    name: str = Field(max_length=200)
    title: str = Field(default="", max_length=200)
    chain_role: str = Field(default="", max_length=100)  # decision maker, evaluator, user, ...
    stance: Stance = enum_field(Stance, Stance.UNKNOWN)
    version: int = 1


class GateDecision(SQLModel, table=True):
    """A request for a gate and its decision. ATC and change orders get one row per reviewer role."""
    id: Optional[int] = Field(default=None, primary_key=True)
    kind: GateKind = enum_field(GateKind, index=True)
    subject_type: str = Field(max_length=32)      # opportunity, bid, contract, change_order, invoice
    subject_id: int = Field(index=True)
    reviewer_role: str = Field(default="leader", max_length=32)
    decision: Decision = enum_field(Decision, Decision.PENDING, index=True)
    requested_by_id: Optional[int] = Field(default=None, foreign_key="user.id")
    requested_at: datetime = Field(default_factory=utcnow)
    decided_by_id: Optional[int] = Field(default=None, foreign_key="user.id")
    on_behalf_of_id: Optional[int] = Field(default=None, foreign_key="user.id")   # decided by their delegate
    decided_at: Optional[datetime] = None
    rationale: str = Field(default="", max_length=4000)
    review_date: Optional[date] = None            # for a hold
    price_floor: Optional[Decimal] = money_field(default=None)  # for ATB
    amount: Optional[Decimal] = money_field(default=None)       # for a write-off


class StageChange(SQLModel, table=True):
    """Every stage or status move, so the time spent in each stage can be measured."""
    id: Optional[int] = Field(default=None, primary_key=True)
    entity: str = Field(max_length=32, index=True)
    entity_id: int = Field(index=True)
    from_stage: str = Field(default="", max_length=32)
    to_stage: str = Field(max_length=32)
    at: datetime = Field(default_factory=utcnow)
    by_id: Optional[int] = Field(default=None, foreign_key="user.id")
