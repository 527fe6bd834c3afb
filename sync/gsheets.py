"""Google Sheets through unmodified gspread (see sync/gsheets_client.py for credentials and the emulator).

Quota-light: a cycle makes one metadata read and one values read per spreadsheet when nothing changed;
with changes, one more read (the ID column, to notice rows sorted or moved since our read) and one
spreadsheets.batchUpdate that grows the grid and writes every cell at once. Values are written as typed
values (stringValue / numberValue), never as formulas. 429 and 5xx answers are retried with capped,
jittered exponential backoff.
"""
from __future__ import annotations

import random
import re
import time
from datetime import date

import requests
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient

from config.settings import get_settings, load
from sync import gsheets_client
from sync.backend import BackendError, Changed, Grid, WritePlan
from sync.mapping import Spreadsheet, Tab

RETRY_STATUS = {429, 500, 502, 503, 504}
EPOCH = date(1899, 12, 30)
FORMATS = {"money": {"type": "NUMBER", "pattern": "#,##0.00"}, "date": {"type": "DATE", "pattern": "yyyy-mm-dd"},
           "int": {"type": "NUMBER", "pattern": "0"}, "text": {"type": "TEXT"}}   # TEXT: typing stays as typed
URL = "https://docs.google.com/spreadsheets/d/{}"


class RetryingHTTPClient(HTTPClient):
    """gspread's HTTP client, counting requests and retrying 429 / 5xx with capped, jittered backoff."""

    attempts = 6
    base: float | None = None   # seconds; None: LTC_SYNC_BACKOFF_BASE, read when a retry waits (tests set it small)
    cap = 30.0
    counter = None     # a callable counting each request sent

    def request(self, *args, **kwargs):
        for attempt in range(self.attempts):
            if self.counter:
                self.counter()
            try:
                return super().request(*args, **kwargs)
            except APIError as exc:
                if exc.response.status_code not in RETRY_STATUS or attempt == self.attempts - 1:
                    raise
            except requests.ConnectionError:
                if attempt == self.attempts - 1:
                    raise
            base = get_settings().sync_backoff_base if self.base is None else self.base
            time.sleep(min(self.cap, base * 2 ** attempt) * random.uniform(0.5, 1.0))


def _credentials_from_config() -> str | None:
    """config/sheets.toml [google] credentials = "path/key.json", used when GOOGLE_APPLICATION_CREDENTIALS
    is not set."""
    if get_settings().google_credentials:
        return None
    return load("sheets").get("google", {}).get("credentials") or None


def key_from(where: str) -> str:
    m = re.search(r"/d/([A-Za-z0-9_-]+)", where)
    return m.group(1) if m else where


def _quote(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _typed(value):
    """A cell for updateCells: numbers and dates as numbers (dates as serials), everything else as a
    string value, which Sheets never parses (so '=IMPORTXML(...)' stays text)."""
    if value in ("", None):
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"stringValue": str(value)}}
    if isinstance(value, date):
        return {"userEnteredValue": {"numberValue": (value - EPOCH).days}}
    if isinstance(value, (int, float)):
        return {"userEnteredValue": {"numberValue": value}}
    return {"userEnteredValue": {"stringValue": str(value)}}


