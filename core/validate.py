"""Field checks shared by services, imports and the sheet sync. Each refusal names the field."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeVar

from core.errors import ValidationError
from core.types import CENT

E = TypeVar("E", bound=StrEnum)
MAX_AMOUNT = Decimal("999999999999.99")  # what a BIGINT of cents holds with room for sums
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text(field: str, value, *, max_len: int = 200, required: bool = False) -> str:
    s = "" if value is None else str(value)
    s = unicodedata.normalize("NFC", s).strip()
    if _CONTROL.search(s):
        raise ValidationError(f"{field}: control characters are not allowed", field=field)
    if required and not s:
        raise ValidationError(f"{field}: is required", field=field)
    if len(s) > max_len:
        raise ValidationError(f"{field}: at most {max_len} characters (got {len(s)})", field=field)
    return s


def amount(field: str, value, *, required: bool = True, allow_zero: bool = False,
           allow_negative: bool = False) -> Decimal | None:
    """An amount of money: Decimal, int or text like '1,234.50' or '¥1,234.50'; never a float."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(f"{field}: is required", field=field)
        return None
    if isinstance(value, bool):
        raise ValidationError(f"{field}: {value!r} is not an amount", field=field)
    if isinstance(value, float):
        value = repr(value)  # a float from a spreadsheet cell: take its shortest decimal form
    raw = str(value).strip()
    cleaned = re.sub(r"[,\s¥￥$]|CNY|RMB", "", raw, flags=re.I)
    try:
        dec = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationError(f"{field}: {raw[:40]!r} is not an amount", field=field) from None
    if not dec.is_finite():
        raise ValidationError(f"{field}: {raw[:40]!r} is not an amount", field=field)
    if dec != dec.quantize(CENT) and dec.as_tuple().exponent < -2:
        raise ValidationError(f"{field}: {raw[:40]!r} has more than 2 decimal places", field=field)
    dec = dec.quantize(CENT)
    if abs(dec) > MAX_AMOUNT:
        raise ValidationError(f"{field}: {raw[:40]!r} is larger than {MAX_AMOUNT:,}", field=field)
    if dec < 0 and not allow_negative:
        raise ValidationError(f"{field}: must not be negative (got {dec:,.2f})", field=field)
    if dec == 0 and not allow_zero:
        raise ValidationError(f"{field}: must be more than zero", field=field)
    return dec


def ratio(field: str, value) -> Decimal:
    """A share between 0 and 1; '30%' or '30' (percent) are read as 0.30."""
    raw = str(value).strip() if value is not None else ""
    try:
        if raw.endswith("%"):
            dec = Decimal(raw[:-1].strip()) / 100
        else:
            dec = Decimal(raw)
            if dec > 1:
                dec = dec / 100
    except InvalidOperation:
        raise ValidationError(f"{field}: {raw[:40]!r} is not a percentage", field=field) from None
    if not dec.is_finite() or not (0 < dec <= 1):
        raise ValidationError(f"{field}: must be more than 0% and at most 100% (got {raw[:40]!r})", field=field)
    return dec.quantize(Decimal("0.000001"))


_EXCEL_EPOCH = date(1899, 12, 30)


def day(field: str, value, *, required: bool = True) -> date | None:
    """A date from a date, an ISO text, 2026/1/15, 1/15/2026 or a spreadsheet serial number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(f"{field}: is required", field=field)
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value <= 2958465:
            return _EXCEL_EPOCH + timedelta(days=int(value))
        raise ValidationError(f"{field}: {value!r} is not a date", field=field)
    raw = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%Y.%m.%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValidationError(f"{field}: {raw[:40]!r} is not a date (use YYYY-MM-DD)", field=field)


def choice(field: str, value, enum_cls: type[E], *, default: E | None = None) -> E:
    raw = "" if value is None else str(value).strip().lower().replace(" ", "_")
    if not raw and default is not None:
        return default
    try:
        return enum_cls(raw)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise ValidationError(f"{field}: {str(value)[:40]!r} is not one of {allowed}", field=field) from None


def whole(field: str, value, *, lo: int = 0, hi: int = 10_000, required: bool = False) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(f"{field}: is required", field=field)
        return None
    try:
        dec = Decimal(str(value).strip())
        if dec != dec.to_integral_value():
            raise InvalidOperation
        n = int(dec)
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{field}: {str(value)[:40]!r} is not a whole number", field=field) from None
    if not lo <= n <= hi:
        raise ValidationError(f"{field}: must be between {lo} and {hi} (got {n})", field=field)
    return n


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email(field: str, value, *, required: bool = False) -> str:
    s = text(field, value, max_len=254, required=required)
    if s and not _EMAIL.match(s):
        raise ValidationError(f"{field}: {s[:40]!r} is not an e-mail address", field=field)
    return s
