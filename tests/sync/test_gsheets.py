"""What only Google Sheets has: quota (requests per cycle), 429 and 5xx answers, typed input parsing,
and what `ltc sheets init` sets up."""
import pytest

from sync.engine import run_cycle
from sync.gsheets import RetryingHTTPClient
from sync.mapping import spreadsheet


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    monkeypatch.setattr(RetryingHTTPClient, "base", 0.01)


@pytest.fixture
def google(world, chain, sheets_emulator, tmp_path):
    from sync.backends import known_locations, make_backend
    from sync.gsheets import key_from
    from sync.service import init_sheets
    factory = lambda: make_backend("gsheets", url=world.url)   # noqa: E731
    init_sheets(backend=factory(), lang="en", url=world.url)
    keys = {k: key_from(v) for k, v in known_locations("gsheets", url=world.url).items()}
    return factory, keys


def test_requests_per_cycle(world, google, sheets_emulator):
    factory, _ = google
    first = run_cycle(spreadsheet("finance"), factory(), url=world.url)
    assert first.status == "ok" and first.requests <= 4
    idle = run_cycle(spreadsheet("finance"), factory(), url=world.url)
    assert idle.requests == 2


@pytest.mark.parametrize("status", [429, 500, 503])
def test_429_and_5xx_are_retried_and_the_cycle_completes(world, google, sheets_emulator, status):
    factory, keys = google
    sheets_emulator.inject(status, count=3)
    rep = run_cycle(spreadsheet("finance"), factory(), url=world.url)
    assert rep.status == "ok" and rep.as_dict()["totals"]["appended"] > 0
    assert rep.requests >= 3 + 3      # the three refused ones were counted and retried
    codes = [r["status"] for r in sheets_emulator.request_log[-rep.requests:]]
    assert codes[:3] == [status] * 3


def test_a_service_that_keeps_failing_gives_a_clear_report(world, google, sheets_emulator, monkeypatch):
    factory, _ = google
    monkeypatch.setattr(RetryingHTTPClient, "attempts", 2)
    sheets_emulator.inject(503, count=10)
    rep = run_cycle(spreadsheet("finance"), factory(), url=world.url)
    assert rep.status == "failed" and "503" in rep.message


def test_init_freezes_headers_validates_enums_and_protects_db_columns(world, google, sheets_emulator):
    _, keys = google
    key = keys["marketing"]
    assert sheets_emulator.sheet_properties(key, "Leads")["gridProperties"]["frozenRowCount"] == 1
    protected = sheets_emulator.protected_ranges(key, "Leads")
    assert protected and all(p["warningOnly"] for p in protected)
    header = sheets_emulator.sheet_values(key, "Leads")[0]
    assert header[:3] == ["ID", "Company", "Contact"]


def test_typed_numbers_and_dates_are_read(world, google, sheets_emulator, chain):
    from core.models import Lead
    factory, keys = google
    run_cycle(spreadsheet("marketing"), factory(), url=world.url)
    grid = sheets_emulator.sheet_values(keys["marketing"], "Leads")
    row = next(i for i, r in enumerate(grid) if r and r[0] == chain["lead1"])
    col = grid[0].index("Budget")
    from tests.sheets_emulator.server import cell_a1
    sheets_emulator.type_as_user(keys["marketing"], "Leads", cell_a1(row, col), "1,234.50")
    run_cycle(spreadsheet("marketing"), factory(), url=world.url)
    assert str(world.get(Lead, chain["lead1"]).budget) == "1234.50"
