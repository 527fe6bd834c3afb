"""An in-memory emulator of the parts of Google Sheets v4 and Drive v3 that gspread 6 uses.

It behaves like the real service where a sheet sync can go wrong: USER_ENTERED input is parsed the
way a person's typing is (formulas, ``1,234.50``, ``12%``, dates, ``TRUE``, a leading apostrophe,
leading zeros dropped), values render FORMATTED / UNFORMATTED / FORMULA, trailing empty cells and
rows are trimmed, ranges beyond the grid are refused, ``spreadsheets.batchUpdate`` is atomic, and
requests over a per-minute quota (or forced by ``inject``) answer 429 / 5xx with Google-style bodies.

Everything is stdlib. ``SheetsEmulator`` holds the state and answers ``handle_http``;
``EmulatorServer`` serves it over HTTP on a background thread.
"""
from __future__ import annotations

import argparse
import calendar
import copy
import datetime as dt
import functools
import json
import random
import re
import string
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, unquote, urlsplit

SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
FOLDER_MIME = "application/vnd.google-apps.folder"
EPOCH = dt.datetime(1899, 12, 30)
MAX_CELL_CHARS = 50000
DEFAULT_ROWS, DEFAULT_COLS = 1000, 26

FORMATTED, UNFORMATTED, FORMULA = "FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"
SERIAL, FORMATTED_STRING = "SERIAL_NUMBER", "FORMATTED_STRING"
DATE_TYPES = {"DATE", "TIME", "DATE_TIME"}
DEFAULT_PATTERNS = {
    "DATE": "M/d/yyyy", "TIME": "h:mm:ss am/pm", "DATE_TIME": "M/d/yyyy H:mm:ss",
    "NUMBER": "#,##0.00", "PERCENT": "0.00%", "CURRENCY": '"$"#,##0.00', "SCIENTIFIC": "0.00E+00",
    "TEXT": "@",
}
STATUS_NAMES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
    409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 501: "NOT_IMPLEMENTED",
    502: "UNAVAILABLE", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}
STATUS_MESSAGES = {
    403: "The caller does not have permission", 404: "Requested entity was not found.",
    500: "Internal error encountered.", 502: "Bad Gateway", 503: "The service is currently unavailable.",
    504: "The request timed out. Please try again.",
}


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message", "status"}}`` (Drive adds ``errors``)."""

    def __init__(self, code: int, message: str | None = None, status: str | None = None,
                 reason: str | None = None):
        self.code = code
        self.message = message or STATUS_MESSAGES.get(code, "Error")
        self.status = status or STATUS_NAMES.get(code, "UNKNOWN")
        self.reason = reason
        super().__init__(f"{code} {self.status}: {self.message}")

    def body(self, drive: bool = False) -> dict:
        err: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if drive:
            err["errors"] = [{"domain": "usageLimits" if self.code == 429 else "global",
                              "reason": self.reason or _drive_reason(self.code), "message": self.message}]
        elif self.code == 429:
            err["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                               "reason": "RATE_LIMIT_EXCEEDED", "domain": "googleapis.com",
                               "metadata": {"service": "sheets.googleapis.com",
                                            "quota_limit": self.reason or "ReadRequestsPerMinutePerUser"}}]
        return {"error": err}


def _drive_reason(code: int) -> str:
    return {400: "badRequest", 403: "forbidden", 404: "notFound", 429: "rateLimitExceeded",
            500: "internalError", 503: "backendError"}.get(code, "error")


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


# --------------------------------------------------------------------------------------------
# A1 notation
# --------------------------------------------------------------------------------------------

def col_letters(c: int) -> str:
    """0-based column index -> letters (0 -> A, 26 -> AA)."""
    out = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        out = chr(65 + rem) + out
    return out


def col_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


_BARE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CELLISH = re.compile(r"(?i)[A-Z]{1,3}\d+|R\d*C\d*")


def quote_sheet(name: str) -> str:
    """A sheet name as Sheets writes it in response ranges: bare when safe, else quoted."""
    if _BARE_NAME.fullmatch(name) and not _CELLISH.fullmatch(name):
        return name
    return "'" + name.replace("'", "''") + "'"


def cell_a1(r: int, c: int) -> str:
    return f"{col_letters(c)}{r + 1}"


def range_a1(title: str, r0: int, c0: int, r1: int, c1: int) -> str:
    """Half-open 0-based bounds -> ``Sheet!A1:B2`` (single cell -> ``Sheet!A1``)."""
    start = cell_a1(r0, c0)
    if r1 - r0 <= 1 and c1 - c0 <= 1:
        return f"{quote_sheet(title)}!{start}"
    return f"{quote_sheet(title)}!{start}:{cell_a1(r1 - 1, c1 - 1)}"


_A1_PART = re.compile(r"^\$?([A-Za-z]{1,3})?\$?(\d+)?$")


@dataclass
class Rng:
    """A parsed range: half-open, 0-based; None means unbounded (to the grid's end)."""
    sheet: "Sheet"
    r0: int
    c0: int
    r1: int | None
    c1: int | None
    single: bool = False      # a lone cell like ``A1``: a write may grow from it
    text: str = ""

    def bounds(self) -> tuple[int, int, int, int]:
        """Bounds clamped to the grid; refuses a bounded range that exceeds it."""
        s = self.sheet
        rows, cols = s.row_count, s.col_count
        r1 = rows if self.r1 is None else self.r1
        c1 = cols if self.c1 is None else self.c1
        if self.r0 >= rows or self.c0 >= cols or r1 > rows or c1 > cols:
            raise grid_error(self.text or range_a1(s.title, self.r0, self.c0, r1, c1), s)
        return self.r0, self.c0, r1, c1

    def a1(self) -> str:
        r0, c0, r1, c1 = self.bounds()
        return range_a1(self.sheet.title, r0, c0, r1, c1)


def grid_error(text: str, sheet: "Sheet") -> ApiError:
    return bad_request(f"Range ({text}) exceeds grid limits. Max rows: {sheet.row_count}, "
                       f"max columns: {sheet.col_count}")


def _split_sheet(text: str) -> tuple[str | None, str]:
    """``'It''s'!A1`` -> ("It's", "A1"); ``Sheet1`` -> (None, "Sheet1")."""
    if text.startswith("'"):
        i, name = 1, []
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    name.append("'")
                    i += 2
                    continue
                rest = text[i + 1:]
                if rest and not rest.startswith("!"):
                    raise bad_request(f"Unable to parse range: {text}")
                return "".join(name), rest[1:]
            name.append(ch)
            i += 1
        raise bad_request(f"Unable to parse range: {text}")
    if "!" in text:
        name, rest = text.split("!", 1)
        return name, rest
    return None, text


def _parse_cells(part: str, text: str) -> tuple[int, int, int | None, int | None, bool]:
    if part == "":
        return 0, 0, None, None, False
    pieces = part.split(":")
    if len(pieces) > 2:
        raise bad_request(f"Unable to parse range: {text}")
    parsed = []
    for p in pieces:
        m = _A1_PART.match(p)
        if not m or (m.group(1) is None and m.group(2) is None) or (m.group(2) is not None and int(m.group(2)) < 1):
            raise bad_request(f"Unable to parse range: {text}")
        parsed.append((None if m.group(1) is None else col_index(m.group(1)),
                       None if m.group(2) is None else int(m.group(2)) - 1))
    if len(parsed) == 1:
        c, r = parsed[0]
        if c is None or r is None:
            raise bad_request(f"Unable to parse range: {text}")
        return r, c, r + 1, c + 1, True
    (ca, ra), (cb, rb) = parsed
    c0 = 0 if ca is None else ca
    r0 = 0 if ra is None else ra
    c1 = None if cb is None or ca is None else cb + 1
    r1 = None if rb is None or ra is None else rb + 1
    if ca is not None and cb is not None and cb < ca:
        c0, c1 = cb, ca + 1
    if ra is not None and rb is not None and rb < ra:
        r0, r1 = rb, ra + 1
    return r0, c0, r1, c1, False


# --------------------------------------------------------------------------------------------
# Values: errors, numbers, formats
# --------------------------------------------------------------------------------------------

class Err:
    """A formula error value such as ``#NAME?``."""
    __slots__ = ("code",)
    TYPES = {"#NAME?": "NAME", "#DIV/0!": "DIVIDE_BY_ZERO", "#VALUE!": "VALUE", "#REF!": "REF",
             "#ERROR!": "ERROR", "#N/A": "N_A", "#NUM!": "NUM", "#NULL!": "NULL_VALUE"}

    def __init__(self, code: str):
        self.code = code

    def __eq__(self, other):
        return isinstance(other, Err) and other.code == self.code

    def __hash__(self):
        return hash(self.code)

    def __repr__(self):
        return f"Err({self.code!r})"


def json_number(x: float) -> int | float:
    if isinstance(x, float) and x.is_integer() and abs(x) < 2 ** 53:
        return int(x)
    return x


def auto_number(x: float) -> str:
    """How Sheets' automatic format shows a number: shortest form, no grouping."""
    if x == 0:
        return "0"
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    s = format(x, ".15g")
    if "e" in s:
        mant, exp = s.split("e")
        sign = "-" if exp.startswith("-") else "+"
        return f"{mant}E{sign}{exp.lstrip('+-').lstrip('0') or '0'}"
    return s


def _tokenize_pattern(section: str) -> list[tuple[str, str]]:
    """Split a number-format section into ("lit", text) and ("ph", char) tokens."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(section):
        ch = section[i]
        if ch == '"':
            j = section.find('"', i + 1)
            j = len(section) if j < 0 else j
            out.append(("lit", section[i + 1:j]))
            i = j + 1
        elif ch == "\\" and i + 1 < len(section):
            out.append(("lit", section[i + 1]))
            i += 2
        elif ch == "[":
            j = section.find("]", i)
            j = len(section) if j < 0 else j
            inner = section[i + 1:j]
            if inner.startswith("$"):
                out.append(("lit", inner[1:].split("-")[0]))
            i = j + 1
        elif ch == "_":
            out.append(("lit", " "))
            i += 2
        elif ch == "*":
            i += 2
        else:
            out.append(("ph", ch))
            i += 1
    return out


def _split_sections(pattern: str) -> list[str]:
    sections, cur, quoted = [], [], False
    for ch in pattern:
        if ch == '"':
            quoted = not quoted
        if ch == ";" and not quoted:
            sections.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    sections.append("".join(cur))
    return sections


def _is_date_pattern(section: str) -> bool:
    bare = "".join(t for k, t in _tokenize_pattern(section) if k == "ph")
    if re.search(r"(?i)am/pm|a/p", bare) or re.search(r"[yYdDhHsS]", bare):
        return True
    return bool(re.search(r"[mM]", bare)) and not re.search(r"[0#?]", bare)


def format_number(x: float, number_format: dict | None) -> str:
    """Render a number as FORMATTED_VALUE under a cell's numberFormat (or the automatic one)."""
    if not number_format:
        return auto_number(x)
    kind = number_format.get("type", "NUMBER")
    pattern = number_format.get("pattern") or DEFAULT_PATTERNS.get(kind, "")
    if not pattern or kind == "TEXT" and pattern == "@":
        return auto_number(x)
    sections = _split_sections(pattern)
    if kind in DATE_TYPES or _is_date_pattern(sections[0]):
        return format_datetime(x, sections[0])
    sign = ""
    if x < 0 and len(sections) >= 2 and sections[1]:
        section, x = sections[1], -x
    elif x == 0 and len(sections) >= 3 and sections[2]:
        section = sections[2]
    else:
        section = sections[0]
        if x < 0:
            sign, x = "-", -x
    tokens = _tokenize_pattern(section)
    body_idx = [i for i, (k, t) in enumerate(tokens) if k == "ph" and t in "0#?"]
    if not body_idx:
        return sign + "".join(t for _, t in tokens).replace("@", auto_number(x))
    first, last = body_idx[0], body_idx[-1]
    # the numeric body runs from the first to the last digit placeholder (with , . E+ inside)
    while last + 1 < len(tokens) and tokens[last + 1][0] == "ph" and tokens[last + 1][1] in "0#?,.":
        last += 1
    body = "".join(t for _, t in tokens[first:last + 1])
    prefix = "".join(t for _, t in tokens[:first])
    suffix = "".join(t for _, t in tokens[last + 1:])
    percent = (prefix + suffix).count("%")
    x = x * (100 ** percent)
    exponent = None
    if re.search(r"[eE][+-]", body):
        body, exp_part = re.split(r"[eE][+-]", body, 1)
        exponent = len(exp_part)
    int_part, _, frac_part = body.partition(".")
    grouping = "," in int_part
    min_int = int_part.count("0")
    frac_max = sum(1 for ch in frac_part if ch in "0#?")
    frac_min = frac_part.count("0")
    exp_text = ""
    if exponent is not None:
        e = 0
        if x != 0:
            e = int(Decimal(repr(x)).adjusted())
            x = x / (10 ** e)
        exp_text = "E" + ("-" if e < 0 else "+") + str(abs(e)).zfill(exponent)
    q = Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-frac_max), rounding=ROUND_HALF_UP)
    digits = format(q, "f")
    ip, _, fp = digits.partition(".")
    fp = fp.rstrip("0")
    fp = fp + "0" * max(0, frac_min - len(fp))
    if ip == "0" and min_int == 0:
        ip = ""
    ip = ip.zfill(min_int)
    if grouping and ip:
        ip = f"{int(ip):,}"
    if sign and not ip.strip("0") and not fp.strip("0"):
        sign = ""
    number = ip + ("." + fp if fp else "")
    return sign + prefix + number + exp_text + suffix


