"""Column types that behave the same on SQLite and PostgreSQL.

Money is stored as whole cents in a BIGINT: exact on both databases (SQLite has no decimal type),
and SUM() in SQL stays exact. Enums are stored as their string values, never as native enums.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum

from sqlalchemy import BigInteger, String
from sqlalchemy.types import TypeDecorator

from core.messages import Text

CENT = Decimal("0.01")


def money(value) -> Decimal:
    """A Decimal rounded to cents; refuses floats, which would carry binary rounding errors."""
    if isinstance(value, float):
        raise TypeError("money must be Decimal, int or str, not float")
    try:
        return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(Text("not an amount: {value!r}", value=value)) from None


def fmt_money(value: Decimal) -> str:
    return f"{money(value):,.2f}"


class ScaledDecimal(TypeDecorator):
    """A Decimal with a fixed number of places, stored as an integer count of the smallest unit."""

    impl = BigInteger
    cache_ok = True

    def __init__(self, places: int = 2):
        super().__init__()
        self.places = places
        self.unit = Decimal(1).scaleb(-places)

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("decimal columns take Decimal, not float")
        return int(Decimal(value).quantize(self.unit, rounding=ROUND_HALF_UP).scaleb(self.places))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (Decimal(int(value)).scaleb(-self.places)).quantize(self.unit)

    def coerce_compared_value(self, op, value):
        return self


Money = ScaledDecimal(2)
Ratio = ScaledDecimal(6)  # percentages and probabilities: 0.333333


class EnumText(TypeDecorator):
    """A StrEnum stored as its value in a VARCHAR, read back as the enum member."""

    impl = String(32)
    cache_ok = True

    def __init__(self, enum_cls: type[StrEnum]):
        super().__init__()
        self.enum_cls = enum_cls

    def process_bind_param(self, value, dialect):
        return None if value is None else self.enum_cls(value).value

    def process_result_value(self, value, dialect):
        return None if value is None else self.enum_cls(value)
