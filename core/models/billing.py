"""Invoicing and cash (开票与回款): invoices, payments and their allocations."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Optional

from sqlmodel import Field, SQLModel

from core.enums import InvoiceKind, InvoiceStatus
from core.models.base import Versioned, enum_field, money_field, ratio_field, utcnow


class Invoice(Versioned, SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    number: str = Field(max_length=64, unique=True, index=True)
    contract_id: int = Field(foreign_key="contract.id", index=True)
    term_id: int = Field(foreign_key="paymentterm.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    amount: Decimal = money_field()          # gross billed (a credit note: negative)
    billed: Decimal = money_field()          # what counts against the term (see core.calculations.invoiced_on_term)
    tax_rate: Decimal = ratio_field(Decimal("0.06"))
    tax_amount: Decimal = money_field()
    issued_on: date
    due_on: date
    paid_amount: Decimal = money_field()     # sum of allocations, kept with them in one transaction
    written_off: Decimal = money_field()
    status: InvoiceStatus = enum_field(InvoiceStatus, InvoiceStatus.ISSUED, index=True)
    # corrections: a credit note is a row of kind credit_note with a negative amount, crediting `credits_id`;
    # the credited invoice keeps the sum in `credited`. A void keeps the number and what it was in voided_amount.
    kind: InvoiceKind = enum_field(InvoiceKind, InvoiceKind.INVOICE, index=True)
    credits_id: Optional[int] = Field(default=None, foreign_key="invoice.id", index=True)
    credited: Decimal = money_field()
    voided_on: Optional[date] = None
    voided_amount: Decimal = money_field()
    reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    version: int = 1


class Payment(Versioned, SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    amount: Decimal = money_field()
    received_on: date
    reference: str = Field(default="", max_length=200)
    unapplied: Decimal = money_field()       # cash not (yet) allocated to an invoice
    created_at: datetime = Field(default_factory=utcnow)
    version: int = 1


class Refund(SQLModel, table=True):
    """Unapplied cash paid back to the customer (it reduces the payment's unapplied amount)."""
    id: Optional[int] = Field(default=None, primary_key=True)
    payment_id: int = Field(foreign_key="payment.id", index=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    amount: Decimal = money_field()
    refunded_on: date
    reference: str = Field(default="", max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class Allocation(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    payment_id: int = Field(foreign_key="payment.id", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", index=True)
    amount: Decimal = money_field()
    allocated_on: date
