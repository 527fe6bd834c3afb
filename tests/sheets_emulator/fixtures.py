"""The ``sheets_emulator`` pytest fixture.

One emulator server per test session (127.0.0.1, a free port, a background thread); each test gets
it reset, with ``SHEETS_EMULATOR_HOST`` set through monkeypatch, so ``sync.gsheets_client.client()``
reaches it. Use it from another test folder with::

    from tests.sheets_emulator.fixtures import sheets_emulator, sheets_emulator_server  # noqa: F401
"""
from __future__ import annotations

from typing import Any, Iterable

import pytest

from tests.sheets_emulator.server import FORMATTED, FORMULA, SERIAL, EmulatorServer, SheetsEmulator


class EmulatorHandle:
    """What a test sees: the running emulator, its request log, fault injection and a person's hands.

    Helpers here act directly on the state: they are not API requests, so they are not logged and
    use neither quota nor injected failures.
    """

    def __init__(self, server: EmulatorServer):
        self.server = server
        self.emulator: SheetsEmulator = server.emulator

    # ---- connection -------------------------------------------------------------------------
    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``, the value of ``SHEETS_EMULATOR_HOST``."""
        return self.server.host

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def reset(self) -> None:
        """Forget every spreadsheet, the request log, injections and quota."""
        self.emulator.reset()

    # ---- requests, faults, quota --------------------------------------------------------------
    @property
    def requests(self) -> list[tuple[str, str]]:
        """(HTTP method, decoded path) of every API request received, failed ones included,
        e.g. ("GET", "/v4/spreadsheets/<id>/values:batchGet")."""
        with self.emulator.lock:
            return [(e["method"], e["path"]) for e in self.emulator.request_log]

    @property
    def request_log(self) -> list[dict]:
        """Full entries: method, path, api ("values.batchGet", ...), query, headers, status."""
        with self.emulator.lock:
            return [dict(e) for e in self.emulator.request_log]

    def api_calls(self, api: str | None = None) -> list[str]:
        """API method names in order, optionally only those equal to ``api``."""
        with self.emulator.lock:
            names = [e["api"] for e in self.emulator.request_log]
        return [n for n in names if api is None or n == api]

    def clear_requests(self) -> None:
        with self.emulator.lock:
            self.emulator.request_log.clear()

    def inject(self, status: int, count: int = 1, methods: Iterable[str] | str | None = None,
               applied: bool = False) -> None:
        """Make the next ``count`` requests (matching ``methods``: HTTP verbs like "POST" and/or API
        names like "values.batchUpdate"; None = any) answer ``status`` (429, 500, 503, ...) with a
        Google-style error body. ``applied=True``: the request takes effect and then the error is
        answered, as when a response is lost after the server acted."""
        self.emulator.inject(status, count, methods, applied)

    def set_quota(self, per_minute: int | None = None, *, read_per_minute: int | None = None,
                  write_per_minute: int | None = None, window_seconds: float = 60.0) -> None:
        """Answer 429 once more than the given number of requests arrive within the window."""
        self.emulator.set_quota(per_minute, read_per_minute=read_per_minute,
                                write_per_minute=write_per_minute, window_seconds=window_seconds)

    # ---- inspecting state -----------------------------------------------------------------------
    def spreadsheet_ids(self) -> list[str]:
        with self.emulator.lock:
            return list(self.emulator.spreadsheets)

    def tabs(self, spreadsheet_id: str) -> list[str]:
        with self.emulator.lock:
            return [s.title for s in self.emulator.get_spreadsheet(spreadsheet_id).sheets]

    def sheet_values(self, spreadsheet_id: str, tab: str) -> list[list[Any]]:
        """Stored cells, trimmed like the API: numbers as numbers (dates as serials), booleans as
        booleans, text as text, formulas as their ``=`` text, empty cells in the middle as ""."""
        return self._matrix(spreadsheet_id, tab, FORMULA)

    def formatted_values(self, spreadsheet_id: str, tab: str) -> list[list[str]]:
        """What a person sees (FORMATTED_VALUE)."""
        return self._matrix(spreadsheet_id, tab, FORMATTED)

    def _matrix(self, spreadsheet_id: str, tab: str, vro: str) -> list[list[Any]]:
        with self.emulator.lock:
            sheet = self.emulator.get_sheet(spreadsheet_id, tab)
            return self.emulator.matrix(sheet, 0, 0, sheet.row_count, sheet.col_count, vro, SERIAL)

    def cell(self, spreadsheet_id: str, tab: str, a1: str) -> dict:
        """One cell: value (effective), formula, formatted, number_format, format, validation, note."""
        return self.emulator.cell_info(spreadsheet_id, tab, a1)

    def sheet_properties(self, spreadsheet_id: str, tab: str) -> dict:
        with self.emulator.lock:
            return dict(self.emulator.get_sheet(spreadsheet_id, tab).props)

    def protected_ranges(self, spreadsheet_id: str, tab: str) -> list[dict]:
        with self.emulator.lock:
            return [dict(p) for p in self.emulator.get_sheet(spreadsheet_id, tab).protected]

    def permissions(self, spreadsheet_id: str) -> list[dict]:
        with self.emulator.lock:
            return [dict(p) for p in self.emulator.get_spreadsheet(spreadsheet_id).permissions]

    # ---- setting up and acting like a person --------------------------------------------------
    def create_spreadsheet(self, title: str, tabs: dict[str, list[list[Any]]] | None = None,
                           rows: int = 1000, cols: int = 26) -> str:
        """A spreadsheet with the given tabs, each filled as if typed (USER_ENTERED); returns its id."""
        specs = [{"title": name, "gridProperties": {"rowCount": rows, "columnCount": cols}} for name in (tabs or {})]
        ss = self.emulator.create_spreadsheet(title, specs or None)
        for name, values in (tabs or {}).items():
            self.paste_as_user(ss.id, name, "A1", values)
        return ss.id

    def type_as_user(self, spreadsheet_id: str, tab: str, a1: str, value: Any, user: str | None = None) -> None:
        """A person types ``value`` into one cell (parsed as USER_ENTERED; "" clears it). Raises
        ValueError for a value a strict validation rule refuses, PermissionError for a cell in a
        protected range that is not warning-only (unless ``user`` is one of its editors)."""
        self.emulator.type_as_user(spreadsheet_id, tab, a1, value, user)

    def paste_as_user(self, spreadsheet_id: str, tab: str, a1: str, rows: list[list[Any]]) -> None:
        """The owner pastes a block of values at ``a1`` (each cell parsed as typed; None skips;
        no validation or protection checks: for setting a sheet up)."""
        from tests.sheets_emulator.server import cell_a1, col_index
        import re

        m = re.fullmatch(r"([A-Za-z]{1,3})(\d+)", a1)
        if not m:
            raise ValueError(f"not a cell: {a1}")
        r0, c0 = int(m.group(2)) - 1, col_index(m.group(1))
        with self.emulator.lock:
            for i, row in enumerate(rows):
                for j, value in enumerate(row):
                    if value is not None:
                        self.emulator.type_as_user(spreadsheet_id, tab, cell_a1(r0 + i, c0 + j), value,
                                                   enforce=False)

    def sort_as_user(self, spreadsheet_id: str, tab: str, column: str, descending: bool = False,
                     header_rows: int | None = None) -> None:
        """A person sorts the tab by ``column`` ("C"), below the frozen rows (or ``header_rows``)."""
        self.emulator.sort_as_user(spreadsheet_id, tab, column, descending, header_rows)

    def delete_rows_as_user(self, spreadsheet_id: str, tab: str, first_row: int, last_row: int | None = None) -> None:
        self.emulator.delete_rows_as_user(spreadsheet_id, tab, first_row, last_row)

    def insert_rows_as_user(self, spreadsheet_id: str, tab: str, before_row: int, count: int = 1) -> None:
        self.emulator.insert_rows_as_user(spreadsheet_id, tab, before_row, count)


@pytest.fixture(scope="session")
def sheets_emulator_server():
    server = EmulatorServer("127.0.0.1", 0).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sheets_emulator(sheets_emulator_server, monkeypatch) -> EmulatorHandle:
    """A fresh emulator state; ``SHEETS_EMULATOR_HOST`` points at it for this test."""
    handle = EmulatorHandle(sheets_emulator_server)
    handle.reset()
    monkeypatch.setenv("SHEETS_EMULATOR_HOST", handle.host)
    yield handle
    handle.reset()