class GSheetsBackend:
    name = "gsheets"

    def __init__(self, keys: dict[str, str] | None = None, share_with: list[str] | None = None):
        self.requests = 0
        self.keys = dict(keys or {})
        self.share_with = list(get_settings().sheets_share_with if share_with is None else share_with)
        http = type("CountingClient", (RetryingHTTPClient,), {"counter": staticmethod(self._count)})
        try:
            self.client = gsheets_client.client(_credentials_from_config(), http_client=http)
        except gsheets_client.SheetsConfigError as exc:
            raise BackendError(str(exc)) from exc
        self._meta: dict[str, dict] = {}
        self._read_ids: dict[str, dict[str, list]] = {}

    def _count(self):
        self.requests += 1

    @property
    def http(self):
        return self.client.http_client

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except APIError as exc:
            raise BackendError(f"Google Sheets answered {exc.response.status_code}: {exc}") from exc
        except requests.RequestException as exc:
            raise BackendError(f"Google Sheets could not be reached: {exc}") from exc

    def _key(self, sheet: Spreadsheet) -> str:
        key = self.keys.get(sheet.key)
        if not key:
            raise BackendError(f"no Google spreadsheet is known for '{sheet.key}': run `ltc sheets init`")
        return key

    def _tabs(self, key: str) -> dict[str, dict]:
        """title -> sheet properties (sheetId, gridProperties), one request."""
        meta = self._call(self.http.fetch_sheet_metadata, key, params={"fields": "sheets.properties"})
        return {s["properties"]["title"]: s["properties"] for s in meta.get("sheets", [])}

    @staticmethod
    def _find(titles, tab: Tab) -> str | None:
        wanted = {tab.title.casefold(), tab.zh.casefold()}
        return next((t for t in titles if t.strip().casefold() in wanted), None)

    # -- interface -------------------------------------------------------
    def ensure(self, sheet: Spreadsheet, lang: str) -> tuple[str, list[str]]:
        key = self.keys.get(sheet.key)
        if not key:
            created = self._call(self.client.create, sheet.title)
            key = self.keys[sheet.key] = created.id
            for email in self.share_with:
                self._call(created.share, email, perm_type="user", role="writer", notify=False)
        props = self._tabs(key)
        new_tabs = [t for t in sheet.tabs if self._find(props, t) is None]
        if new_tabs:
            self._call(self.http.batch_update, key, {"requests": [
                {"addSheet": {"properties": {"title": t.label(lang), "gridProperties": {"frozenRowCount": 1}}}}
                for t in new_tabs]})
            props = self._tabs(key)
        titles = {t.key: title for t in sheet.tabs if (title := self._find(props, t))}   # every tab, by now
        header_rows = self._call(self.http.values_batch_get, key, [f"{_quote(titles[t.key])}!1:1" for t in sheet.tabs])
        requests_ = []
        for tab, vr in zip(sheet.tabs, header_rows.get("valueRanges", [])):
            p = props[titles[tab.key]]
            sid = p["sheetId"]
            headers = [str(h).strip() for h in (vr.get("values") or [[]])[0]]
            known = {h.casefold() for h in headers if h}
            missing = [c for c in tab.columns if c.header.casefold() not in known and c.zh.casefold() not in known]
            start = len(headers)
            need_cols = start + len(missing)
            if need_cols > p["gridProperties"].get("columnCount", 26):
                requests_.append({"appendDimension": {"sheetId": sid, "dimension": "COLUMNS",
                                                      "length": need_cols - p["gridProperties"]["columnCount"]}})
            if missing:
                requests_.append({"updateCells": {
                    "start": {"sheetId": sid, "rowIndex": 0, "columnIndex": start},
                    "rows": [{"values": [{"userEnteredValue": {"stringValue": c.label(lang)},
                                          "userEnteredFormat": {"textFormat": {"bold": True}}} for c in missing]}],
                    "fields": "userEnteredValue,userEnteredFormat.textFormat.bold"}})
            requests_.append({"updateSheetProperties": {"properties": {"sheetId": sid,
                                                                       "gridProperties": {"frozenRowCount": 1}},
                                                        "fields": "gridProperties.frozenRowCount"}})
            for i, col in enumerate(missing, start):
                rng = {"sheetId": sid, "startRowIndex": 1, "startColumnIndex": i, "endColumnIndex": i + 1}
                if col.type in FORMATS:
                    requests_.append({"repeatCell": {"range": rng, "cell": {"userEnteredFormat": {
                        "numberFormat": FORMATS[col.type]}}, "fields": "userEnteredFormat.numberFormat"}})
                if col.type == "enum" and col.values:
                    requests_.append({"setDataValidation": {"range": rng, "rule": {
                        "condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": v} for v in col.values]},
                        "strict": False, "showCustomUi": True}}})
                if col.owner == "db":
                    requests_.append({"addProtectedRange": {"protectedRange": {
                        "range": {**rng, "startRowIndex": 0}, "warningOnly": True,
                        "description": f"{col.header}: kept by the system, edits are reverted"}}})
        if requests_:
            self._call(self.http.batch_update, key, {"requests": requests_})
        return URL.format(key), [t.key for t in new_tabs]

    def read(self, sheet: Spreadsheet) -> dict[str, Grid]:
        key = self._key(sheet)
        props = self._meta[sheet.key] = self._tabs(key)
        titles = {t.key: title for t in sheet.tabs if (title := self._find(props, t))}
        present = [t for t in sheet.tabs if t.key in titles]
        if not present:
            return {}
        data = self._call(self.http.values_batch_get, key, [_quote(titles[t.key]) for t in present],
                          params={"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER",
                                  "majorDimension": "ROWS"})
        out = {}
        for tab, vr in zip(present, data.get("valueRanges", [])):
            out[tab.key] = Grid(title=titles[tab.key], rows=[list(r) for r in vr.get("values", [])])
        self._read_ids[sheet.key] = {g.title: g.rows for g in out.values()}
        return out

    def _check_rows_unmoved(self, key: str, sheet: Spreadsheet, plan: WritePlan) -> None:
        """Cell writes address rows by number: refuse to write if rows were sorted or moved since we read."""
        titles = sorted({c.tab for c in plan.cells})
        if not titles:
            return
        seen = self._read_ids.get(sheet.key, {})
        data = self._call(self.http.values_batch_get, key, [_quote(t) for t in titles],
                          params={"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER"})
        for title, vr in zip(titles, data.get("valueRanges", [])):
            rows = vr.get("values", [])
            before = seen.get(title, [])
            # compare the rows we are about to write; another edit elsewhere is fine
            for c in (c for c in plan.cells if c.tab == title):
                old = before[c.row - 1] if c.row - 1 < len(before) else []
                new = rows[c.row - 1] if c.row - 1 < len(rows) else []
                id_col = _id_col(before)
                if id_col is not None and _at(old, id_col) != _at(new, id_col):
                    raise Changed(f"rows of '{title}' were moved during the sync")

    def write(self, sheet: Spreadsheet, plan: WritePlan) -> None:
        if not plan:
            return
        key = self._key(sheet)
        self._check_rows_unmoved(key, sheet, plan)
        props = self._meta.get(sheet.key) or self._tabs(key)
        requests_ = []
        read = self._read_ids.get(sheet.key, {})
        for title, rows in plan.appends.items():
            if not rows:
                continue
            p = props[title]
            start = len(read.get(title, [])) + 1
            need = start + len(rows) - 1
            have = p["gridProperties"].get("rowCount", 1000)
            if need > have:
                requests_.append({"appendDimension": {"sheetId": p["sheetId"], "dimension": "ROWS",
                                                      "length": need - have}})
            width = max(len(r) for r in rows)
            if width > p["gridProperties"].get("columnCount", 26):
                requests_.append({"appendDimension": {"sheetId": p["sheetId"], "dimension": "COLUMNS",
                                                      "length": width - p["gridProperties"]["columnCount"]}})
            requests_.append({"updateCells": {"start": {"sheetId": p["sheetId"], "rowIndex": start - 1,
                                                        "columnIndex": 0},
                                              "rows": [{"values": [_typed(v) for v in r]} for r in rows],
                                              "fields": "userEnteredValue"}})
        for c in plan.cells:
            requests_.append({"updateCells": {"start": {"sheetId": props[c.tab]["sheetId"], "rowIndex": c.row - 1,
                                                        "columnIndex": c.col - 1},
                                              "rows": [{"values": [_typed(c.value)]}], "fields": "userEnteredValue"}})
        self._call(self.http.batch_update, key, {"requests": requests_})


def _id_col(rows: list) -> int | None:
    header = [str(h).strip().casefold() for h in (rows[0] if rows else [])]
    for label in ("id", "编号"):
        if label in header:
            return header.index(label)
    return None


def _at(row: list, i: int):
    return row[i] if i < len(row) else None

