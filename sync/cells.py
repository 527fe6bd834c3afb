"""Cell values in one canonical text form, so the sheet, the database and the snapshot compare equal
when they mean the same thing: money '1234.50', dates '2026-01-15', whole numbers '42', text stripped.

A sheet cell arrives as people typed it or as the service rendered it (a number, a date serial, text with
thousands separators); a bad one raises core's ValidationError naming the column.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from core import validate
from core.errors import ValidationError
from sync.mapping import Column


def canonical(col: Column, raw) -> str:
    """The canonical text of a cell typed in the sheet ('' for an empty cell)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return ""
    name = col.header
    if col.type == "money":
        return f"{validate.amount(name, raw, allow_zero=True, allow_negative=False):.2f}"
    if col.type == "date":
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        return validate.day(name, raw).isoformat()
    if col.type == "int":
        return str(validate.whole(name, raw, lo=0, hi=10**12))
    text = validate.text(name, raw, max_len=2000)
    if col.type == "enum" and col.values:
        folded = text.strip().lower().replace(" ", "_")
        if folded not in col.values:
            raise ValidationError(f"{name}: {text[:40]!r} is not one of {', '.join(col.values)}", field=name)
        return folded
    return text


def from_db(col: Column, value) -> str:
    """The canonical text of a database value."""
    if value is None:
        return ""
    if col.type == "money":
        return f"{Decimal(value):.2f}"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value"):   # an enum
        return str(value.value)
    return str(value).strip()


def typed(col: Column, text: str):
    """What to write into a cell for a canonical value: numbers as numbers, dates as dates (backends
    write them as their date type), text as text (backends never let it parse: '=x' stays text)."""
    if text == "":
        return ""
    if col.type == "money":
        return float(Decimal(text))
    if col.type == "int":
        return int(text)
    if col.type == "date":
        return date.fromisoformat(text)
    return text
