"""Workbooks on disk (.xlsx through openpyxl), one per department, for people on Excel or WPS offline.

Saved atomically (a temporary file in the same folder, then a rename), so a crash never leaves half a
workbook. A workbook someone saved between our read and our write is noticed (Changed) and the cycle runs
again; one held open in Excel/WPS (its ~$ lock file) or unreadable is reported and retried next cycle,
never overwritten.
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook
from python_calamine import CalamineWorkbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from config.settings import get_settings
from sync.backend import BackendError, Changed, Grid, WritePlan
from sync.mapping import Spreadsheet, Tab

# "@" is Excel's and WPS's Text format: what is typed into the cell stays as typed (02112345678 keeps its 0)
FORMATS = {"money": "#,##0.00", "date": "yyyy-mm-dd", "int": "0", "text": "@"}
DB_FILL = PatternFill("solid", fgColor="EEEEEE")


def workbook_dir() -> Path:
    return get_settings().workbook_dir


def find_tab(titles, tab: Tab) -> str | None:
    wanted = {tab.title.casefold(), tab.zh.casefold()}
    return next((t for t in titles if t.strip().casefold() in wanted), None)


def put(cell, value, kind: str = "text") -> None:
    """Write a typed value; text stays text even when it starts with '=' (openpyxl would make it a formula)."""
    cell.value = value if value != "" else None
    if isinstance(value, str) and value:
        cell.data_type = "s"
    if kind in FORMATS and value != "":
        cell.number_format = FORMATS[kind]


class XlsxBackend:
    name = "xlsx"

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder else workbook_dir()
        self.requests = 0
        self._signature: dict[str, tuple] = {}

    def path(self, sheet: Spreadsheet) -> Path:
        return self.folder / f"{sheet.key}.xlsx"

    # -- files -----------------------------------------------------------
    def _check_not_open(self, path: Path) -> None:
        lock = path.with_name("~$" + path.name)
        if lock.exists():
            raise BackendError(f"{path.name} is open in Excel or WPS ({lock.name} exists): close it; "
                               "the next cycle will try again")

    def _sig(self, path: Path) -> tuple:
        st = path.stat()
        return (st.st_mtime_ns, st.st_size)

    def _load(self, path: Path, **kw):
        try:
            return load_workbook(path, **kw)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise BackendError(f"{path.name} cannot be read ({type(exc).__name__}: {exc}); it was left as it is, "
                               "the next cycle will try again") from exc

    def _save(self, wb, path: Path, expected: tuple | None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".xlsx", dir=self.folder)
        os.close(fd)
        try:
            wb.save(tmp)
            if expected is not None and path.exists() and self._sig(path) != expected:
                raise Changed(f"{path.name} was saved by someone else during the sync")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    # -- interface -------------------------------------------------------
    def ensure(self, sheet: Spreadsheet, lang: str) -> tuple[str, list[str]]:
        path = self.path(sheet)
        if path.exists():
            self._check_not_open(path)
            before = self._sig(path)
            wb = self._load(path)
        else:
            before = None
            wb = Workbook()
            wb.remove(wb.active)
        created = []
        for tab in sheet.tabs:
            title = find_tab(wb.sheetnames, tab)
            if title is None:
                created.append(tab.key)
            ws = wb[title] if title else wb.create_sheet(tab.label(lang)[:31])
            headers = [str(c.value or "").strip() for c in ws[1]]
            while headers and not headers[-1]:
                headers.pop()      # a new sheet reports one empty cell
            known = {h.casefold() for h in headers if h}
            for col in tab.columns:
                if col.header.casefold() in known or col.zh.casefold() in known:
                    continue
                headers.append(col.label(lang))
                cell = ws.cell(row=1, column=len(headers), value=col.label(lang))
                cell.font = Font(bold=True)
                letter = get_column_letter(len(headers))
                ws.column_dimensions[letter].width = max(12, len(col.label(lang)) + 4)
                if col.type in FORMATS:   # the column's own format: cells typed into later take it
                    ws.column_dimensions[letter].number_format = FORMATS[col.type]
                if col.owner == "db":
                    cell.fill = DB_FILL
                    cell.comment = Comment("Kept by the system: edits here are reverted. 系统维护,修改会被还原。",
                                           "ltc")
                if col.type == "enum" and col.values:
                    dv = DataValidation(type="list", formula1='"' + ",".join(col.values) + '"', allow_blank=True)
                    dv.add(f"{letter}2:{letter}100000")
                    ws.add_data_validation(dv)
            ws.freeze_panes = "A2"
        self._save(wb, path, before)
        return str(path), created

    def read(self, sheet: Spreadsheet) -> dict[str, Grid]:
        """Every tab's cells (what Excel last calculated, for a cell holding a formula), read with
        calamine: some fifty times faster than openpyxl on a 10,000-row tab."""
        path = self.path(sheet)
        if not path.exists():
            raise BackendError(f"{path.name} does not exist in {self.folder}: run `ltc sheets init`")
        self._check_not_open(path)
        self._signature[sheet.key] = self._sig(path)
        try:
            wb = CalamineWorkbook.from_path(str(path))
        except Exception as exc:   # calamine raises its own error types for damaged files
            raise BackendError(f"{path.name} cannot be read ({type(exc).__name__}: {exc}); it was left as it is, "
                               "the next cycle will try again") from exc
        self.requests += 1
        out = {}
        for tab in sheet.tabs:
            title = find_tab(wb.sheet_names, tab)
            if title is None:
                continue
            rows = [[_cell(v) for v in r] for r in wb.get_sheet_by_name(title).to_python(skip_empty_area=False)]
            while rows and not any(v not in (None, "") for v in rows[-1]):
                rows.pop()
            out[tab.key] = Grid(title=title, rows=rows)
        return out

    def write(self, sheet: Spreadsheet, plan: WritePlan) -> None:
        if not plan:
            return
        path = self.path(sheet)
        self._check_not_open(path)
        expected = self._signature.get(sheet.key)
        if expected is not None and self._sig(path) != expected:
            raise Changed(f"{path.name} was saved by someone else during the sync")
        wb = self._load(path)
        for cw in plan.cells:
            put(wb[cw.tab].cell(row=cw.row, column=cw.col), cw.value, plan.kinds.get(cw.tab, {}).get(cw.col, "text"))
        for title, rows in plan.appends.items():
            ws = wb[title]
            start = _last_row(ws) + 1
            for i, values in enumerate(rows):
                for j, value in enumerate(values, 1):
                    if value not in ("", None):
                        put(ws.cell(row=start + i, column=j), value, plan.kinds.get(title, {}).get(j, "text"))
        self._save(wb, path, expected)
        self.requests += 1


def _cell(value):
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)    # calamine reads every number as a float; IDs and whole amounts are ints
    return value


def _last_row(ws) -> int:
    last = 1
    for row in ws.iter_rows(min_row=1):
        if any(c.value not in (None, "") for c in row):
            last = row[0].row
    return last

