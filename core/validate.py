"""Field checks shared by services, imports and the sheet sync. Each refusal names the field."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal, TypeVar, overload

from core.errors import ValidationError
from core.messages import Joined, Text
from core.types import CENT

E = TypeVar("E", bound=StrEnum)
MAX_AMOUNT = Decimal("999999999999.99")  # what a BIGINT of cents holds with room for sums
# Business dates: a typo like 9999-12-31 would pass as a date and break date arithmetic later (forecasts).
MIN_DAY, MAX_DAY = date(1900, 1, 1), date(2199, 12, 31)
# C0/C1 controls (tab, newline and carriage return are judged apart) and the invisible direction overrides
# and isolates that make text read differently from what is stored.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAK = re.compile(r"[\t\n\r\u2028\u2029]")
_NOT_TEXT = (bool, bytes, bytearray, list, tuple, dict, set, frozenset)
MULTILINE_FROM = 201   # a field this long or longer is a note: it may hold line breaks and tabs
DEFAULT_LEN = 200
# The longest text each field takes, by field name: services check it (validate.text reads it when no max_len is
# given) and pages limit their inputs to it (app.ui.limit), so the rule is written once.
LIMITS = {
    "rationale": 4000, "scope": 4000, "new_scope": 4000, "went_well": 4000, "went_badly": 4000,
    "lessons": 4000, "value_proposition": 4000, "pain_points": 4000, "need_text": 2000,
    "description": 1000, "competitors": 1000, "loss_reason": 1000, "note": 500, "certificate_ref": 500,
    "reference": 200, "title": 200, "name": 200, "company": 200, "contact": 200, "winner": 200,
    "chain_role": 100, "region": 64, "industry": 64, "number": 64, "phone": 64, "owner": 64, "category": 64,
    "login": 64, "email": 254,
    # typed figures: the longest amount (999,999,999,999.99 written with a currency sign and spaces) or rate
    "amount": 32, "tax_rate": 16,
}


def limit(field: str) -> int:
    return LIMITS.get(field, DEFAULT_LEN)


class ValidationErrors(ValidationError):
    """Several fields refused at once (a form shows them all): `.errors` holds one ValidationError per field."""

    def __init__(self, errors: list[ValidationError]):
        super().__init__(Text("{errors}", errors=Joined("; ", (e.text for e in errors))),
                         field=errors[0].field if errors else None)
        self.errors = errors


class Collect:
    """Check every field of a form and refuse once with all that failed:

        with validate.Collect() as check:
            amount = check(validate.amount, "amount", amount)
            reference = check(validate.text, "reference", reference)
    A refused field's value is None inside the block; leaving it raises ValidationErrors."""

    def __init__(self) -> None:
        self.errors: list[ValidationError] = []

    def __call__(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValidationErrors as exc:
            self.errors.extend(exc.errors)
        except ValidationError as exc:
            self.errors.append(exc)
        return None

    def __enter__(self) -> Collect:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        errors = self.errors   # each one's message is a template already; ValidationErrors joins their Texts
        if kind is None and errors:
            raise ValidationErrors(errors)


def text(field: str, value, *, max_len: int | None = None, required: bool = False,
         multiline: bool | None = None) -> str:
    """Text, NFC-normalised and stripped. Refused: other types than text and numbers, control and
    direction-override characters, line breaks and tabs in a one-line field (`multiline` defaults to
    max_len >= MULTILINE_FROM), more than max_len characters (default: the field's LIMITS). Never truncated."""
    if max_len is None:
        max_len = limit(field)
    if isinstance(value, _NOT_TEXT):
        raise ValidationError("{field}: must be text, not {got}", field=field, got=type(value).__name__)
    s = unicodedata.normalize("NFC", "" if value is None else str(value))
    if not s.isprintable():   # cheap pre-check; the exact refusals follow
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("{field}: is not valid text (an unpaired surrogate)", field=field) from None
        bad = _CONTROL.search(s)
        if bad:
            what = Text("direction-override") if bad.group() >= "\u202a" else Text("control")
            raise ValidationError("{field}: {what} characters are not allowed (U+{code:04X} at position {at})",
                                  field=field, what=what, code=ord(bad.group()), at=bad.start() + 1)
    s = s.strip()
    if not (max_len >= MULTILINE_FROM if multiline is None else multiline) and _LINE_BREAK.search(s):
        raise ValidationError("{field}: line breaks and tabs are not allowed in a one-line field", field=field)
    if required and not s:
        raise ValidationError("{field}: is required", field=field)
    if len(s) > max_len:
        raise ValidationError("{field}: at most {max_len} characters (got {got})", field=field, max_len=max_len,
                              got=len(s))
    return s


# An amount as people type it: an optional sign and currency, digits with thousands separators only
# between groups of three ('12,34' is not 1234), decimals, an exponent as spreadsheets write big numbers.
# A currency mark may lead or trail; it must be the books' currency (config/finance.toml): '$1000' in CNY books
# is not 1,000.00 of them.
CURRENCY_MARKS = {"CNY": ("¥", "￥", "CNY", "RMB", "元"), "USD": ("US$", "$", "USD"), "EUR": ("€", "EUR"),
                  "GBP": ("£", "GBP"), "HKD": ("HK$", "HKD"), "TWD": ("NT$", "TWD"), "JPY": ("JPY", "円")}
_MARK = "|".join(re.escape(m) for m in sorted({m for ms in CURRENCY_MARKS.values() for m in ms}, key=len,
                                                   reverse=True))
_AMOUNT = re.compile(rf"(?P<sign>[+-]?)\s*(?P<lead>{_MARK})?\s*"
                     rf"(?P<num>\d{{1,3}}(?:[, ]\d{{3}})+(?:\.\d+)?|\d+(?:\.\d*)?|\.\d+)"
                     rf"(?P<exp>[eE][+-]?\d{{1,4}})?\s*(?P<trail>{_MARK})?", re.I)


def _books_currency() -> str:
    from config.settings import load
    return str(load("finance").get("currency", "CNY")).upper()


@overload
def amount(field: str, value, *, required: Literal[True] = True, allow_zero: bool = False,
           allow_negative: bool = False) -> Decimal: ...
@overload
def amount(field: str, value, *, required: bool, allow_zero: bool = False,
           allow_negative: bool = False) -> Decimal | None: ...
def amount(field: str, value, *, required: bool = True, allow_zero: bool = False,
           allow_negative: bool = False) -> Decimal | None:
    """An amount of money: Decimal, int or text like '1,234.50' or '¥1,234.50'; never a float."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError("{field}: is required", field=field)
        return None
    if isinstance(value, _NOT_TEXT):
        raise ValidationError("{field}: {got!r} is not an amount", field=field, got=str(value)[:40])
    if isinstance(value, float):
        value = repr(value)  # a float from a spreadsheet cell: take its shortest decimal form
    raw = str(value).strip()
    m = _AMOUNT.fullmatch(raw)
    if m is None:
        raise ValidationError("{field}: {got!r} is not an amount", field=field, got=raw[:40])
    for mark in filter(None, (m["lead"], m["trail"])):   # the books' currency is looked up only for a mark
        books = _books_currency()
        if mark.upper() not in {x.upper() for x in CURRENCY_MARKS.get(books, (books,))}:
            raise ValidationError("{field}: {got!r} is in another currency ({mark}); amounts here are in {currency}",
                                  field=field, got=raw[:40], mark=mark, currency=books)
    dec = Decimal(m["sign"] + re.sub(r"[, ]", "", m["num"]) + (m["exp"] or ""))
    if abs(dec) > MAX_AMOUNT:   # before any rounding: 1e400 has no cents to round to
        raise ValidationError("{field}: {got!r} is larger than {max:,}", field=field, got=raw[:40], max=MAX_AMOUNT)
    if dec != dec.quantize(CENT):
        raise ValidationError("{field}: {got!r} has more than 2 decimal places", field=field, got=raw[:40])
    dec = dec.quantize(CENT)
    if dec < 0 and not allow_negative:
        raise ValidationError("{field}: must not be negative (got {got:,.2f})", field=field, got=dec)
    if dec == 0 and not allow_zero:
        raise ValidationError("{field}: must be more than zero", field=field)
    return dec


def number(value) -> Decimal | None:
    """A finite Decimal from a number or plain numeric text, else None (no '1_000', no NaN)."""
    if isinstance(value, _NOT_TEXT):
        return None
    raw = repr(value) if isinstance(value, float) else str(value).strip()
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d{1,4})?", raw):
        return None
    return Decimal(raw)


def ratio(field: str, value) -> Decimal:
    """A share between 0 and 1; '30%' or '30' (percent) are read as 0.30."""
    raw = str(value).strip() if value is not None and not isinstance(value, _NOT_TEXT) else ""
    percent = raw.endswith("%")
    dec = number(raw[:-1] if percent else raw)
    if dec is None:
        raise ValidationError("{field}: {got!r} is not a percentage", field=field, got=str(value)[:40])
    if percent or dec > 1:
        dec = dec / 100
    if not 0 < dec <= 1 or dec.quantize(Decimal("0.000001")) == 0:
        raise ValidationError("{field}: must be more than 0% and at most 100% (got {got!r})", field=field,
                              got=raw[:40])
    return dec.quantize(Decimal("0.000001"))


_EXCEL_EPOCH = date(1899, 12, 30)


@overload
def day(field: str, value, *, required: Literal[True] = True) -> date: ...
@overload
def day(field: str, value, *, required: bool) -> date | None: ...
def day(field: str, value, *, required: bool = True) -> date | None:
    """A date from a date, an ISO text, 2026/1/15, 1/15/2026 or a spreadsheet serial number."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError("{field}: is required", field=field)
        return None
    d = _day(field, value)
    if not MIN_DAY <= d <= MAX_DAY:
        raise ValidationError("{field}: {got} is not a plausible date (from {first} to {last})", field=field,
                              got=d.isoformat(), first=MIN_DAY.year, last=MAX_DAY.year)
    return d


def _day(field: str, value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value <= 2958465:
            return _EXCEL_EPOCH + timedelta(days=int(value))
        raise ValidationError("{field}: {got!r} is not a date", field=field, got=value)
    raw = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%m/%d/%Y", "%Y.%m.%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    raise ValidationError("{field}: {got!r} is not a date (use YYYY-MM-DD)", field=field, got=raw[:40])


def choice(field: str, value, enum_cls: type[E], *, default: E | None = None) -> E:
    raw = "" if value is None else str(value).strip().lower().replace(" ", "_")
    if not raw and default is not None:
        return default
    try:
        return enum_cls(raw)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        raise ValidationError("{field}: {got!r} is not one of {allowed}", field=field, got=str(value)[:40],
                              allowed=allowed) from None


def whole(field: str, value, *, lo: int = 0, hi: int = 10_000, required: bool = False) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError("{field}: is required", field=field)
        return None
    dec = number(value)
    if dec is None or dec != dec.to_integral_value():
        raise ValidationError("{field}: {got!r} is not a whole number", field=field, got=str(value)[:40])
    if not lo <= dec <= hi:   # compared as a Decimal: '1e400' is never turned into a 400-digit int
        raise ValidationError("{field}: must be between {lo} and {hi} (got {got})", field=field, lo=lo, hi=hi,
                              got=str(value).strip()[:40])
    return int(dec)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email(field: str, value, *, required: bool = False) -> str:
    s = text(field, value, max_len=254, required=required, multiline=False)
    if s and not _EMAIL.match(s):
        raise ValidationError("{field}: {got!r} is not an e-mail address", field=field, got=s[:40])
    return s