_MONTHS = list(calendar.month_name)
_DAYS = list(calendar.day_name)


def serial_to_datetime(serial: float) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=round(serial * 86400))


def datetime_to_serial(value: dt.datetime) -> float:
    delta = value - EPOCH
    return delta.days + delta.seconds / 86400


def format_datetime(serial: float, pattern: str) -> str:
    d = serial_to_datetime(serial)
    tokens: list[tuple[str, str]] = []   # ("lit", text) or (letter, run)
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == '"':
            j = pattern.find('"', i + 1)
            j = len(pattern) if j < 0 else j
            tokens.append(("lit", pattern[i + 1:j]))
            i = j + 1
        elif ch == "\\" and i + 1 < len(pattern):
            tokens.append(("lit", pattern[i + 1]))
            i += 2
        elif pattern[i:i + 5].lower() == "am/pm":
            tokens.append(("ampm", "AM/PM"))
            i += 5
        elif pattern[i:i + 3].lower() == "a/p":
            tokens.append(("ap", "A/P"))
            i += 3
        elif ch.lower() in "ydhsm":
            j = i
            while j < len(pattern) and pattern[j] == ch:
                j += 1
            tokens.append((ch, pattern[i:j]))
            i = j
        elif ch == "[":
            j = pattern.find("]", i)
            i = len(pattern) if j < 0 else j + 1
        else:
            tokens.append(("lit", ch))
            i += 1
    twelve = any(k in ("ampm", "ap") for k, _ in tokens)
    letters = [(idx, k) for idx, (k, _) in enumerate(tokens) if k not in ("lit", "ampm", "ap")]
    out = []
    for pos, (k, run) in enumerate(tokens):
        n = len(run)
        if k == "lit":
            out.append(run)
        elif k == "ampm":
            out.append("AM" if d.hour < 12 else "PM")
        elif k == "ap":
            out.append("A" if d.hour < 12 else "P")
        elif k.lower() == "y":
            out.append(str(d.year) if n >= 3 else f"{d.year % 100:02d}")
        elif k.lower() == "d":
            out.append(str(d.day) if n == 1 else f"{d.day:02d}" if n == 2
                       else _DAYS[d.weekday()][:3] if n == 3 else _DAYS[d.weekday()])
        elif k == "h":
            h = d.hour % 12 or 12 if twelve else d.hour
            out.append(str(h) if n == 1 else f"{h:02d}")
        elif k == "H":
            out.append(str(d.hour) if n == 1 else f"{d.hour:02d}")
        elif k.lower() == "s":
            out.append(str(d.second) if n == 1 else f"{d.second:02d}")
        elif k in ("m", "M"):
            minute = False
            if k == "m":
                order = [j for j, (idx, _) in enumerate(letters) if idx == pos][0]
                prev = letters[order - 1][1] if order > 0 else ""
                nxt = letters[order + 1][1] if order + 1 < len(letters) else ""
                minute = prev.lower() == "h" or nxt.lower() == "s"
            if minute:
                out.append(str(d.minute) if n == 1 else f"{d.minute:02d}")
            else:
                out.append(str(d.month) if n == 1 else f"{d.month:02d}" if n == 2
                           else _MONTHS[d.month][:3] if n == 3 else _MONTHS[d.month][0] if n == 5
                           else _MONTHS[d.month])
    return "".join(out)


# --------------------------------------------------------------------------------------------
# USER_ENTERED parsing (en_US locale)
# --------------------------------------------------------------------------------------------

_NUM_RE = re.compile(r"^([+-])?(\$)?([+-])?(\d{1,3}(?:,\d{3})+|\d*)(\.\d*)?([eE][+-]?\d+)?(%)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_YMD_SLASH = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?$")
_MONTH_ABBR = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_NAMED_DATE_1 = re.compile(r"^([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})$")
_NAMED_DATE_2 = re.compile(r"^(\d{1,2}) ([A-Za-z]{3,9})\.?,? (\d{4})$")


def _date_serial(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> float | None:
    try:
        return datetime_to_serial(dt.datetime(y, m, d, hh, mm, ss))
    except ValueError:
        return None


def _month(name: str) -> int | None:
    return _MONTH_ABBR.get(name[:3].lower()) if name[:3].lower() in _MONTH_ABBR and (
        len(name) == 3 or calendar.month_name[_MONTH_ABBR[name[:3].lower()]].lower() == name.lower()) else None


def parse_user_entered(text: str) -> tuple[Any, str | None, dict | None]:
    """What Sheets stores when a person types ``text``: (value, formula, inferred numberFormat)."""
    if text.startswith("'"):
        return (text[1:] or None), None, None
    if text.startswith("=") and len(text) > 1:
        return None, text, None
    s = text.strip()
    if s == "":
        return (text or None), None, None
    upper = s.upper()
    if upper in ("TRUE", "FALSE"):
        return upper == "TRUE", None, None
    m = _NUM_RE.match(s)
    if m and (m.group(4) or (m.group(5) and len(m.group(5)) > 1)) and not (m.group(1) and m.group(3)):
        sign = -1 if "-" in ((m.group(1) or "") + (m.group(3) or "")) else 1
        intpart = (m.group(4) or "0").replace(",", "")
        frac = m.group(5) or ""
        value = float(intpart + (frac if frac != "." else "") + (m.group(6) or "")) * sign
        decimals = max(0, len(frac) - 1)
        fmt = None
        if m.group(7):
            value /= 100
            fmt = {"type": "PERCENT", "pattern": "0.00%" if decimals else "0%"}
        elif m.group(2):
            fmt = {"type": "CURRENCY", "pattern": '"$"#,##0.00'}
        elif m.group(6):
            fmt = {"type": "SCIENTIFIC", "pattern": "0.00E+00"}
        elif "," in (m.group(4) or ""):
            fmt = {"type": "NUMBER", "pattern": "#,##0.00" if decimals else "#,##0"}
        return value, None, fmt
    m = _ISO_DATE.match(s)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if m.group(4) is not None:
            serial = _date_serial(y, mo, d, int(m.group(4)), int(m.group(5)), int(m.group(6) or 0))
            fmt = {"type": "DATE_TIME", "pattern": "yyyy-mm-dd H:mm:ss"}
        else:
            serial, fmt = _date_serial(y, mo, d), {"type": "DATE", "pattern": "yyyy-mm-dd"}
        if serial is not None:
            return serial, None, fmt
    m = _US_DATE.match(s)
    if m:
        y = int(m.group(3))
        if len(m.group(3)) == 2:
            y += 2000 if y < 30 else 1900
        if m.group(4) is not None:
            serial = _date_serial(y, int(m.group(1)), int(m.group(2)), int(m.group(4)), int(m.group(5)),
                                  int(m.group(6) or 0))
            fmt = {"type": "DATE_TIME", "pattern": "M/d/yyyy H:mm:ss"}
        else:
            serial, fmt = _date_serial(y, int(m.group(1)), int(m.group(2))), {"type": "DATE", "pattern": "M/d/yyyy"}
        if serial is not None:
            return serial, None, fmt
    m = _YMD_SLASH.match(s)
    if m:
        serial = _date_serial(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if serial is not None:
            return serial, None, {"type": "DATE", "pattern": "yyyy/M/d"}
    for rx, order in ((_NAMED_DATE_1, "mdy"), (_NAMED_DATE_2, "dmy")):
        m = rx.match(s)
        if m:
            mon = _month(m.group(1) if order == "mdy" else m.group(2))
            day = int(m.group(2) if order == "mdy" else m.group(1))
            if mon:
                serial = _date_serial(int(m.group(3)), mon, day)
                if serial is not None:
                    return serial, None, {"type": "DATE", "pattern": "mmm d, yyyy" if order == "mdy" else "d mmm yyyy"}
    m = _TIME.match(s)
    if m:
        h, mi, sec = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        if m.group(4):
            if not 1 <= h <= 12:
                return text, None, None
            h = h % 12 + (12 if m.group(4).lower() == "pm" else 0)
        if h < 24 and mi < 60 and sec < 60:
            return (h * 3600 + mi * 60 + sec) / 86400, None, {"type": "TIME", "pattern": "h:mm:ss am/pm"}
    return text, None, None


# --------------------------------------------------------------------------------------------
# Formulas: arithmetic, comparisons, & and same-sheet references; SUM; anything else is #NAME?
# --------------------------------------------------------------------------------------------

_FTOKEN = re.compile(r"""\s*(?:
  (?P<num>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
 |(?P<str>"(?:[^"]|"")*")
 |(?P<ref>\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?)(?![A-Za-z0-9_(!.])
 |(?P<name>[A-Za-z_][A-Za-z0-9_.]*)
 |(?P<op><>|<=|>=|[-+*/^&%(),=<>:!;{}])
)""", re.X)
_REF_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_!$.])(\$?)([A-Za-z]{1,3})(\$?)(\d+)(?![A-Za-z0-9_(!.])")


class _FormulaSyntax(Exception):
    pass


class _Raise(Exception):
    def __init__(self, err: Err):
        self.err = err


def _to_number(v: Any) -> float:
    if isinstance(v, Err):
        raise _Raise(v)
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).replace(",", ""))
    except ValueError:
        raise _Raise(Err("#VALUE!")) from None


def _to_text(v: Any) -> str:
    if isinstance(v, Err):
        raise _Raise(v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, float):
        return auto_number(v)
    return str(v)


