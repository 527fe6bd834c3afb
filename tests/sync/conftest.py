"""The sheet-sync contract suite's fixtures: a small chain of records made through the services, and a
driver that plays the person editing the spreadsheet, for each backend."""
from __future__ import annotations

from decimal import Decimal

import pytest
from openpyxl import load_workbook

from core.services import billing, leads
from sync.mapping import spreadsheet
from sync.service import init_sheets
from sync.xlsx import XlsxBackend, put
from tests.sheets_emulator.fixtures import sheets_emulator, sheets_emulator_server  # noqa: F401
from tests.integration.money_fixtures import signed_contract


class XlsxDriver:
    """A person with Excel: edits cells by header and row ID, adds, deletes, sorts rows, moves columns."""

    def __init__(self, backend: XlsxBackend):
        self.backend = backend

    def _open(self, key):
        path = self.backend.path(spreadsheet(key))
        return path, load_workbook(path)

    def rows(self, key: str, tab: str) -> list[dict]:
        path, wb = self._open(key)
        ws = wb[tab]
        values = list(ws.iter_rows(values_only=True))
        header = [str(h) if h is not None else "" for h in values[0]]
        return [dict(zip(header, r)) for r in values[1:] if any(v not in (None, "") for v in r)]

    def row(self, key: str, tab: str, rid: int) -> dict:
        return next(r for r in self.rows(key, tab) if r.get("ID") == rid)

    def _edit(self, key, fn):
        path, wb = self._open(key)
        fn(wb)
        wb.save(path)

    def set(self, key: str, tab: str, rid: int, header: str, value) -> None:
        def fn(wb):
            ws = wb[tab]
            cols = [c.value for c in ws[1]]
            for r in range(2, ws.max_row + 1):
                if ws.cell(r, cols.index("ID") + 1).value == rid:
                    put(ws.cell(r, cols.index(header) + 1), value)
                    return
            raise KeyError(rid)
        self._edit(key, fn)

    def append(self, key: str, tab: str, values: dict) -> None:
        def fn(wb):
            ws = wb[tab]
            cols = [c.value for c in ws[1]]
            r = ws.max_row + 1
            for h, v in values.items():
                ws.cell(r, cols.index(h) + 1).value = v
        self._edit(key, fn)

    def delete(self, key: str, tab: str, rids: list[int]) -> None:
        def fn(wb):
            ws = wb[tab]
            cols = [c.value for c in ws[1]]
            for r in range(ws.max_row, 1, -1):
                if ws.cell(r, cols.index("ID") + 1).value in rids:
                    ws.delete_rows(r)
        self._edit(key, fn)

    def sort(self, key: str, tab: str, header: str, reverse=True) -> None:
        def fn(wb):
            ws = wb[tab]
            values = list(ws.iter_rows(min_row=2, values_only=True))
            cols = [c.value for c in ws[1]]
            i = cols.index(header)
            values.sort(key=lambda r: str(r[i]), reverse=reverse)
            for r, row in enumerate(values, 2):
                for c, v in enumerate(row, 1):
                    put(ws.cell(r, c), v)     # like Excel's sort: text stays text
        self._edit(key, fn)

    def move_first_column_to_end_and_add_helper(self, key: str, tab: str) -> None:
        def fn(wb):
            ws = wb[tab]
            ws.insert_cols(1)
            ws.cell(1, 1).value = "My notes"
            for r in range(2, ws.max_row + 1):
                ws.cell(r, 1).value = f"note {r}"
            last = ws.max_column + 1
            for r in range(1, ws.max_row + 1):     # the ID column (now B) moves to the end
                ws.cell(r, last).value = ws.cell(r, 2).value
            ws.delete_cols(2)     # openpyxl shifts cells with their types
        self._edit(key, fn)


