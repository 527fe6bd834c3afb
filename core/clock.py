"""The company clock. Times are stored in UTC; "today" and every displayed time are on the company's clock
(`time_zone` in config/finance.toml, Beijing time unless configured), so a date a page proposes and the date
core checks against are the same day even between midnight and 08:00 in Beijing."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from config.settings import load

ZONE = ZoneInfo(load("finance").get("time_zone", "Asia/Shanghai"))


def utc(moment: datetime) -> datetime:
    """A stored moment with its zone: SQLite gives times back naive, and they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def local_date(moment: datetime) -> date:
    """The calendar day of a moment on the company clock (a naive moment is taken as UTC)."""
    return utc(moment).astimezone(ZONE).date()


def today() -> date:
    return local_date(datetime.now(timezone.utc))