class _Formula:
    """A small recursive-descent evaluator. ``lookup(r, c)`` gives a referenced cell's value."""

    def __init__(self, text: str, lookup: Callable[[int, int], Any]):
        self.tokens: list[tuple[str, str]] = []
        pos, src = 0, text[1:]
        while pos < len(src):
            m = _FTOKEN.match(src, pos)
            if not m or m.end() == pos:
                if src[pos:].strip() == "":
                    break
                raise _FormulaSyntax(src[pos:])
            kind = m.lastgroup
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0
        self.lookup = lookup

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (value is not None and tok[1] != value):
            raise _FormulaSyntax(value or "end")
        self.i += 1
        return tok

    def run(self) -> Any:
        if not self.tokens:
            raise _FormulaSyntax("empty")
        value = self.compare()
        if self.peek() is not None:
            raise _FormulaSyntax(self.peek()[1])
        return value

    def compare(self) -> Any:
        left = self.concat()
        while self.peek() and self.peek()[1] in ("=", "<>", "<", ">", "<=", ">="):
            op = self.take()[1]
            right = self.concat()
            for v in (left, right):
                if isinstance(v, Err):
                    raise _Raise(v)
            a, b = left, right
            if isinstance(a, str) or isinstance(b, str):
                a, b = _to_text(a).lower(), _to_text(b).lower()
            else:
                a, b = _to_number(a), _to_number(b)
            left = {"=": a == b, "<>": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        return left

    def concat(self) -> Any:
        left = self.additive()
        while self.peek() and self.peek()[1] == "&":
            self.take()
            left = _to_text(left) + _to_text(self.additive())
        return left

    def additive(self) -> Any:
        left = self.term()
        while self.peek() and self.peek()[1] in "+-" and self.peek()[0] == "op":
            op = self.take()[1]
            right = self.term()
            left = _to_number(left) + _to_number(right) if op == "+" else _to_number(left) - _to_number(right)
        return left

    def term(self) -> Any:
        left = self.power()
        while self.peek() and self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            right = self.power()
            if op == "*":
                left = _to_number(left) * _to_number(right)
            else:
                a, b = _to_number(left), _to_number(right)
                if b == 0:
                    raise _Raise(Err("#DIV/0!"))
                left = a / b
        return left

    def power(self) -> Any:
        left = self.unary()
        while self.peek() and self.peek()[1] == "^":
            self.take()
            right = self.unary()
            try:
                left = float(_to_number(left) ** _to_number(right))
            except (OverflowError, ZeroDivisionError, TypeError):
                raise _Raise(Err("#NUM!")) from None
        return left

    def unary(self) -> Any:
        tok = self.peek()
        if tok and tok[0] == "op" and tok[1] in "+-":
            self.take()
            v = _to_number(self.unary())
            return -v if tok[1] == "-" else v
        value = self.primary()
        while self.peek() and self.peek()[1] == "%":
            self.take()
            value = _to_number(value) / 100
        return value

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "num":
            return float(text)
        if kind == "str":
            return text[1:-1].replace('""', '"')
        if kind == "ref":
            if ":" in text:
                raise _Raise(Err("#VALUE!"))
            r, c = _ref(text)
            return self.lookup(r, c)
        if kind == "name":
            if self.peek() and self.peek()[1] == "(":
                return self.call(text.upper())
            if text.upper() in ("TRUE", "FALSE"):
                return text.upper() == "TRUE"
            raise _Raise(Err("#NAME?"))
        if text == "(":
            value = self.compare()
            self.take(")")
            return value
        raise _FormulaSyntax(text)

    def call(self, name: str) -> Any:
        self.take("(")
        args: list[Any] = []
        ranges: list[str] = []
        while self.peek() and self.peek()[1] != ")":
            tok = self.peek()
            if tok[0] == "ref" and ":" in tok[1]:
                self.take()
                ranges.append(tok[1])
            else:
                args.append(self.compare())
            if self.peek() and self.peek()[1] == ",":
                self.take()
        self.take(")")
        if name != "SUM":
            raise _Raise(Err("#NAME?"))
        total = sum(_to_number(a) for a in args)
        for text in ranges:
            (ra, ca), (rb, cb) = (_ref(p) for p in text.split(":"))
            for r in range(min(ra, rb), max(ra, rb) + 1):
                for c in range(min(ca, cb), max(ca, cb) + 1):
                    v = self.lookup(r, c)
                    if isinstance(v, Err):
                        raise _Raise(v)
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        total += v
        return total


def _ref(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\$?([A-Za-z]{1,3})\$?(\d+)", text)
    return int(m.group(2)) - 1, col_index(m.group(1))


def shift_formula(formula: str, dimension: str, start: int, count: int) -> str:
    """Adjust same-sheet references after ``count`` rows/columns are inserted (count > 0) at
    ``start`` or deleted (count < 0) from ``start``, as Sheets does."""
    def fix(m: re.Match) -> str:
        cd, col, rd, row = m.group(1), m.group(2), m.group(3), int(m.group(4))
        idx = row - 1 if dimension == "ROWS" else col_index(col)
        if count > 0 and idx >= start:
            idx += count
        elif count < 0:
            if start <= idx < start - count:
                return "#REF!"
            if idx >= start - count:
                idx += count
        if dimension == "ROWS":
            return f"{cd}{col}{rd}{idx + 1}"
        return f"{cd}{col_letters(idx)}{rd}{row}"

    parts = re.split(r'("(?:[^"]|"")*")', formula)
    return "".join(p if p.startswith('"') else _REF_IN_TEXT.sub(fix, p) for p in parts)


def move_formula(formula: str, rows: int) -> str:
    """A formula whose cell moved ``rows`` rows (a sort): relative row references move with it."""
    def fix(m: re.Match) -> str:
        if m.group(3):
            return m.group(0)
        row = int(m.group(4)) + rows
        return f"{m.group(1)}{m.group(2)}{row}" if row >= 1 else "#REF!"

    parts = re.split(r'("(?:[^"]|"")*")', formula)
    return "".join(p if p.startswith('"') else _REF_IN_TEXT.sub(fix, p) for p in parts)


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------

class Cell:
    """One cell. Treated as immutable: writes replace the object, so a snapshot is a list copy."""
    __slots__ = ("value", "formula", "fmt", "validation", "note")

    def __init__(self, value=None, formula=None, fmt=None, validation=None, note=None):
        self.value = value            # None | str | float | bool
        self.formula = formula        # "=..." or None
        self.fmt = fmt                # userEnteredFormat dict or None
        self.validation = validation  # DataValidationRule dict or None
        self.note = note

    def replace(self, **kw) -> "Cell | None":
        c = Cell(self.value, self.formula, self.fmt, self.validation, self.note)
        for k, v in kw.items():
            setattr(c, k, v)
        return None if c.is_blank() else c

    def is_blank(self) -> bool:
        return (self.value is None and self.formula is None and not self.fmt and not self.validation
                and not self.note)

    @property
    def number_format(self) -> dict | None:
        return (self.fmt or {}).get("numberFormat")


EMPTY = Cell()


class Sheet:
    def __init__(self, sheet_id: int, title: str, rows: int = DEFAULT_ROWS, cols: int = DEFAULT_COLS):
        self.props: dict[str, Any] = {"sheetId": sheet_id, "title": title, "sheetType": "GRID",
                                      "gridProperties": {"rowCount": rows, "columnCount": cols}}
        self.rows: list[list[Cell | None]] = []
        self.protected: list[dict] = []
        self.basic_filter: dict | None = None

    @property
    def sheet_id(self) -> int:
        return self.props["sheetId"]

    @property
    def title(self) -> str:
        return self.props["title"]

    @property
    def grid(self) -> dict:
        return self.props.setdefault("gridProperties", {})

    @property
    def row_count(self) -> int:
        return int(self.grid.get("rowCount", 0))

    @property
    def col_count(self) -> int:
        return int(self.grid.get("columnCount", 0))

    def clone(self) -> "Sheet":
        s = Sheet.__new__(Sheet)
        s.props = copy.deepcopy(self.props)
        s.rows = [list(r) for r in self.rows]
        s.protected = copy.deepcopy(self.protected)
        s.basic_filter = copy.deepcopy(self.basic_filter)
        return s

    def get(self, r: int, c: int) -> Cell | None:
        if r < len(self.rows):
            row = self.rows[r]
            if c < len(row):
                return row[c]
        return None

    def put(self, r: int, c: int, cell: Cell | None) -> None:
        if cell is not None and cell.is_blank():
            cell = None
        if cell is None and self.get(r, c) is None:
            return
        while len(self.rows) <= r:
            self.rows.append([])
        row = self.rows[r]
        while len(row) <= c:
            row.append(None)
        row[c] = cell

    def truncate(self) -> None:
        rows, cols = self.row_count, self.col_count
        del self.rows[rows:]
        for row in self.rows:
            del row[cols:]

    def used_rows(self) -> int:
        return len(self.rows)


class Spreadsheet:
    def __init__(self, sid: str, title: str, now: str):
        self.id = sid
        self.props: dict[str, Any] = {"title": title, "locale": "en_US", "autoRecalc": "ON_CHANGE",
                                      "timeZone": "Etc/GMT",
                                      "defaultFormat": {"backgroundColor": {"red": 1, "green": 1, "blue": 1},
                                                        "verticalAlignment": "BOTTOM", "wrapStrategy": "OVERFLOW_CELL",
                                                        "textFormat": {"fontFamily": "arial", "fontSize": 10}}}
        self.sheets: list[Sheet] = []
        self.created = now
        self.modified = now
        self.permissions: list[dict] = []
        self.parents: list[str] = []
        self.next_protected_id = 1

    @property
    def title(self) -> str:
        return self.props["title"]

    def sheet_by_id(self, sheet_id: Any) -> Sheet:
        for s in self.sheets:
            if s.sheet_id == sheet_id or str(s.sheet_id) == str(sheet_id):
                return s
        raise bad_request(f"No grid with id: {sheet_id}")

    def sheet_by_title(self, title: str) -> Sheet | None:
        for s in self.sheets:
            if s.title == title:
                return s
        return None

    def parse_range(self, text: str) -> Rng:
        raw = text.strip()
        name, part = _split_sheet(raw)
        if name is None:
            sheet = self.sheet_by_title(raw)
            if sheet is not None:
                return Rng(sheet, 0, 0, None, None, text=range_a1_text(sheet, ""))
            visible = [s for s in self.sheets if not s.props.get("hidden")] or self.sheets
            sheet = visible[0]
        else:
            sheet = self.sheet_by_title(name)
            if sheet is None:
                raise bad_request(f"Unable to parse range: {text}")
        r0, c0, r1, c1, single = _parse_cells(part, text)
        return Rng(sheet, r0, c0, r1, c1, single, text=range_a1_text(sheet, part))


def range_a1_text(sheet: Sheet, part: str) -> str:
    return f"{quote_sheet(sheet.title)}!{part}" if part else quote_sheet(sheet.title)


# --------------------------------------------------------------------------------------------
# Field masks
# --------------------------------------------------------------------------------------------

def parse_mask(text: str | None) -> dict:
    """``a.b,c(d,e/f)`` -> {"a": {"b": {}}, "c": {"d": {}, "e": {"f": {}}}}; {} means everything."""
    if not text or text.strip() in ("*", ""):
        return {}
    pos = 0

    def parse_list(end: str | None) -> dict:
        nonlocal pos
        tree: dict = {}
        while pos < len(text):
            if end and text[pos] == end:
                pos += 1
                return tree
            if text[pos] in ", ":
                pos += 1
                continue
            m = re.compile(r"[A-Za-z0-9_*@]+(?:[./][A-Za-z0-9_*@]+)*").match(text, pos)
            if not m:
                raise bad_request(f"Invalid field selection {text}")
            pos = m.end()
            node = tree
            for part in re.split(r"[./]", m.group(0)):
                node = node.setdefault(part, {})
            if pos < len(text) and text[pos] == "(":
                pos += 1
                sub = parse_list(")")
                _merge_tree(node, sub)
        return tree

    return parse_list(None)


def _merge_tree(node: dict, sub: dict) -> None:
    for k, v in sub.items():
        _merge_tree(node.setdefault(k, {}), v)


def apply_mask(obj: Any, tree: dict) -> Any:
    if not tree:
        return obj
    if isinstance(obj, list):
        return [apply_mask(x, tree) for x in obj]
    if isinstance(obj, dict):
        if "*" in tree:
            return obj
        return {k: apply_mask(obj[k], sub) for k, sub in tree.items() if k in obj}
    return obj


def update_by_mask(target: dict, source: dict, tree: dict) -> None:
    """Copy the masked fields of ``source`` onto ``target`` (a masked field absent from source is cleared)."""
    if not tree or "*" in tree:
        for k in list(target):
            if k not in source:
                del target[k]
        for k, v in source.items():
            target[k] = copy.deepcopy(v)
        return
    for key, sub in tree.items():
        if not sub:
            if key in source and source[key] is not None:
                target[key] = copy.deepcopy(source[key])
            else:
                target.pop(key, None)
        else:
            child = target.get(key)
            child = dict(child) if isinstance(child, dict) else {}
            update_by_mask(child, source.get(key) or {}, sub)
            if child:
                target[key] = child
            else:
                target.pop(key, None)


def _strip_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip_none(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_strip_none(v) for v in obj]
    return obj


def _truthy(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.lower() in ("true", "1", "yes")


# --------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------

@dataclass
class Injection:
    status: int
    remaining: int
    methods: set[str] | None = None
    applied: bool = False      # apply the request, then answer the error (response lost)

    def matches(self, http_method: str, api: str) -> bool:
        if self.methods is None:
            return True
        return http_method.upper() in self.methods or api in self.methods or api.lower() in self.methods


@dataclass
class Quota:
    per_minute: int | None = None
    read_per_minute: int | None = None
    write_per_minute: int | None = None
    window: float = 60.0
    stamps: deque = field(default_factory=deque)      # (time, is_read)


Route = tuple[str, Callable[..., Any], tuple]


class SheetsEmulator:
    """The stateful service. Thread-safe: every request runs under one lock."""

    def __init__(self, seed: int = 0):
        self.lock = threading.RLock()
        self.seed = seed
        self.reset()

    # ---- state and test helpers -----------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.spreadsheets: dict[str, Spreadsheet] = {}
            self.files: dict[str, dict] = {}            # Drive files that are not spreadsheets
            self.request_log: list[dict] = []
            self.injections: list[Injection] = []
            self.quota = Quota()
            self.rng = random.Random(self.seed)
            self._clock = 0

    def inject(self, status: int, count: int = 1, methods=None, applied: bool = False) -> None:
        """The next ``count`` matching requests answer ``status`` (429, 500, 503, ...).
        ``methods``: HTTP methods ("POST") and/or API names ("values.batchUpdate"); None = all.
        ``applied=True`` performs the request first, then answers the error (a lost response)."""
        if isinstance(methods, str):
            methods = [methods]
        ms = None if methods is None else {m if "." in m else m.upper() for m in methods}
        with self.lock:
            self.injections.append(Injection(int(status), int(count), ms, applied))

    def set_quota(self, per_minute: int | None = None, *, read_per_minute: int | None = None,
                  write_per_minute: int | None = None, window_seconds: float = 60.0) -> None:
        with self.lock:
            self.quota = Quota(per_minute, read_per_minute, write_per_minute, float(window_seconds))

    def now(self) -> str:
        t = dt.datetime.now(dt.timezone.utc)
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"

    def _new_id(self) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        while True:
            sid = "1" + "".join(self.rng.choice(alphabet) for _ in range(43))
            if sid not in self.spreadsheets and sid not in self.files:
                return sid

    def _new_sheet_id(self, ss: Spreadsheet) -> int:
        used = {s.sheet_id for s in ss.sheets}
        while True:
            n = self.rng.randint(1, 2 ** 31 - 1)
            if n not in used:
                return n

    def get_spreadsheet(self, sid: str) -> Spreadsheet:
        ss = self.spreadsheets.get(sid)
        if ss is None:
            raise ApiError(404, "Requested entity was not found.")
        return ss

    def get_sheet(self, sid: str, tab: str) -> Sheet:
        sheet = self.get_spreadsheet(sid).sheet_by_title(tab)
        if sheet is None:
            raise KeyError(f"no tab {tab!r} in spreadsheet {sid}")
        return sheet

    def create_spreadsheet(self, title: str, sheets: list[dict] | None = None,
                           parents: list[str] | None = None) -> Spreadsheet:
        with self.lock:
            ss = Spreadsheet(self._new_id(), title, self.now())
            ss.parents = list(parents or [])
            for i, spec in enumerate(sheets or [{}]):
                props = spec.get("properties", spec)
                grid = props.get("gridProperties", {})
                sheet_id = props.get("sheetId", 0 if i == 0 else self._new_sheet_id(ss))
                name = props.get("title") or f"Sheet{i + 1}"
                if ss.sheet_by_title(name):
                    raise bad_request(f'A sheet with the name "{name}" already exists. Please enter another name.')
                sheet = Sheet(sheet_id, name, int(grid.get("rowCount", DEFAULT_ROWS)),
                              int(grid.get("columnCount", DEFAULT_COLS)))
                for k in ("frozenRowCount", "frozenColumnCount"):
                    if grid.get(k):
                        sheet.grid[k] = int(grid[k])
                for k in ("hidden", "tabColor", "tabColorStyle", "rightToLeft"):
                    if k in props:
                        sheet.props[k] = props[k]
                ss.sheets.append(sheet)
            self.spreadsheets[ss.id] = ss
            return ss

    # ---- rendering ---------------------------------------------------------------------------

    def effective(self, sheet: Sheet, r: int, c: int, stack: frozenset = frozenset()) -> Any:
        cell = sheet.get(r, c)
        if cell is None:
            return None
        if cell.formula is None:
            return cell.value
        if (r, c) in stack:
            return Err("#REF!")
        inner = stack | {(r, c)}

        def lookup(rr: int, cc: int) -> Any:
            if rr >= sheet.row_count or cc >= sheet.col_count:
                return Err("#REF!")
            return self.effective(sheet, rr, cc, inner)

        try:
            value = _Formula(cell.formula, lookup).run()
        except _Raise as e:
            return e.err
        except _FormulaSyntax:
            return Err("#ERROR!")
        except RecursionError:
            return Err("#REF!")
        if isinstance(value, float) and value != value:
            return Err("#NUM!")
        return value

    def render(self, sheet: Sheet, r: int, c: int, vro: str, dtro: str) -> Any:
        cell = sheet.get(r, c)
        if cell is None:
            return None
        if vro == FORMULA and cell.formula is not None:
            return cell.formula
        value = self.effective(sheet, r, c)
        if value is None:
            return None
        if isinstance(value, Err):
            return value.code
        if isinstance(value, bool):
            return ("TRUE" if value else "FALSE") if vro == FORMATTED else value
        if isinstance(value, (int, float)):
            nf = cell.number_format
            if vro == FORMATTED:
                return format_number(value, nf)
            if nf and dtro == FORMATTED_STRING and (nf.get("type") in DATE_TYPES or _is_date_pattern(
                    _split_sections(nf.get("pattern") or "")[0]) and nf.get("type") != "TEXT"):
                return format_number(value, nf)
            return json_number(value)
        return value

    def matrix(self, sheet: Sheet, r0: int, c0: int, r1: int, c1: int, vro: str, dtro: str,
               major: str = "ROWS") -> list[list]:
        """Rendered values, trailing empties trimmed; middle empty cells are ""."""
        r_end = min(r1, len(sheet.rows))
        rows = []
        for r in range(r0, r_end):
            row = sheet.rows[r]
            rows.append([self.render(sheet, r, c, vro, dtro) if c < len(row) else None
                         for c in range(c0, min(c1, len(row)))])
        if major == "COLUMNS":
            width = max((len(r) for r in rows), default=0)
            rows = [[row[i] if i < len(row) else None for row in rows] for i in range(width)]
        out = []
        for row in rows:
            while row and row[-1] in (None, ""):
                row.pop()
            out.append(["" if v is None else v for v in row])
        while out and not out[-1]:
            out.pop()
        return out

    def value_range(self, rng: Rng, vro: str, dtro: str, major: str) -> dict:
        r0, c0, r1, c1 = rng.bounds()
        out = {"range": range_a1(rng.sheet.title, r0, c0, r1, c1), "majorDimension": major}
        values = self.matrix(rng.sheet, r0, c0, r1, c1, vro, dtro, major)
        if values:
            out["values"] = values
        return out

    # ---- writing ----------------------------------------------------------------------------

    def write_value(self, sheet: Sheet, r: int, c: int, raw: Any, option: str) -> None:
        old = sheet.get(r, c) or EMPTY
        if isinstance(raw, (list, dict)):
            raise bad_request(f"Invalid values[{r}][{c}]: {'list_value' if isinstance(raw, list) else 'struct_value'}")
        if isinstance(raw, str) and len(raw) > MAX_CELL_CHARS:
            raise bad_request(f"Your input contains more than the maximum of {MAX_CELL_CHARS} characters in a single cell.")
        fmt = old.fmt
        formula = None
        if isinstance(raw, bool):
            value = raw
        elif isinstance(raw, (int, float)):
            value = float(raw)
        elif option == "RAW":
            value = raw if raw != "" else None
        else:
            nf = old.number_format or {}
            if nf.get("type") == "TEXT":
                value = (raw[1:] if raw.startswith("'") else raw) or None
            else:
                value, formula, inferred = parse_user_entered(raw)
                if inferred and (not nf or nf.get("type") != inferred.get("type")):
                    fmt = dict(fmt or {})
                    fmt["numberFormat"] = inferred
        sheet.put(r, c, old.replace(value=value, formula=formula, fmt=fmt))

    def write_values(self, rng: Rng, values: Any, major: str, option: str) -> dict:
        if option not in ("RAW", "USER_ENTERED"):
            if not option:
                raise bad_request("'valueInputOption' is required but not specified")
            raise bad_request(f"Invalid value at 'value_input_option' ({option})")
        if values is None:
            values = []
        if not isinstance(values, list) or any(not isinstance(row, list) for row in values):
            raise bad_request("Invalid value at 'data.values': expected a list of lists")
        if major == "COLUMNS":
            height = max((len(col) for col in values), default=0)
            values = [[col[i] if i < len(col) else None for col in values] for i in range(height)]
        sheet = rng.sheet
        n_rows = len(values)
        n_cols = max((len(row) for row in values), default=0)
        if not rng.single:
            limit_r = rng.r1 if rng.r1 is not None else None
            limit_c = rng.c1 if rng.c1 is not None else None
            if limit_r is not None and rng.r0 + n_rows > limit_r:
                raise bad_request(f"Requested writing within range [{rng.text}], but tried writing to row [{rng.r0 + n_rows}]")
            if limit_c is not None and rng.c0 + n_cols > limit_c:
                raise bad_request(f"Requested writing within range [{rng.text}], but tried writing to column "
                                  f"[{col_letters(rng.c0 + n_cols - 1)}]")
        if rng.r0 >= sheet.row_count or rng.c0 >= sheet.col_count or (n_rows and (
                rng.r0 + n_rows > sheet.row_count or rng.c0 + n_cols > sheet.col_count)):
            raise grid_error(rng.text, sheet)
        cells = 0
        touched_rows: set[int] = set()
        touched_cols: set[int] = set()
        for i, row in enumerate(values):
            for j, raw in enumerate(row):
                if raw is None:
                    continue
                self.write_value(sheet, rng.r0 + i, rng.c0 + j, raw, option)
                cells += 1
                touched_rows.add(i)
                touched_cols.add(j)
        out = {"updatedRange": range_a1(sheet.title, rng.r0, rng.c0, rng.r0 + max(n_rows, 1), rng.c0 + max(n_cols, 1))}
        if cells:
            out.update(updatedRows=len(touched_rows), updatedColumns=len(touched_cols), updatedCells=cells)
        return out

    # ---- HTTP entry --------------------------------------------------------------------------

    def handle_http(self, method: str, raw_url: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
        parts = urlsplit(raw_url)
        query = parse_qs(parts.query, keep_blank_values=True)
        method = method.upper()
        route = self._route(method, parts.path)
        api = route[0] if route else "unknown"
        is_drive = parts.path.startswith(("/drive/", "/upload/drive/"))
        with self.lock:
            entry = {"method": method, "path": unquote(parts.path), "api": api,
                     "query": {k: v if len(v) > 1 else v[0] for k, v in query.items()},
                     "headers": dict(headers), "status": None}
            self.request_log.append(entry)
            injection = self._take_injection(method, api)
            if injection is not None and not injection.applied:
                return self._answer(entry, self._injected(injection, method, is_drive), is_drive)
            quota_err = self._check_quota(method, is_drive)
            if quota_err is not None:
                return self._answer(entry, quota_err, is_drive)
            try:
                if route is None:
                    raise ApiError(404, f"Sheets emulator: no such endpoint {method} {unquote(parts.path)} "
                                        "(not implemented by the emulator)")
                payload = json.loads(body) if body else {}
                status, result = route[1](*route[2], query=query, body=payload)
            except json.JSONDecodeError:
                return self._answer(entry, bad_request("Invalid JSON payload received."), is_drive)
            except ApiError as e:
                return self._answer(entry, e, is_drive)
            if injection is not None:
                return self._answer(entry, self._injected(injection, method, is_drive), is_drive)
            entry["status"] = status
            return status, result

    def _answer(self, entry: dict, err: ApiError, drive: bool) -> tuple[int, Any]:
        entry["status"] = err.code
        if err.code == 429 and not drive:
            err.message = (f"Quota exceeded for quota metric '{'Read' if entry['method'] == 'GET' else 'Write'} "
                           f"requests' and limit '{err.reason}' of service 'sheets.googleapis.com' "
                           "for consumer 'project_number:000000000000'.")
        return err.code, err.body(drive)

    def _injected(self, injection: Injection, method: str, drive: bool) -> ApiError:
        reason = self._quota_reason(method, drive) if injection.status == 429 else None
        return ApiError(injection.status, reason=reason)

    @staticmethod
    def _quota_reason(method: str, drive: bool) -> str:
        if drive:
            return "rateLimitExceeded"
        return "ReadRequestsPerMinutePerUser" if method == "GET" else "WriteRequestsPerMinutePerUser"

    def _take_injection(self, method: str, api: str) -> Injection | None:
        for inj in self.injections:
            if inj.remaining > 0 and inj.matches(method, api):
                inj.remaining -= 1
                if inj.remaining == 0:
                    self.injections.remove(inj)
                return inj
        return None

    def _check_quota(self, method: str, drive: bool) -> ApiError | None:
        q = self.quota
        if q.per_minute is None and q.read_per_minute is None and q.write_per_minute is None:
            return None
        now = time.monotonic()
        while q.stamps and q.stamps[0][0] <= now - q.window:
            q.stamps.popleft()
        is_read = method == "GET"
        total = len(q.stamps)
        same = sum(1 for _, r in q.stamps if r == is_read)
        kind_limit = q.read_per_minute if is_read else q.write_per_minute
        if (q.per_minute is not None and total >= q.per_minute) or (kind_limit is not None and same >= kind_limit):
            return ApiError(429, reason=self._quota_reason(method, drive))
        q.stamps.append((now, is_read))
        return None

    def _route(self, method: str, path: str) -> Route | None:
        segs = path.strip("/").split("/")
        if segs[:2] == ["v4", "spreadsheets"]:
            rest = segs[2:]
            if not rest:
                return ("spreadsheets.create", self.api_create, ()) if method == "POST" else None
            sid, _, verb = unquote(rest[0]).partition(":")
            if len(rest) == 1:
                if verb == "batchUpdate" and method == "POST":
                    return "spreadsheets.batchUpdate", self.api_batch_update, (sid,)
                if not verb and method == "GET":
                    return "spreadsheets.get", self.api_get, (sid,)
                return None
            if rest[1].startswith("values"):
                head, _, verb = rest[1].partition(":")
                if head != "values":
                    return None
                if len(rest) == 2:
                    table = {("GET", "batchGet"): ("values.batchGet", self.api_values_batch_get),
                             ("POST", "batchUpdate"): ("values.batchUpdate", self.api_values_batch_update),
                             ("POST", "batchClear"): ("values.batchClear", self.api_values_batch_clear)}
                    hit = table.get((method, verb))
                    return (hit[0], hit[1], (sid,)) if hit else None
                raw_range = "/".join(rest[2:])
                verb = ""
                for suffix in (":append", ":clear"):
                    if raw_range.endswith(suffix):
                        raw_range, verb = raw_range[: -len(suffix)], suffix[1:]
                rng = unquote(raw_range)
                table = {("GET", ""): ("values.get", self.api_values_get),
                         ("PUT", ""): ("values.update", self.api_values_update),
                         ("POST", "append"): ("values.append", self.api_values_append),
                         ("POST", "clear"): ("values.clear", self.api_values_clear)}
                hit = table.get((method, verb))
                return (hit[0], hit[1], (sid, rng)) if hit else None
            if rest[1] == "sheets" and len(rest) == 3 and method == "POST":
                sheet_id, _, verb = unquote(rest[2]).partition(":")
                if verb == "copyTo":
                    return "sheets.copyTo", self.api_copy_to, (sid, sheet_id)
            return None
        if segs[:3] == ["drive", "v3", "files"]:
            rest = [unquote(s) for s in segs[3:]]
            if not rest:
                return {"GET": ("files.list", self.api_files_list, ()),
                        "POST": ("files.create", self.api_files_create, ())}.get(method)
            fid = rest[0]
            if len(rest) == 1:
                return {"GET": ("files.get", self.api_files_get, (fid,)),
                        "DELETE": ("files.delete", self.api_files_delete, (fid,)),
                        "PATCH": ("files.update", self.api_files_update, (fid,))}.get(method)
            if rest[1] == "copy" and len(rest) == 2 and method == "POST":
                return "files.copy", self.api_files_copy, (fid,)
            if rest[1] == "permissions":
                if len(rest) == 2:
                    return {"GET": ("permissions.list", self.api_permissions_list, (fid,)),
                            "POST": ("permissions.create", self.api_permissions_create, (fid,))}.get(method)
                if len(rest) == 3 and method == "DELETE":
                    return "permissions.delete", self.api_permissions_delete, (fid, rest[2])
            if rest[1] == "comments" and len(rest) == 2 and method == "GET":
                return "comments.list", self.api_comments_list, (fid,)
        return None

    # ---- Sheets: spreadsheets ----------------------------------------------------------------

    def spreadsheet_json(self, ss: Spreadsheet, grid_ranges: list[Rng] | None = None,
                         include_grid: bool = False) -> dict:
        sheets = []
        wanted = None if grid_ranges is None else {id(r.sheet) for r in grid_ranges}
        for i, sheet in enumerate(ss.sheets):
            if wanted is not None and id(sheet) not in wanted:
                continue
            props = copy.deepcopy(sheet.props)
            props["index"] = i
            grid = props.get("gridProperties", {})
            for k in ("frozenRowCount", "frozenColumnCount"):
                if not grid.get(k):
                    grid.pop(k, None)
            ordered = {"sheetId": props.pop("sheetId"), "title": props.pop("title"), "index": props.pop("index")}
            ordered.update(props)
            entry: dict[str, Any] = {"properties": ordered}
            if sheet.protected:
                entry["protectedRanges"] = copy.deepcopy(sheet.protected)
            if sheet.basic_filter:
                entry["basicFilter"] = copy.deepcopy(sheet.basic_filter)
            if include_grid:
                rngs = [r for r in grid_ranges if r.sheet is sheet] if grid_ranges else [Rng(sheet, 0, 0, None, None)]
                entry["data"] = [self.grid_data(r) for r in rngs]
            sheets.append(entry)
        return {"spreadsheetId": ss.id, "properties": copy.deepcopy(ss.props), "sheets": sheets,
                "spreadsheetUrl": f"https://docs.google.com/spreadsheets/d/{ss.id}/edit"}

    def cell_data(self, sheet: Sheet, r: int, c: int) -> dict:
        cell = sheet.get(r, c)
        if cell is None:
            return {}
        out: dict[str, Any] = {}
        if cell.formula is not None:
            out["userEnteredValue"] = {"formulaValue": cell.formula}
        elif cell.value is not None:
            out["userEnteredValue"] = _extended(cell.value)
        value = self.effective(sheet, r, c)
        if value is not None:
            out["effectiveValue"] = _extended(value)
            out["formattedValue"] = self.render(sheet, r, c, FORMATTED, SERIAL)
        if cell.fmt:
            out["userEnteredFormat"] = copy.deepcopy(cell.fmt)
            out["effectiveFormat"] = copy.deepcopy(cell.fmt)
        if cell.validation:
            out["dataValidation"] = copy.deepcopy(cell.validation)
        if cell.note:
            out["note"] = cell.note
        return out

    def grid_data(self, rng: Rng) -> dict:
        r0, c0, r1, c1 = rng.bounds()
        rows = []
        for r in range(r0, min(r1, len(rng.sheet.rows))):
            vals = [self.cell_data(rng.sheet, r, c) for c in range(c0, min(c1, len(rng.sheet.rows[r])))]
            while vals and not vals[-1]:
                vals.pop()
            rows.append({"values": vals} if vals else {})
        while rows and not rows[-1]:
            rows.pop()
        out: dict[str, Any] = {}
        if r0:
            out["startRow"] = r0
        if c0:
            out["startColumn"] = c0
        if rows:
            out["rowData"] = rows
        return out

    def api_create(self, query, body) -> tuple[int, Any]:
        props = body.get("properties") or {}
        ss = self.create_spreadsheet(props.get("title") or "Untitled spreadsheet", body.get("sheets"))
        for k in ("locale", "timeZone"):
            if k in props:
                ss.props[k] = props[k]
        return 200, self.spreadsheet_json(ss)

    def api_get(self, sid, query, body) -> tuple[int, Any]:
        ss = self.get_spreadsheet(sid)
        ranges = [ss.parse_range(r) for r in query.get("ranges", [])] or None
        mask = parse_mask(query.get("fields", [""])[0])
        # a field mask that names grid data includes it whatever includeGridData says
        include = "data" in mask.get("sheets", {}) if mask else _truthy(query.get("includeGridData", [""])[0])
        result = self.spreadsheet_json(ss, ranges, include)
        return 200, apply_mask(result, mask)

    # ---- Sheets: values ----------------------------------------------------------------------

    @staticmethod
    def _render_opts(query: dict) -> tuple[str, str, str]:
        vro = query.get("valueRenderOption", [FORMATTED])[0] or FORMATTED
        dtro = query.get("dateTimeRenderOption", [SERIAL])[0] or SERIAL
        major = query.get("majorDimension", ["ROWS"])[0] or "ROWS"
        if vro not in (FORMATTED, UNFORMATTED, FORMULA):
            raise bad_request(f"Invalid value at 'value_render_option' ({vro})")
        if dtro not in (SERIAL, FORMATTED_STRING):
            raise bad_request(f"Invalid value at 'date_time_render_option' ({dtro})")
        if major not in ("ROWS", "COLUMNS"):
            raise bad_request(f"Invalid value at 'major_dimension' ({major})")
        return vro, dtro, major

    def api_values_get(self, sid, rng_text, query, body) -> tuple[int, Any]:
        ss = self.get_spreadsheet(sid)
        vro, dtro, major = self._render_opts(query)
        return 200, self.value_range(ss.parse_range(rng_text), vro, dtro, major)

    def api_values_batch_get(self, sid, query, body) -> tuple[int, Any]:
        ss = self.get_spreadsheet(sid)
        vro, dtro, major = self._render_opts(query)
        ranges = query.get("ranges", [])
        return 200, {"spreadsheetId": ss.id,
                     "valueRanges": [self.value_range(ss.parse_range(r), vro, dtro, major) for r in ranges]}

    def _mutating(self, ss: Spreadsheet, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` atomically: on an error the spreadsheet is restored."""
        snap_sheets = [s.clone() for s in ss.sheets]
        snap_props = copy.deepcopy(ss.props)
        snap_next = ss.next_protected_id
        try:
            result = fn()
        except Exception:
            ss.sheets, ss.props, ss.next_protected_id = snap_sheets, snap_props, snap_next
            raise
        ss.modified = self.now()
        return result

    def _updated_data(self, ss: Spreadsheet, updated_range: str, query_or_body: dict, is_query: bool) -> dict:
        def opt(name, default):
            if is_query:
                return query_or_body.get(name, [default])[0] or default
            return query_or_body.get(name) or default
        vro = opt("responseValueRenderOption", FORMATTED)
        dtro = opt("responseDateTimeRenderOption", SERIAL)
        return self.value_range(ss.parse_range(updated_range), vro, dtro, "ROWS")

    def api_values_update(self, sid, rng_text, query, body) -> tuple[int, Any]:
        ss = self.get_spreadsheet(sid)
        option = query.get("valueInputOption", [""])[0]
        rng = ss.parse_range(rng_text)
        if body.get("range") and ss.parse_range(body["range"]).a1() != rng.a1():
            raise bad_request(f"Requested range [{rng_text}] does not match the range in the body [{body['range']}]")
        out = self._mutating(ss, lambda: self.write_values(rng, body.get("values"), body.get("majorDimension") or "ROWS", option))
        result = {"spreadsheetId": ss.id, **out}
        if _truthy(query.get("includeValuesInResponse", [""])[0]):
            result["updatedData"] = self._updated_data(ss, out["updatedRange"], query, True)
        return 200, result

    def api_values_batch_update(self, sid, query, body) -> tuple[int, Any]:
        ss = self.get_spreadsheet(sid)
        option = body.get("valueInputOption") or ""
        data = body.get("data") or []

        def run():
            responses = []
            for item in data:
                if "range" not in item:
                    raise bad_request("Invalid data[]: range is required")
                rng = ss.parse_range(item["range"])
                responses.append({"spreadsheetId": ss.id,
                                  **self.write_values(rng, item.get("values"), item.get("majorDimension") or "ROWS", option)})
            return responses

        if option not in ("RAW", "USER_ENTERED"):
            raise bad_request("'valueInputOption' is required but not specified" if not option
                              else f"Invalid value at 'value_input_option' ({option})")
        responses = self._mutating(ss, run)
        if body.get("includeValuesInResponse"):
            for resp in responses:
                resp["updatedData"] = self._updated_data(ss, resp["updatedRange"], body, False)
        result = {"spreadsheetId": ss.id}
        written = [r for r in responses if r.get("updatedCells")]
        if written:
            result.update(totalUpdatedRows=sum(r["updatedRows"] for r in written),
                          totalUpdatedColumns=sum(r["updatedColumns"] for r in written),
                          totalUpdatedCells=sum(r["updatedCells"] for r in written),
                          totalUpdatedSheets=len({r["updatedRange"].rsplit("!", 1)[0] for r in written}))
        result["responses"] = responses
        return 200, result

    def api_values_append(self, sid, rng_text, query, body) -> tuple[int, Any]:
        ss = self.get_spreadsheet(sid)
        option = query.get("valueInputOption", [""])[0]
        insert = query.get("insertDataOption", ["OVERWRITE"])[0] or "OVERWRITE"
        rng = ss.parse_range(rng_text)
        values = body.get("values") or []
        if body.get("majorDimension") == "COLUMNS":
            height = max((len(col) for col in values), default=0)
            values = [[col[i] if i < len(col) else None for col in values] for i in range(height)]

        def run():
            sheet = rng.sheet
            c_lo = rng.c0
            c_hi = sheet.col_count if rng.c1 is None or rng.single else rng.c1

            def has_data(r: int) -> bool:
                row = sheet.rows[r] if r < len(sheet.rows) else []
                return any(row[c] is not None and (row[c].value is not None or row[c].formula is not None)
                           for c in range(c_lo, min(c_hi, len(row))))

            # a lone cell anchors the table where it is (an empty anchor cell is written into);
            # a longer range is searched top-down for its first table
            if rng.single:
                anchor = sheet.get(rng.r0, rng.c0)
                start = rng.r0 if anchor is not None and (anchor.value is not None or anchor.formula is not None) else None
            else:
                r_limit = sheet.row_count if rng.r1 is None else rng.r1
                start = next((r for r in range(rng.r0, min(r_limit, len(sheet.rows))) if has_data(r)), None)
            table_range = None
            if start is None:
                target = rng.r0
            else:
                end = start
                while end < len(sheet.rows) and has_data(end):
                    end += 1
                first_col = min(c for r in range(start, end) for c in range(c_lo, min(c_hi, len(sheet.rows[r])))
                                if sheet.rows[r][c] is not None and (sheet.rows[r][c].value is not None
                                                                     or sheet.rows[r][c].formula is not None))
                last_col = max(c for r in range(start, end) for c in range(c_lo, min(c_hi, len(sheet.rows[r])))
                               if sheet.rows[r][c] is not None and (sheet.rows[r][c].value is not None
                                                                    or sheet.rows[r][c].formula is not None))
                table_range = range_a1(sheet.title, start, first_col, end, last_col + 1)
                target, c_lo = end, first_col
            n_rows = len(values)
            n_cols = max((len(r) for r in values), default=0)
            if insert == "INSERT_ROWS" and n_rows:
                self._insert_dimension(sheet, "ROWS", target, target + n_rows, inherit_before=target > 0)
            if target + n_rows > sheet.row_count:
                sheet.grid["rowCount"] = target + n_rows
            if c_lo + n_cols > sheet.col_count:
                sheet.grid["columnCount"] = c_lo + n_cols
            written = self.write_values(Rng(sheet, target, c_lo, None, None, True, text=cell_a1(target, c_lo)),
                                        values, "ROWS", option)
            return table_range, written

        if option not in ("RAW", "USER_ENTERED"):
            raise bad_request("'valueInputOption' is required but not specified" if not option
                              else f"Invalid value at 'value_input_option' ({option})")
        table_range, written = self._mutating(ss, run)
        result = {"spreadsheetId": ss.id}
        if table_range:
            result["tableRange"] = table_range
        result["updates"] = {"spreadsheetId": ss.id, **written}
        if _truthy(query.get("includeValuesInResponse", [""])[0]):
            result["updates"]["updatedData"] = self._updated_data(ss, written["updatedRange"], query, True)
        return 200, result

    def _clear(self, rng: Rng) -> str:
        r0, c0, r1, c1 = rng.bounds()
        sheet = rng.sheet
        for r in range(r0, min(r1, len(sheet.rows))):
            row = sheet.rows[r]
            for c in range(c0, min(c1, len(row))):
                if row[c] is not None:
                    sheet.put(r, c, row[c].replace(value=None, formula=None))
        return range_a1(sheet.title, r0, c0, r1, c1)

    def api_values_clear(self, sid, rng_text, query, body) -> tuple[int, Any]:
        ss = self.get_spreadsheet(sid)
        rng = ss.parse_range(rng_text)
        cleared = self._mutating(ss, lambda: self._clear(rng))
        return 200, {"spreadsheetId": ss.id, "clearedRange": cleared}

    def api_values_batch_clear(self, sid, query, body) -> tuple[int, Any]:
        ss = self.get_spreadsheet(sid)
        rngs = [ss.parse_range(r) for r in body.get("ranges") or []]
        cleared = self._mutating(ss, lambda: [self._clear(r) for r in rngs])
        return 200, {"spreadsheetId": ss.id, "clearedRanges": cleared}

    # ---- Sheets: batchUpdate -----------------------------------------------------------------

    SUPPORTED_REQUESTS = (
        "addSheet", "deleteSheet", "duplicateSheet", "updateSheetProperties", "updateSpreadsheetProperties",
        "updateCells", "repeatCell", "setDataValidation", "addProtectedRange", "updateProtectedRange",
        "deleteProtectedRange", "insertDimension", "deleteDimension", "appendDimension", "sortRange",
        "updateDimensionProperties", "autoResizeDimensions", "setBasicFilter", "clearBasicFilter",
        "updateBorders",
    )

    def api_batch_update(self, sid, query, body) -> tuple[int, Any]:
        ss = self.get_spreadsheet(sid)
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise bad_request("Must specify at least one request.")

        def run():
            replies = []
            for i, req in enumerate(requests):
                if not isinstance(req, dict) or len(req) != 1:
                    raise bad_request(f"Invalid requests[{i}]: exactly one kind of request must be set")
                kind, args = next(iter(req.items()))
                handler = getattr(self, f"_req_{kind}", None)
                if handler is None:
                    known = kind in _ALL_REQUEST_KINDS
                    raise bad_request(
                        f"Invalid requests[{i}].{kind}: not implemented by the sheets emulator"
                        if known else
                        f'Invalid JSON payload received. Unknown name "{kind}" at \'requests[{i}]\': Cannot find field.')
                try:
                    reply = handler(ss, args or {})
                except ApiError as e:
                    if e.code == 400 and not e.message.startswith("Invalid requests["):
                        e.message = f"Invalid requests[{i}].{kind}: {e.message}"
                    raise
                replies.append(reply or {})
            return replies

        replies = self._mutating(ss, run)
        result: dict[str, Any] = {"spreadsheetId": ss.id, "replies": replies}
        if body.get("includeSpreadsheetInResponse"):
            result["updatedSpreadsheet"] = self.spreadsheet_json(ss, include_grid=bool(body.get("responseIncludeGridData")))
        return 200, result

    def _grid_range(self, ss: Spreadsheet, gr: dict) -> tuple[Sheet, int, int, int, int]:
        sheet = ss.sheet_by_id(gr.get("sheetId", 0))
        r0 = int(gr.get("startRowIndex", 0) or 0)
        c0 = int(gr.get("startColumnIndex", 0) or 0)
        r1 = int(gr["endRowIndex"]) if gr.get("endRowIndex") is not None else sheet.row_count
        c1 = int(gr["endColumnIndex"]) if gr.get("endColumnIndex") is not None else sheet.col_count
        if r0 < 0 or c0 < 0 or r1 > sheet.row_count or c1 > sheet.col_count or r0 > r1 or c0 > c1:
            raise grid_error(range_a1(sheet.title, r0, c0, max(r1, r0 + 1), max(c1, c0 + 1)), sheet)
        return sheet, r0, c0, r1, c1

    def _check_title(self, ss: Spreadsheet, title: str, except_sheet: Sheet | None = None) -> None:
        if not title or not title.strip():
            raise bad_request("The sheet name cannot be empty.")
        for s in ss.sheets:
            if s is not except_sheet and s.title.lower() == title.lower():
                raise bad_request(f'A sheet with the name "{title}" already exists. Please enter another name.')

    def _req_addSheet(self, ss, args):
        props = copy.deepcopy(args.get("properties") or {})
        grid = props.pop("gridProperties", {}) or {}
        title = props.pop("title", None)
        if title is None:
            n = len(ss.sheets) + 1
            while ss.sheet_by_title(f"Sheet{n}"):
                n += 1
            title = f"Sheet{n}"
        self._check_title(ss, title)
        sheet_id = props.pop("sheetId", None)
        if sheet_id is None:
            sheet_id = self._new_sheet_id(ss)
        elif any(s.sheet_id == sheet_id for s in ss.sheets):
            raise bad_request(f"A sheet with the id {sheet_id} already exists.")
        index = props.pop("index", None)
        sheet = Sheet(int(sheet_id), title, int(grid.get("rowCount", DEFAULT_ROWS)),
                      int(grid.get("columnCount", DEFAULT_COLS)))
        for k in ("frozenRowCount", "frozenColumnCount", "hideGridlines"):
            if grid.get(k):
                sheet.grid[k] = grid[k]
        props.pop("sheetType", None)
        sheet.props.update(_strip_none(props))
        index = len(ss.sheets) if index is None else max(0, min(int(index), len(ss.sheets)))
        ss.sheets.insert(index, sheet)
        return {"addSheet": {"properties": self._sheet_props(ss, sheet)}}

    def _sheet_props(self, ss: Spreadsheet, sheet: Sheet) -> dict:
        return next(e["properties"] for e in self.spreadsheet_json(ss)["sheets"] if e["properties"]["sheetId"] == sheet.sheet_id)

    def _req_deleteSheet(self, ss, args):
        sheet = ss.sheet_by_id(args.get("sheetId"))
        if len(ss.sheets) == 1:
            raise bad_request("You can't remove all the sheets in a document.")
        ss.sheets.remove(sheet)

    def _req_duplicateSheet(self, ss, args):
        src = ss.sheet_by_id(args.get("sourceSheetId"))
        new = src.clone()
        title = args.get("newSheetName") or f"Copy of {src.title}"
        self._check_title(ss, title)
        new.props["title"] = title
        new_id = args.get("newSheetId")
        if new_id is None:
            new_id = self._new_sheet_id(ss)
        elif any(s.sheet_id == new_id for s in ss.sheets):
            raise bad_request(f"A sheet with the id {new_id} already exists.")
        new.props["sheetId"] = int(new_id)
        for p in new.protected:
            p["range"]["sheetId"] = new.sheet_id
            p["protectedRangeId"] = ss.next_protected_id
            ss.next_protected_id += 1
        index = args.get("insertSheetIndex")
        index = len(ss.sheets) if index is None else max(0, min(int(index), len(ss.sheets)))
        ss.sheets.insert(index, new)
        return {"duplicateSheet": {"properties": self._sheet_props(ss, new)}}

    def _req_updateSheetProperties(self, ss, args):
        props = args.get("properties") or {}
        if "fields" not in args:
            raise bad_request("At least one field must be updated (fields is required)")
        sheet = ss.sheet_by_id(props.get("sheetId", 0))
        mask = parse_mask(args.get("fields"))
        if not mask:
            mask = {k: {} for k in props if k not in ("sheetId",)}
        mask.pop("sheetId", None)
        index_change = "index" in mask or "*" in mask
        if "title" in mask and props.get("title") is not None:
            self._check_title(ss, props["title"], except_sheet=sheet)
        target = copy.deepcopy(sheet.props)
        source = copy.deepcopy(props)
        source["sheetId"] = sheet.sheet_id
        rest = {k: v for k, v in mask.items() if k != "index"}
        if rest:                                  # an empty mask would mean "every field"
            update_by_mask(target, source, rest)
        target["sheetId"] = sheet.sheet_id
        if not target.get("title"):
            raise bad_request("The sheet name cannot be empty.")
        grid = target.setdefault("gridProperties", {})
        for k in ("rowCount", "columnCount"):
            if k not in grid:
                grid[k] = sheet.grid.get(k)
            if int(grid[k]) < 1:
                raise bad_request(f"Invalid {k}: must be at least 1")
        if grid.get("frozenRowCount", 0) >= grid["rowCount"]:
            raise bad_request("You can't freeze all visible rows on the sheet.")
        if grid.get("frozenColumnCount", 0) >= grid["columnCount"]:
            raise bad_request("You can't freeze all visible columns on the sheet.")
        sheet.props = target
        sheet.truncate()
        if index_change and props.get("index") is not None:
            ss.sheets.remove(sheet)
            ss.sheets.insert(max(0, min(int(props["index"]), len(ss.sheets))), sheet)

    def _req_updateSpreadsheetProperties(self, ss, args):
        mask = parse_mask(args.get("fields"))
        update_by_mask(ss.props, args.get("properties") or {}, mask or {k: {} for k in args.get("properties") or {}})
        if not ss.props.get("title"):
            raise bad_request("The spreadsheet title cannot be empty.")

    def _apply_cell_data(self, sheet: Sheet, r: int, c: int, data: dict, mask: dict) -> None:
        old = sheet.get(r, c) or EMPTY
        view: dict[str, Any] = {}
        if old.formula is not None:
            view["userEnteredValue"] = {"formulaValue": old.formula}
        elif old.value is not None:
            view["userEnteredValue"] = _extended(old.value)
        if old.fmt:
            view["userEnteredFormat"] = old.fmt
        if old.validation:
            view["dataValidation"] = old.validation
        if old.note:
            view["note"] = old.note
        update_by_mask(view, data or {}, mask)
        value = formula = None
        uev = view.get("userEnteredValue") or {}
        if "formulaValue" in uev:
            formula = uev["formulaValue"]
            if not str(formula).startswith("="):
                value, formula = formula, None
        elif "numberValue" in uev:
            value = float(uev["numberValue"])
        elif "boolValue" in uev:
            value = bool(uev["boolValue"])
        elif "stringValue" in uev:
            value = uev["stringValue"] if uev["stringValue"] != "" else None
        elif "errorValue" in uev:
            raise bad_request("userEnteredValue.errorValue cannot be set")
        if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            raise bad_request(f"Your input contains more than the maximum of {MAX_CELL_CHARS} characters in a single cell.")
        validation = view.get("dataValidation") or None
        if validation is not None:
            validation = self._check_rule(_strip_none(validation))
        sheet.put(r, c, Cell(value, formula, view.get("userEnteredFormat") or None, validation,
                             view.get("note") or None))

    def _req_updateCells(self, ss, args):
        fields = args.get("fields")
        if not fields:
            raise bad_request("At least one field must be updated (fields is required)")
        mask = parse_mask(fields)
        rows = args.get("rows") or []
        if "start" in args:
            st = args["start"]
            sheet = ss.sheet_by_id(st.get("sheetId", 0))
            r0, c0 = int(st.get("rowIndex", 0) or 0), int(st.get("columnIndex", 0) or 0)
            r1 = r0 + len(rows)
            c1 = c0 + max((len(r.get("values") or []) for r in rows), default=0)
            if r1 > sheet.row_count or c1 > sheet.col_count:
                raise grid_error(range_a1(sheet.title, r0, c0, max(r1, r0 + 1), max(c1, c0 + 1)), sheet)
            clear_rest = False
        elif "range" in args:
            sheet, r0, c0, r1, c1 = self._grid_range(ss, args["range"])
            clear_rest = True
        else:
            raise bad_request("Either start or range must be set")
        for i in range(r1 - r0):
            row = (rows[i].get("values") or []) if i < len(rows) else []
            for j in range(c1 - c0):
                if j < len(row):
                    self._apply_cell_data(sheet, r0 + i, c0 + j, row[j], mask)
                elif clear_rest:
                    self._apply_cell_data(sheet, r0 + i, c0 + j, {}, mask)

    def _req_repeatCell(self, ss, args):
        fields = args.get("fields")
        if not fields:
            raise bad_request("At least one field must be updated (fields is required)")
        mask = parse_mask(fields)
        sheet, r0, c0, r1, c1 = self._grid_range(ss, args.get("range") or {})
        cell = args.get("cell") or {}
        for r in range(r0, r1):
            for c in range(c0, c1):
                self._apply_cell_data(sheet, r, c, cell, mask)

    VALIDATION_TYPES = {
        "NUMBER_GREATER", "NUMBER_GREATER_THAN_EQ", "NUMBER_LESS", "NUMBER_LESS_THAN_EQ", "NUMBER_EQ",
        "NUMBER_NOT_EQ", "NUMBER_BETWEEN", "NUMBER_NOT_BETWEEN", "TEXT_CONTAINS", "TEXT_NOT_CONTAINS",
        "TEXT_STARTS_WITH", "TEXT_ENDS_WITH", "TEXT_EQ", "TEXT_IS_EMAIL", "TEXT_IS_URL", "DATE_EQ",
        "DATE_BEFORE", "DATE_AFTER", "DATE_ON_OR_BEFORE", "DATE_ON_OR_AFTER", "DATE_BETWEEN",
        "DATE_NOT_BETWEEN", "DATE_IS_VALID", "ONE_OF_RANGE", "ONE_OF_LIST", "BLANK", "NOT_BLANK",
        "CUSTOM_FORMULA", "BOOLEAN",
    }

    def _check_rule(self, rule: dict) -> dict:
        cond = rule.get("condition") or {}
        kind = cond.get("type")
        if kind not in self.VALIDATION_TYPES:
            raise bad_request(f"Invalid value at 'rule.condition.type' ({kind})")
        if kind == "ONE_OF_LIST" and not cond.get("values"):
            raise bad_request("ONE_OF_LIST condition requires at least one value")
        return rule

    def _req_setDataValidation(self, ss, args):
        sheet, r0, c0, r1, c1 = self._grid_range(ss, args.get("range") or {})
        rule = args.get("rule")
        rule = self._check_rule(_strip_none(rule)) if rule else None
        for r in range(r0, r1):
            for c in range(c0, c1):
                old = sheet.get(r, c) or EMPTY
                sheet.put(r, c, old.replace(validation=copy.deepcopy(rule)))

    def _req_addProtectedRange(self, ss, args):
        pr = _strip_none(copy.deepcopy(args.get("protectedRange") or {}))
        gr = pr.get("range")
        if gr is None and pr.get("namedRangeId"):
            raise bad_request("namedRangeId protected ranges are not implemented by the sheets emulator")
        sheet, *_ = self._grid_range(ss, gr or {"sheetId": 0})
        if pr.get("warningOnly") and pr.get("editors"):
            raise bad_request("ProtectedRange cannot have editors when warningOnly is true.")
        pr["protectedRangeId"] = pr.get("protectedRangeId") or ss.next_protected_id
        ss.next_protected_id = max(ss.next_protected_id, pr["protectedRangeId"]) + 1
        pr.setdefault("range", {"sheetId": sheet.sheet_id})
        pr["requestingUserCanEdit"] = True      # the service account owns the file
        if not pr.get("warningOnly"):
            pr.setdefault("editors", {})
            pr["editors"].setdefault("users", [])
        sheet.protected.append(pr)
        return {"addProtectedRange": {"protectedRange": copy.deepcopy(pr)}}

    def _find_protected(self, ss: Spreadsheet, pid) -> tuple[Sheet, dict]:
        for s in ss.sheets:
            for p in s.protected:
                if str(p["protectedRangeId"]) == str(pid):
                    return s, p
        raise bad_request(f"No protected range with id: {pid}")

    def _req_updateProtectedRange(self, ss, args):
        new = args.get("protectedRange") or {}
        sheet, p = self._find_protected(ss, new.get("protectedRangeId"))
        mask = parse_mask(args.get("fields")) or {k: {} for k in new}
        update_by_mask(p, _strip_none(new), mask)
        if p.get("warningOnly") and p.get("editors", {}).get("users"):
            raise bad_request("ProtectedRange cannot have editors when warningOnly is true.")

    def _req_deleteProtectedRange(self, ss, args):
        sheet, p = self._find_protected(ss, args.get("protectedRangeId"))
        sheet.protected.remove(p)

    @staticmethod
    def _dim_range(ss: Spreadsheet, rng: dict) -> tuple[Sheet, str, int, int]:
        sheet = ss.sheet_by_id(rng.get("sheetId", 0))
        dim = rng.get("dimension")
        if dim not in ("ROWS", "COLUMNS"):
            raise bad_request(f"Invalid dimension: {dim}")
        start = int(rng.get("startIndex", 0) or 0)
        end = rng.get("endIndex")
        end = (sheet.row_count if dim == "ROWS" else sheet.col_count) if end is None else int(end)
        if start < 0 or end < start:
            raise bad_request(f"Invalid range: startIndex {start}, endIndex {end}")
        return sheet, dim, start, end

    def _insert_dimension(self, sheet: Sheet, dim: str, start: int, end: int, inherit_before: bool) -> None:
        n = end - start
        if n <= 0:
            return
        limit = sheet.row_count if dim == "ROWS" else sheet.col_count
        if start > limit:
            raise bad_request(f"Invalid range: startIndex {start} is beyond the grid ({limit})")
        src = start - 1 if inherit_before else start   # the row/column whose format the new ones take

        def template(get: Callable[[], Cell | None]) -> Cell | None:
            cell = get()
            if cell is None or (not cell.fmt and not cell.validation):
                return None
            return Cell(fmt=cell.fmt, validation=cell.validation)

        if dim == "ROWS":
            width = len(sheet.rows[src]) if 0 <= src < len(sheet.rows) else 0
            fresh = [[template(lambda c=c: sheet.get(src, c)) for c in range(width)] for _ in range(n)]
            if start <= len(sheet.rows):
                sheet.rows[start:start] = fresh
            sheet.grid["rowCount"] = sheet.row_count + n
        else:
            for row in sheet.rows:
                if start <= len(row):
                    tpl = template(lambda row=row: row[src] if 0 <= src < len(row) else None)
                    row[start:start] = [tpl] * n
            sheet.grid["columnCount"] = sheet.col_count + n
        self._shift_after(sheet, dim, start, n)

    def _shift_after(self, sheet: Sheet, dim: str, start: int, n: int) -> None:
        """Adjust formulas and protected ranges after an insert (n > 0) or delete (n < 0)."""
        for r, row in enumerate(sheet.rows):
            for c, cell in enumerate(row):
                if cell is not None and cell.formula is not None:
                    row[c] = cell.replace(formula=shift_formula(cell.formula, dim, start, n))
        lo, hi = ("startRowIndex", "endRowIndex") if dim == "ROWS" else ("startColumnIndex", "endColumnIndex")
        keep = []
        for p in sheet.protected:
            gr = p.get("range", {})
            for key in (lo, hi):
                if gr.get(key) is None:
                    continue
                b = gr[key]
                if n > 0:
                    if b > start or (key == lo and b == start):
                        gr[key] = b + n
                else:
                    end = start - n
                    if b >= end:
                        gr[key] = b + n
                    elif b > start:
                        gr[key] = start
            if gr.get(lo) is not None and gr.get(hi) is not None and gr[lo] >= gr[hi]:
                continue
            keep.append(p)
        sheet.protected[:] = keep

    def _req_insertDimension(self, ss, args):
        sheet, dim, start, end = self._dim_range(ss, args.get("range") or {})
        if args.get("inheritFromBefore") and start == 0:
            raise bad_request("Cannot inherit from before when inserting at index 0.")
        self._insert_dimension(sheet, dim, start, end, bool(args.get("inheritFromBefore")))

    def _req_deleteDimension(self, ss, args):
        sheet, dim, start, end = self._dim_range(ss, args.get("range") or {})
        limit = sheet.row_count if dim == "ROWS" else sheet.col_count
        end = min(end, limit)
        n = end - start
        if n <= 0:
            return
        if start == 0 and end >= limit:
            raise bad_request(f"You can't delete all the {'rows' if dim == 'ROWS' else 'columns'} on the sheet.")
        if dim == "ROWS":
            del sheet.rows[start:end]
            sheet.grid["rowCount"] = limit - n
        else:
            for row in sheet.rows:
                del row[start:end]
            sheet.grid["columnCount"] = limit - n
        frozen = "frozenRowCount" if dim == "ROWS" else "frozenColumnCount"
        if sheet.grid.get(frozen, 0) >= limit - n:
            sheet.grid[frozen] = max(0, limit - n - 1)
        self._shift_after(sheet, dim, start, -n)

    def _req_appendDimension(self, ss, args):
        sheet = ss.sheet_by_id(args.get("sheetId", 0))
        length = int(args.get("length", 0) or 0)
        if length < 1:
            raise bad_request("length must be at least 1")
        key = "rowCount" if args.get("dimension") == "ROWS" else "columnCount"
        if args.get("dimension") not in ("ROWS", "COLUMNS"):
            raise bad_request(f"Invalid dimension: {args.get('dimension')}")
        sheet.grid[key] = int(sheet.grid[key]) + length

    def _req_sortRange(self, ss, args):
        sheet, r0, c0, r1, c1 = self._grid_range(ss, args.get("range") or {})
        specs = args.get("sortSpecs") or [{"dimensionIndex": c0, "sortOrder": "ASCENDING"}]
        keys = []
        for spec in specs:
            col = spec.get("dimensionIndex")
            if col is None or not c0 <= int(col) < c1:
                raise bad_request(f"Invalid sortSpecs: dimensionIndex {col} is outside the range")
            keys.append((int(col), spec.get("sortOrder", "ASCENDING") == "DESCENDING"))
        r_end = min(r1, len(sheet.rows))
        if r_end <= r0:
            return
        block = []
        for r in range(r0, r_end):
            vals = {col: self.effective(sheet, r, col) for col, _ in keys}
            cells = [sheet.get(r, c) for c in range(c0, c1)]
            block.append((vals, cells))

        def rank(v: Any) -> tuple:
            if isinstance(v, bool):
                return (2, v)
            if isinstance(v, (int, float)):
                return (0, v)
            if isinstance(v, str):
                return (1, v.casefold())
            return (3, v.code if isinstance(v, Err) else "")

        def cmp(a, b) -> int:
            for col, desc in keys:
                va, vb = a[0][col], b[0][col]
                blank_a, blank_b = va in (None, ""), vb in (None, "")
                if blank_a or blank_b:
                    if blank_a != blank_b:
                        return 1 if blank_a else -1
                    continue
                ka, kb = rank(va), rank(vb)
                if ka != kb:
                    res = -1 if ka < kb else 1
                    return -res if desc else res
            return 0

        order = sorted(range(len(block)), key=functools.cmp_to_key(lambda a, b: cmp(block[a], block[b])))
        for new_i, old_i in enumerate(order):
            moved = new_i - old_i
            for j, cell in enumerate(block[old_i][1]):
                if moved and cell is not None and cell.formula is not None:
                    cell = cell.replace(formula=move_formula(cell.formula, moved))
                sheet.put(r0 + new_i, c0 + j, cell)

    def _req_updateDimensionProperties(self, ss, args):
        rng = args.get("range") or args.get("dataSourceSheetRange") or {}
        self._dim_range(ss, rng)     # validates sheet and dimension; sizes and hiding have no effect on values

    def _req_autoResizeDimensions(self, ss, args):
        self._dim_range(ss, args.get("dimensions") or {})

    def _req_updateBorders(self, ss, args):
        self._grid_range(ss, args.get("range") or {})

    def _req_setBasicFilter(self, ss, args):
        flt = copy.deepcopy((args.get("filter") or {}))
        sheet, *_ = self._grid_range(ss, flt.get("range") or {})
        sheet.basic_filter = flt

    def _req_clearBasicFilter(self, ss, args):
        ss.sheet_by_id(args.get("sheetId", 0)).basic_filter = None

    def api_copy_to(self, sid, sheet_id, query, body) -> tuple[int, Any]:
        src_ss = self.get_spreadsheet(sid)
        src = src_ss.sheet_by_id(sheet_id)
        dest = self.get_spreadsheet(body.get("destinationSpreadsheetId", ""))

        def run():
            new = src.clone()
            title = f"Copy of {src.title}"
            n = 2
            while dest.sheet_by_title(title):
                title, n = f"Copy of {src.title} {n}", n + 1
            new.props["title"] = title
            new.props["sheetId"] = self._new_sheet_id(dest)
            new.protected = []
            dest.sheets.append(new)
            return self._sheet_props(dest, new)

        return 200, self._mutating(dest, run)

    # ---- Drive ---------------------------------------------------------------------------------

    def _file_json(self, fid: str) -> dict:
        if fid in self.spreadsheets:
            ss = self.spreadsheets[fid]
            return {"kind": "drive#file", "id": ss.id, "name": ss.title, "mimeType": SPREADSHEET_MIME,
                    "parents": list(ss.parents), "createdTime": ss.created, "modifiedTime": ss.modified}
        if fid in self.files:
            return copy.deepcopy(self.files[fid])
        raise ApiError(404, f"File not found: {fid}.", reason="notFound")

    def api_files_create(self, query, body) -> tuple[int, Any]:
        mime = body.get("mimeType") or ""
        name = body.get("name") or "Untitled"
        if mime == SPREADSHEET_MIME:
            ss = self.create_spreadsheet(name, parents=body.get("parents"))
            return 200, {"kind": "drive#file", "id": ss.id, "name": ss.title, "mimeType": SPREADSHEET_MIME}
        if mime == FOLDER_MIME:
            fid = self._new_id()
            now = self.now()
            self.files[fid] = {"kind": "drive#file", "id": fid, "name": name, "mimeType": mime,
                               "parents": list(body.get("parents") or []), "createdTime": now, "modifiedTime": now}
            return 200, {"kind": "drive#file", "id": fid, "name": name, "mimeType": mime}
        raise ApiError(400, f"The sheets emulator only creates spreadsheets and folders, not {mime!r}.",
                       reason="badRequest")

    def api_files_list(self, query, body) -> tuple[int, Any]:
        q = query.get("q", [""])[0]
        files = [self._file_json(fid) for fid in list(self.spreadsheets) + list(self.files)]
        for m in re.finditer(r"mimeType\s*(=|!=)\s*(['\"])(.*?)\2", q):
            op, val = m.group(1), m.group(3)
            files = [f for f in files if (f["mimeType"] == val) == (op == "=")]
        for m in re.finditer(r"\bname\s*(=|!=|contains)\s*(['\"])((?:\\.|(?!\2).)*)\2", q):
            op, val = m.group(1), re.sub(r"\\(.)", r"\1", m.group(3))
            if op == "contains":
                files = [f for f in files if val.lower() in f["name"].lower()]
            else:
                files = [f for f in files if (f["name"] == val) == (op == "=")]
        for m in re.finditer(r"(['\"])([^'\"]+)\1\s+in\s+parents|parents\s+in\s+(['\"])([^'\"]+)\3", q):
            folder = m.group(2) or m.group(4)
            files = [f for f in files if folder in f.get("parents", [])]
        files.sort(key=lambda f: f["modifiedTime"], reverse=True)
        result = {"kind": "drive#fileList", "incompleteSearch": False, "files": files}
        return 200, apply_mask(result, parse_mask(query.get("fields", [""])[0]))

    def api_files_get(self, fid, query, body) -> tuple[int, Any]:
        return 200, apply_mask(self._file_json(fid), parse_mask(query.get("fields", [""])[0]))

    def api_files_update(self, fid, query, body) -> tuple[int, Any]:
        self._file_json(fid)
        if fid in self.spreadsheets and body.get("name"):
            ss = self.spreadsheets[fid]
            ss.props["title"] = body["name"]
            ss.modified = self.now()
        elif fid in self.files and body.get("name"):
            self.files[fid]["name"] = body["name"]
        return 200, self._file_json(fid)

    def api_files_delete(self, fid, query, body) -> tuple[int, Any]:
        self._file_json(fid)
        self.spreadsheets.pop(fid, None)
        self.files.pop(fid, None)
        return 204, None

    def api_files_copy(self, fid, query, body) -> tuple[int, Any]:
        src = self.get_spreadsheet(fid) if fid in self.spreadsheets else None
        if src is None:
            raise ApiError(404, f"File not found: {fid}.", reason="notFound")
        new = Spreadsheet(self._new_id(), "", self.now())
        new.props = copy.deepcopy(src.props)
        new.props["title"] = body.get("name") or f"Copy of {src.title}"
        new.sheets = [s.clone() for s in src.sheets]
        new.next_protected_id = src.next_protected_id
        new.parents = list(body.get("parents") or src.parents)
        self.spreadsheets[new.id] = new
        return 200, {"kind": "drive#file", "id": new.id, "name": new.title, "mimeType": SPREADSHEET_MIME}

    def _perm_target(self, fid: str) -> list[dict]:
        if fid in self.spreadsheets:
            return self.spreadsheets[fid].permissions
        if fid in self.files:
            return self.files[fid].setdefault("_permissions", [])
        raise ApiError(404, f"File not found: {fid}.", reason="notFound")

    def api_permissions_create(self, fid, query, body) -> tuple[int, Any]:
        perms = self._perm_target(fid)
        ptype, role = body.get("type"), body.get("role")
        if ptype not in ("user", "group", "domain", "anyone"):
            raise ApiError(400, f"Invalid permission type: {ptype}", reason="invalid")
        if role not in ("owner", "organizer", "fileOrganizer", "writer", "commenter", "reader"):
            raise ApiError(400, f"Invalid permission role: {role}", reason="invalid")
        if ptype in ("user", "group") and not body.get("emailAddress"):
            raise ApiError(400, "Permission emailAddress is required for user and group permissions", reason="required")
        perm = {"kind": "drive#permission", "id": str(self.rng.randint(10 ** 17, 10 ** 18)), "type": ptype,
                "role": role}
        for k in ("emailAddress", "domain", "allowFileDiscovery"):
            if body.get(k) is not None:
                perm[k] = body[k]
        perm["sendNotificationEmail"] = _truthy(query.get("sendNotificationEmail", [""])[0], True)
        perms.append(perm)
        return 200, {k: v for k, v in perm.items() if k != "sendNotificationEmail"}

    def api_permissions_list(self, fid, query, body) -> tuple[int, Any]:
        perms = [{k: v for k, v in p.items() if k != "sendNotificationEmail"} for p in self._perm_target(fid)]
        return 200, {"kind": "drive#permissionList", "permissions": perms}

    def api_permissions_delete(self, fid, pid, query, body) -> tuple[int, Any]:
        perms = self._perm_target(fid)
        for p in perms:
            if p["id"] == pid:
                perms.remove(p)
                return 204, None
        raise ApiError(404, f"Permission not found: {pid}.", reason="notFound")

    def api_comments_list(self, fid, query, body) -> tuple[int, Any]:
        self._file_json(fid)
        return 200, {"kind": "drive#commentList", "comments": []}

    # ---- what a person does in the browser ----------------------------------------------------

    def type_as_user(self, sid: str, tab: str, a1: str, value: Any, user: str | None = None,
                     enforce: bool = True) -> None:
        """A person types ``value`` into one cell (parsed like USER_ENTERED; "" clears it).
        Refused like the UI refuses: a strict validation rule the value breaks (ValueError) or a
        protected range that is not warning-only and does not list ``user`` (PermissionError).
        ``enforce=False`` skips both checks (the owner setting a sheet up)."""
        with self.lock:
            ss = self.get_spreadsheet(sid)
            sheet = self.get_sheet(sid, tab)
            rng = ss.parse_range(f"{quote_sheet(tab)}!{a1}")
            r, c = rng.r0, rng.c0
            if r >= sheet.row_count or c >= sheet.col_count:
                raise ValueError(f"{a1} is outside the grid of {tab!r}")
            for p in sheet.protected:
                gr = p.get("range", {})
                inside = (gr.get("startRowIndex", 0) <= r < gr.get("endRowIndex", sheet.row_count)
                          and gr.get("startColumnIndex", 0) <= c < gr.get("endColumnIndex", sheet.col_count))
                if enforce and inside and not p.get("warningOnly") and (user is None or user not in (p.get("editors") or {}).get("users", [])):
                    raise PermissionError(f"{tab}!{a1} is protected: {p.get('description') or 'protected range'}")
            cell = sheet.get(r, c)
            rule = cell.validation if cell else None
            text = value if isinstance(value, str) else ("TRUE" if value is True else "FALSE" if value is False
                                                         else auto_number(float(value)) if value is not None else "")
            if enforce and rule and rule.get("strict") and text != "":
                cond = rule.get("condition", {})
                if cond.get("type") == "ONE_OF_LIST":
                    allowed = [str(v.get("userEnteredValue", "")) for v in cond.get("values", [])]
                    if text not in allowed:
                        raise ValueError(f"{tab}!{a1}: {text!r} violates the data validation rule (one of {allowed})")
            self.write_value(sheet, r, c, text, "USER_ENTERED")
            ss.modified = self.now()

    def sort_as_user(self, sid: str, tab: str, column: str, descending: bool = False,
                     header_rows: int | None = None) -> None:
        """A person sorts the sheet by one column (Data > Sort sheet), keeping frozen/header rows."""
        with self.lock:
            ss = self.get_spreadsheet(sid)
            sheet = self.get_sheet(sid, tab)
            start = sheet.grid.get("frozenRowCount", 0) if header_rows is None else header_rows
            self._mutating(ss, lambda: self._req_sortRange(ss, {
                "range": {"sheetId": sheet.sheet_id, "startRowIndex": start},
                "sortSpecs": [{"dimensionIndex": col_index(column),
                               "sortOrder": "DESCENDING" if descending else "ASCENDING"}]}))

    def delete_rows_as_user(self, sid: str, tab: str, first_row: int, last_row: int | None = None) -> None:
        """A person deletes rows ``first_row``..``last_row`` (1-based, inclusive)."""
        with self.lock:
            ss = self.get_spreadsheet(sid)
            sheet = self.get_sheet(sid, tab)
            last = first_row if last_row is None else last_row
            self._mutating(ss, lambda: self._req_deleteDimension(ss, {"range": {
                "sheetId": sheet.sheet_id, "dimension": "ROWS", "startIndex": first_row - 1, "endIndex": last}}))

    def insert_rows_as_user(self, sid: str, tab: str, before_row: int, count: int = 1) -> None:
        """A person inserts ``count`` empty rows above row ``before_row`` (1-based)."""
        with self.lock:
            ss = self.get_spreadsheet(sid)
            sheet = self.get_sheet(sid, tab)
            self._mutating(ss, lambda: self._insert_dimension(sheet, "ROWS", before_row - 1, before_row - 1 + count,
                                                               inherit_before=before_row > 1))

    def cell_info(self, sid: str, tab: str, a1: str) -> dict:
        with self.lock:
            ss = self.get_spreadsheet(sid)
            sheet = self.get_sheet(sid, tab)
            rng = ss.parse_range(f"{quote_sheet(tab)}!{a1}")
            cell = sheet.get(rng.r0, rng.c0) or EMPTY
            return {"value": self.effective(sheet, rng.r0, rng.c0), "formula": cell.formula,
                    "formatted": self.render(sheet, rng.r0, rng.c0, FORMATTED, SERIAL),
                    "number_format": copy.deepcopy(cell.number_format),
                    "format": copy.deepcopy(cell.fmt), "validation": copy.deepcopy(cell.validation),
                    "note": cell.note}


def _extended(value: Any) -> dict:
    if isinstance(value, Err):
        return {"errorValue": {"type": Err.TYPES.get(value.code, "ERROR"), "message": value.code}}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, (int, float)):
        return {"numberValue": json_number(value)}
    return {"stringValue": value}


_ALL_REQUEST_KINDS = set(SheetsEmulator.SUPPORTED_REQUESTS) | {
    "updateConditionalFormatRule", "addConditionalFormatRule", "deleteConditionalFormatRule", "mergeCells",
    "unmergeCells", "copyPaste", "cutPaste", "findReplace", "pasteData", "textToColumns", "addNamedRange",
    "updateNamedRange", "deleteNamedRange", "addFilterView", "updateFilterView", "deleteFilterView",
    "duplicateFilterView", "addChart", "updateChartSpec", "deleteEmbeddedObject", "addBanding",
    "updateBanding", "deleteBanding", "addDimensionGroup", "deleteDimensionGroup", "updateDimensionGroup",
    "moveDimension", "trimWhitespace", "deleteDuplicates", "randomizeRange", "autoFill", "addSlicer",
    "updateSlicerSpec", "createDeveloperMetadata", "updateDeveloperMetadata", "deleteDeveloperMetadata",
    "updateEmbeddedObjectPosition", "updateEmbeddedObjectBorder", "addDataSource", "updateDataSource",
    "deleteDataSource", "refreshDataSource", "cancelDataSourceRefresh", "deleteRange", "insertRange",
    "appendCells", "addTable", "updateTable", "deleteTable",
}


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------

class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True     # headers and body go out at once, no delayed-ACK stalls
    server_version = "SheetsEmulator/1"

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items()}
        try:
            status, payload = self.server.emulator.handle_http(self.command, self.path, headers, body)  # type: ignore[attr-defined]
        except Exception as exc:  # a bug in the emulator: answer 500 with the reason, keep serving
            status, payload = 500, ApiError(500, f"sheets emulator crashed: {exc!r}").body()
        data = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:   # quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class EmulatorServer:
    """Serve a ``SheetsEmulator`` on ``host:port`` (port 0 = a free one) from a background thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, emulator: SheetsEmulator | None = None):
        self.emulator = emulator or SheetsEmulator()
        self.httpd = _Server((host, port), _Handler)
        self.httpd.emulator = self.emulator  # type: ignore[attr-defined]
        self.thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        h, p = self.httpd.server_address[:2]
        return f"{h}:{p}"

    def start(self) -> "EmulatorServer":
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="sheets-emulator", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.thread:
            self.thread.join(timeout=5)

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local Google Sheets API emulator (in memory).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--quota", type=int, default=None, help="requests per minute before 429")
    args = parser.parse_args(argv)
    server = EmulatorServer(args.host, args.port)
    if args.quota:
        server.emulator.set_quota(args.quota)
    print(f"SHEETS_EMULATOR_HOST={server.host}", flush=True)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


if __name__ == "__main__":
    main()