class GSheetsDriver:
    """A person in Google Sheets (the project's emulator): typing is parsed as USER_ENTERED."""

    def __init__(self, emulator, keys: dict[str, str]):
        self.emu, self.keys = emulator, keys

    def _grid(self, key, tab):
        return [list(r) for r in self.emu.sheet_values(self.keys[key], tab)]

    def rows(self, key: str, tab: str) -> list[dict]:
        grid = self._grid(key, tab)
        header = [str(h) for h in grid[0]]
        out = []
        for r in grid[1:]:
            if any(v not in (None, "") for v in r):
                r = r + [None] * (len(header) - len(r))
                out.append({h: (None if v == "" else v) for h, v in zip(header, r)})
        return out

    def row(self, key: str, tab: str, rid: int) -> dict:
        return next(r for r in self.rows(key, tab) if r.get("ID") == rid)

    def _where(self, key, tab, rid, header):
        from tests.sheets_emulator.server import cell_a1
        grid = self._grid(key, tab)
        cols = [str(h) for h in grid[0]]
        for i, r in enumerate(grid[1:], 1):
            if r and r[cols.index("ID")] == rid:
                return cell_a1(i, cols.index(header))
        raise KeyError(rid)

    def set(self, key: str, tab: str, rid: int, header: str, value) -> None:
        value = value.isoformat() if hasattr(value, "isoformat") else value
        if isinstance(value, str) and value.startswith("="):
            value = "'" + value      # how a person types text that starts with '='
        self.emu.type_as_user(self.keys[key], tab, self._where(key, tab, rid, header), value)

    def append(self, key: str, tab: str, values: dict) -> None:
        grid = self._grid(key, tab)
        cols = [str(h) for h in grid[0]]
        row = [None] * len(cols)
        for h, v in values.items():
            row[cols.index(h)] = v
        self.emu.paste_as_user(self.keys[key], tab, f"A{len(grid) + 1}", [row])

    def delete(self, key: str, tab: str, rids: list[int]) -> None:
        grid = self._grid(key, tab)
        id_col = [str(h) for h in grid[0]].index("ID")
        for i in range(len(grid) - 1, 0, -1):
            if grid[i] and grid[i][id_col] in rids:
                self.emu.delete_rows_as_user(self.keys[key], tab, i + 1)

    def sort(self, key: str, tab: str, header: str, reverse=True) -> None:
        from tests.sheets_emulator.server import cell_a1
        col = [str(h) for h in self._grid(key, tab)[0]].index(header)
        self.emu.sort_as_user(self.keys[key], tab, cell_a1(0, col).rstrip("1"), descending=reverse)

    def move_first_column_to_end_and_add_helper(self, key: str, tab: str) -> None:
        """Cut the ID column to the end and add a helper column in front (values keep their types)."""
        from sync.gsheets_client import client
        gc = client()
        ss = gc.open_by_key(self.keys[key])
        ws = ss.worksheet(tab)
        grid = self._grid(key, tab)
        ids = [[r[0] if r else ""] for r in grid]
        width = max(len(r) for r in grid)
        ss.batch_update({"requests": [{"deleteDimension": {"range": {"sheetId": ws.id, "dimension": "COLUMNS",
                                                                      "startIndex": 0, "endIndex": 1}}},
                                      {"insertDimension": {"range": {"sheetId": ws.id, "dimension": "COLUMNS",
                                                                      "startIndex": 0, "endIndex": 1}}}]})
        from gspread.utils import rowcol_to_a1
        ws.update([["My notes"]] + [[f"note {r}"] for r in range(2, len(grid) + 1)], "A1", raw=True)
        ws.update(ids, rowcol_to_a1(1, width + 1), raw=True)


@pytest.fixture(params=["xlsx", "gsheets"])
def sheets(request, world, tmp_path):
    """(backend factory, driver) with the spreadsheets initialised, for the world's database."""
    if request.param == "xlsx":
        folder = tmp_path / "sheets"
        factory = lambda: XlsxBackend(folder)   # noqa: E731
        init_sheets(backend=factory(), lang="en", url=world.url)
        return factory, XlsxDriver(factory())
    from sync.backends import known_locations, make_backend
    from sync.gsheets import key_from
    emulator = request.getfixturevalue("sheets_emulator")
    factory = lambda: make_backend("gsheets", url=world.url)   # noqa: E731
    init_sheets(backend=factory(), lang="en", url=world.url)
    keys = {k: key_from(v) for k, v in known_locations("gsheets", url=world.url).items()}
    return factory, GSheetsDriver(emulator, keys)


@pytest.fixture
def chain(world):
    """Two leads, a signed contract (advance released and invoiced, 60% on Go-live acceptance)."""
    c = signed_contract(world)
    c["lead1"] = world.do("marketing", leads.capture_lead, company="Acme Robotics", phone="13800000001",
                          source="website", budget=Decimal("500000"))
    c["lead2"] = world.do("marketing", leads.capture_lead, company="=IMPORTXML(\"http://x\",\"//a\")",
                          phone="13800000002", source="referral")
    c["invoice"] = world.do("finance", billing.issue_invoice, c["advance"], amount=Decimal("300000"))
    return c
