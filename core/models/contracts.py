"""Contracts (合同), their payment terms (付款条款) and change orders (合同变更)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlmodel import Field, SQLModel

from core.enums import ChangeStatus, ContractStatus, Trigger
from core.models.base import Versioned, enum_field, money_field, ratio_field, utcnow


class Contract(Versioned, SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    number: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    opportunity_id: int = Field(foreign_key="opportunity.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    amount: Decimal = money_field()
    scope: str = Field(default="", max_length=4000)
    status: ContractStatus = enum_field(ContractStatus, ContractStatus.DRAFT, index=True)
    signed_on: Optional[date] = None
    warranty_months: int = 12
    warranty_ends_on: Optional[date] = None
    warranty_note: str = Field(default="", max_length=500)   # why the warranty end was set by hand, if it was
    closed_on: Optional[date] = None
    created_at: datetime = Field(default_factory=utcnow)
    version: int = 1


class PaymentTerm(Versioned, SQLModel, table=True):
    """A share of the contract that becomes billable when its trigger happens."""
    id: Optional[int] = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    seq: int = 1
    name: str = Field(max_length=200)
    percent: Optional[Decimal] = ratio_field()   # 0.30 for 30%; or None when given as an amount
    amount: Decimal = money_field()              # always set: percent x contract amount, or as given
    trigger: Trigger = enum_field(Trigger, Trigger.SIGNING)
    milestone_id: Optional[int] = Field(default=None, foreign_key="milestone.id")
    due_days: int = 30
    released_on: Optional[date] = None
    active: bool = True                          # False once replaced by a change order
    version: int = 1


class ChangeOrder(Versioned, SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    number: str = Field(max_length=64)
    reason: str = Field(default="", max_length=2000)
    new_amount: Decimal = money_field()
    new_scope: str = Field(default="", max_length=4000)
    new_cost: Optional[Decimal] = money_field(default=None)   # re-baselined budget cost
    new_terms_json: str = Field(default="[]", max_length=20000)  # the replacement payment plan
    status: ChangeStatus = enum_field(ChangeStatus, ChangeStatus.PENDING)
    requested_on: Optional[date] = None
    decided_on: Optional[date] = None
    created_at: datetime = Field(default_factory=utcnow)
    version: int = 1
