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


class NumberInText(ValidationError):
    """A number in a text column (phone, reference, contract number): the spreadsheet parsed what was typed,
    and may have dropped a leading 0 or the digits past the 15th. Never taken as the text it now shows."""

    def __init__(self, col: Column, number):
        super().__init__("{field}: the sheet holds the number {got}, not text; a spreadsheet drops a leading 0 and "
                         "digits past the 15th: format the column as plain text and type it again", field=col.header,
                         got=_shown(number))
        self.number = number


def _shown(number) -> str:
    """As a spreadsheet shows it: 15 significant digits (6222021234567890123 becomes 6222021234567890000)."""
    if isinstance(number, float) and number.is_integer():
        return str(int(Decimal(f"{number:.15g}")))
    return f"{number:.15g}" if isinstance(number, float) else str(number)


def same_number(number, text: str) -> bool:
    """Is `number` what a spreadsheet makes of typing `text` (digits, perhaps with leading zeros)? It keeps 15
    significant digits, so a 19-digit account number compares on those."""
    digits = text.strip()
    if not digits.isdigit() or not isinstance(number, (int, float)):
        return False
    return float(f"{float(digits):.15g}") == float(f"{float(number):.15g}")


def canonical(col: Column, raw) -> str:
    """The canonical text of a cell typed in the sheet ('' for an empty cell)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return ""
    name = col.header
    if col.type == "text" and isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raise NumberInText(col, raw)
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
