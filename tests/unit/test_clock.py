"""'Today' is the company's day, not the server's UTC day: at 01:00 in Beijing (17:00 UTC the evening before)
a page proposes and core checks the same date."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from config.settings import CONFIG_DIR
from core import clock
from core.context import SYSTEM, Context


@pytest.fixture
def beijing(monkeypatch):
    """The suite runs on a clock reading about noon (tests/conftest.py); these tests check Beijing's, the default."""
    monkeypatch.setattr(clock, "ZONE", ZoneInfo("Asia/Shanghai"))


def test_the_company_clock_is_beijing_unless_configured():
    assert 'time_zone = "Asia/Shanghai"' in (CONFIG_DIR / "finance.toml").read_text(encoding="utf-8")


def test_context_today_is_the_day_on_the_company_clock(beijing):
    late_utc = datetime(2026, 3, 31, 17, 0, tzinfo=timezone.utc)      # 01:00 on 1 April in Beijing
    ctx = Context(session=None, actor=SYSTEM, clock=lambda: late_utc)  # type: ignore[arg-type]
    assert ctx.today() == date(2026, 4, 1)
    assert clock.local_date(datetime(2026, 3, 31, 15, 59, tzinfo=timezone.utc)) == date(2026, 3, 31)


def test_a_naive_moment_is_read_as_utc(beijing):
    assert clock.local_date(datetime(2026, 12, 31, 16, 30)) == date(2027, 1, 1)


def test_pages_and_core_agree_on_today():
    from app import fmt
    assert fmt.today() == clock.today() == clock.local_date(datetime.now(timezone.utc))


def test_the_suite_runs_far_from_midnight_on_the_company_clock():
    """Without tests/conftest.py's noon clock, a run started at 23:55 in the company's zone would see two dates."""
    assert 6 <= datetime.now(clock.ZONE).hour <= 18
