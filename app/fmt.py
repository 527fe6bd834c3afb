"""Numbers, dates and empty values as a person reads them, in their language: money with thousands separators
and two decimals (the configured currency where a figure stands alone), ratios as percentages, dates without
time zones, nothing shown as 'None' or 'nan'. Pages format through here only."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from config.settings import load
from core import clock

EMPTY = "—"
# Times are stored in UTC; people read them on the clock of the company (Beijing time unless configured).
LOCAL = clock.ZONE
today = clock.today


def currency() -> str:
    return load("finance")["currency"]


def is_empty(value) -> bool:
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    try:
        return bool(value != value)   # NaN, NaT
    except (TypeError, ValueError):
        return False


def _decimal(value) -> Decimal | None:
    if is_empty(value):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def money(value, *, symbol: bool = False) -> str:
    """1162285.71 → '1,162,285.71' (with symbol: 'CNY 1,162,285.71')."""
    amount = _decimal(value)
    if amount is None:
        return EMPTY
    text = f"{amount:,.2f}"
    return f"{currency()} {text}" if symbol else text


def compact(value, lang: str) -> str:
    """A figure on a KPI tile, every tile the same way: '28.23 M' / '264.00 K' in English, '2,823.00 万' /
    '1.20 亿' in Chinese; below a thousand as money."""
    amount = _decimal(value)
    if amount is None:
        return EMPTY
    steps = ((Decimal(10) ** 8, "亿"), (Decimal(10) ** 4, "万")) if lang == "zh" else \
        ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "K"))
    for size, unit in steps:
        if abs(amount) >= size:
            return f"{amount / size:,.2f} {unit}"
    return money(amount)


def pct(value, places: int = 1) -> str:
    """A ratio as a percentage: 0.2975 → '29.8%'."""
    ratio = _decimal(value)
    return EMPTY if ratio is None else f"{ratio * 100:,.{places}f}%"


def number(value) -> str:
    """A count or a whole number of days: 12345 → '12,345'."""
    n = _decimal(value)
    return EMPTY if n is None else f"{n:,.0f}" if n == n.to_integral_value() else f"{n:,}"


def day(value) -> str:
    if is_empty(value):
        return EMPTY
    if isinstance(value, datetime):
        return moment(value)[:10]
    return value.isoformat() if isinstance(value, date) else str(value)


def moment(value) -> str:
    """A stored (UTC) time on the company's clock, to the minute, without an offset."""
    if is_empty(value):
        return EMPTY
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(LOCAL)
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def text(value) -> str:
    """Any cell as text, an empty one as '—'."""
    if is_empty(value):
        return EMPTY
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, datetime):
        return moment(value)
    if isinstance(value, date):
        return day(value)
    return str(value)
