"""The sheet-sync contract suite's fixtures: a small chain of records made through the services, and a
driver that plays the person editing the spreadsheet, for each backend."""
from __future__ import annotations

from decimal import Decimal

import pytest
from openpyxl import load_workbook

from core.services import billing, leads
from sync.mapping import spreadsheet
from sync.service import init_sheets
from sync.xlsx import XlsxBackend
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
                    cell = ws.cell(r, cols.index(header) + 1)
                    cell.value = value
                    if isinstance(value, str) and value.startswith("="):
                        cell.data_type = "s"
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
                    ws.cell(r, c).value = v
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
            ws.delete_cols(2)
        self._edit(key, fn)


@pytest.fixture(params=["xlsx"])
def sheets(request, world, tmp_path):
    """(backend factory, driver) with the spreadsheets initialised, for the world's database."""
    folder = tmp_path / "sheets"
    factory = lambda: XlsxBackend(folder)   # noqa: E731
    init_sheets(backend=factory(), lang="en", url=world.url)
    return factory, XlsxDriver(factory())


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
