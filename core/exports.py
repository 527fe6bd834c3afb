"""Exports of every entity as plain rows (CSV or JSON), ordered by ID so the same data gives the same file."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from sqlmodel import select

from core import scope
from core.context import Context
from core.errors import ValidationError
from core.models import (AuditEvent, Bid, Contract, CostEntry, Invoice, Lead, Milestone, Opportunity, Payment,
                         PaymentTerm)
from core.services import action

Exportable = Lead | Opportunity | Bid | Contract | PaymentTerm | Milestone | CostEntry | Invoice | Payment | AuditEvent
ENTITIES: dict[str, type[Exportable]] = {
    "leads": Lead, "opportunities": Opportunity, "bids": Bid, "contracts": Contract,
    "payment-terms": PaymentTerm, "milestones": Milestone, "costs": CostEntry, "invoices": Invoice,
    "payments": Payment, "audit": AuditEvent,
}
# Columns that describe the row's bookkeeping rather than the business (left out of exports).
_SKIP = {"password_hash", "company_norm", "phone_norm", "email_norm", "name_norm"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_LINE_END = "\r\n"


def plain(value):
    """A cell value as JSON-safe text or number."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}" if value.as_tuple().exponent == -2 else str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def neutralise(value):
    """Spreadsheet programs run a cell that starts with = + - @ as a formula: prefix such text with '.
    A plain negative number stays a number."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


@action("data.export")
def export_rows(ctx: Context, entity: str) -> tuple[list[str], list[dict]]:
    model = ENTITIES.get(entity)
    if model is None:
        raise ValidationError("{field}: {got!r} is not one of {allowed}", field="entity", got=entity,
                              allowed=", ".join(ENTITIES))
    columns = [c for c in model.__table__.columns.keys() if c not in _SKIP]
    if model is AuditEvent:   # the trail spans every record: only those who may read it export it
        ctx.require("audit.view")
    # an export holds what its reader may see, no more (core.scope)
    rows = ctx.session.exec(scope.within(ctx, model, select(model)).order_by(model.id)).all()
    out = [{c: plain(getattr(r, c)) for c in columns} for r in rows]
    if model is Invoice:   # a credit note names the invoice it credits by number, beside its id
        numbers = dict(ctx.session.exec(select(Invoice.id, Invoice.number)).all())
        columns.insert(columns.index("credits_id") + 1, "credits")
        for row in out:
            row["credits"] = numbers.get(row["credits_id"], "") if row["credits_id"] != "" else ""
    return columns, out


def to_csv(columns: list[str], rows: list[dict]) -> str:
    buf = io.StringIO()
    # CRLF (RFC 4180) also makes the writer quote a cell holding a lone CR; with "\n" it would not, and Excel
    # would start a new row there, where '=...' after the CR runs as a formula
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator=CSV_LINE_END)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: neutralise(v) for k, v in row.items()})
    return buf.getvalue()


def to_json(columns: list[str], rows: list[dict]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=1)
