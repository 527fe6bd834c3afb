"""The one small interface every sheet backend offers (Google Sheets, .xlsx workbooks).

A backend only reads and writes cells: one read of all tabs and one write of all changes per cycle.
Values it returns are raw (numbers as numbers, dates as date serials or dates, text as typed); values it is
given are typed (see sync.cells.typed) and are always written as values, never parsed as formulas.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from sync.mapping import Spreadsheet


class BackendError(Exception):
    """The spreadsheet could not be read or written this cycle (held open, unreadable, network); the
    message says why, nothing was damaged, and the next cycle tries again."""


class Changed(BackendError):
    """Someone changed the spreadsheet between our read and our write: the cycle is run again."""


@dataclass
class CellWrite:
    tab: str          # the tab's title as it is in the spreadsheet
    row: int          # 1-based, 1 = header
    col: int          # 1-based
    value: object


@dataclass
class Grid:
    title: str                      # the tab's title as found (English or Chinese)
    rows: list[list]                # row 1 is the header; raw cell values


@dataclass
class WritePlan:
    cells: list[CellWrite] = field(default_factory=list)
    appends: dict[str, list[list]] = field(default_factory=dict)   # tab title -> full rows to add at the end
    kinds: dict[str, dict[int, str]] = field(default_factory=dict)  # tab title -> column -> money/date/int/text

    def __bool__(self) -> bool:
        return bool(self.cells or any(self.appends.values()))


class Backend(Protocol):
    name: str
    requests: int    # API requests (or file reads and writes) made so far

    def ensure(self, sheet: Spreadsheet, lang: str) -> tuple[str, list[str]]:
        """Create what is missing (spreadsheet, tabs, headers, formats, dropdowns, protection); return a
        link or path and the keys of the tabs it created (they hold no synced rows). Safe to run again."""

    def read(self, sheet: Spreadsheet) -> dict[str, Grid]:
        """All tabs of the spreadsheet in one read, keyed by the tab's key in the mapping."""

    def write(self, sheet: Spreadsheet, plan: WritePlan) -> None:
        """All changes in one write."""
