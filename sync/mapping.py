"""The sheet mapping (config/sheets.toml) as plain objects: spreadsheets, tabs, columns."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from config.settings import load
from core.choices import choices

OWNERS = ("sheet", "db", "create")
TYPES = ("text", "money", "date", "int", "enum")
ID, NOTE = "id", "sync_note"


@dataclass(frozen=True)
class Column:
    header: str
    zh: str
    field: str
    owner: str = "sheet"
    type: str = "text"
    values: tuple[str, ...] = ()

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.header


@dataclass(frozen=True)
class Tab:
    key: str
    title: str
    zh: str
    entity: str
    columns: tuple[Column, ...]

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.title

    def column(self, field: str) -> Column:
        return next(c for c in self.columns if c.field == field)

    @property
    def data_columns(self) -> tuple[Column, ...]:
        """Columns holding record data (not the ID and the Sync note)."""
        return tuple(c for c in self.columns if c.field not in (ID, NOTE))


@dataclass(frozen=True)
class Spreadsheet:
    key: str
    title: str
    act_as: str
    tabs: tuple[Tab, ...]
    team: str = ""   # kept for one team: its rows are the team's people's records, its edits only reach those


@cache
def spreadsheets() -> tuple[Spreadsheet, ...]:
    cfg = load("sheets")
    tabs = {key: _tab(key, t) for key, t in cfg["tabs"].items()}
    out = []
    for key, s in cfg["spreadsheets"].items():
        missing = [t for t in s["tabs"] if t not in tabs]
        if missing:
            raise ValueError(f"config/sheets.toml: spreadsheet {key!r} names unknown tabs {missing}")
        out.append(Spreadsheet(key=key, title=s["title"], act_as=s["act_as"], tabs=tuple(tabs[t] for t in s["tabs"]),
                               team=str(s.get("team", ""))))
    return tuple(out)


def spreadsheet(key: str) -> Spreadsheet:
    for s in spreadsheets():
        if s.key == key:
            return s
    raise KeyError(f"no spreadsheet {key!r} in config/sheets.toml (known: {', '.join(s.key for s in spreadsheets())})")


def _tab(key: str, t: dict) -> Tab:
    cols = []
    for c in t["columns"]:
        col = Column(header=c["header"], zh=c.get("zh", c["header"]), field=c["field"], owner=c.get("owner", "sheet"),
                     type=c.get("type", "text"), values=_values(key, t["entity"], c))
        if col.owner not in OWNERS or col.type not in TYPES:
            raise ValueError(f"config/sheets.toml: tab {key!r} column {col.header!r}: owner must be one of "
                             f"{OWNERS} and type one of {TYPES}")
        cols.append(col)
    fields = [c.field for c in cols]
    if ID not in fields or NOTE not in fields:
        raise ValueError(f"config/sheets.toml: tab {key!r} needs an '{ID}' and a '{NOTE}' column")
    return Tab(key=key, title=t["title"], zh=t.get("zh", t["title"]), entity=t["entity"], columns=tuple(cols))


def _values(tab: str, entity: str, c: dict) -> tuple[str, ...]:
    """An enum column's values are core's (core/choices.py); a list in the mapping must say the same."""
    if c.get("type") != "enum":
        return ()
    known = choices(entity, c["field"])
    where = f"config/sheets.toml: tab {tab!r} column {c['header']!r}"
    if known is None:
        raise ValueError(f"{where}: type enum, but core keeps no list of values for {entity}.{c['field']}")
    if "values" in c and set(c["values"]) != set(known):
        raise ValueError(f"{where}: values {list(c['values'])} disagree with core's {list(known)} for "
                         f"{entity}.{c['field']}; leave the list out, core's is used")
    return known
