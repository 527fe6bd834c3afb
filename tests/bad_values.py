"""Hostile input, shared by the bad-input tests (service parameters, lead import columns, sheet cells).

Per kind of field, `hostile(...)` draws values that must be refused and `fine(...)` draws (value, stored)
pairs that must be accepted and read back as `stored`. Text is judged by `text_verdict`, the rule written
out on its own: NFC, surrounding whitespace trimmed, no control or direction-override characters, line
breaks and tabs only in notes, at most max_len characters, never truncated.
"""
from __future__ import annotations

import hashlib
import unicodedata
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st
from sqlalchemy import select
from sqlmodel import SQLModel

from core.context import SYSTEM, unit_of_work
from core.exports import ENTITIES, export_rows, to_csv

REFUSE = object()   # what text_verdict says of a value the field must refuse
LONG = 10_000
CONTROL = "\x00\x01\x07\x08\x0b\x0c\x1b\x1f\x7f\x85\x9b"
XML_CONTROL = "\x7f\x85\x9b"   # the control characters an .xlsx cell can hold (XML refuses the rest)
DIRECTION = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
BREAKS = "\t\n\r\u2028\u2029"
FORMULAS = ["=1+1", "+cmd|' /C calc'!A0", "@SUM(A1)", "-2+3", "=HYPERLINK(\"http://x\")"]
# Accepted as text: emoji (with joiners), right-to-left scripts, CJK, full-width forms, formulas (stored as
# typed, neutralised on export), combining marks (stored NFC-composed).
ODD_TEXT = ["😀", "👨‍👩‍👧", "שלום", "مرحبا بالعالم", "华东电网", "ＡＢＣ", "e\u0301", "Ω≈ç√", "\u00a0nbsp\u00a0",
            *FORMULAS]
EMAILS_BAD = ["nope", "a@b", "a b@c.de", "x" * 250 + "@a.cn", "@SUM(A1)", "a@b.c\u202e", "a@@b.cn", "a@b.c\n"
              "d@e.cn"]
WRONG_TYPES = [[], ["a"], {}, {"a": 1}, True, False, b"bytes", (1, 2), {1}]
NUMBERS_AS_TEXT = ["NaN", "nan", "Infinity", "-Infinity", "inf", "sNaN", "1e400", "1E+999999999999", "1_000",
                   "12,34", "1,2,3", "0x10", "١٢٣٤٥٦٧٨٩٠١٢٣٤", "--5", "5-", "(5)", "1.2.3", "¥", "$ $", "1$2",
                   "=1+1", "@SUM(A1)", "twelve", "🎉"]
IMPOSSIBLE_DATES = ["2026-02-30", "2026-02-29", "2026-13-01", "2026-00-10", "0000-00-00", "9999-99-99", "9999-12-31",
                    "1899-12-31", "0001-01-01", "2026-1-32", "31/12/2026", "tomorrow", "=TODAY()", "2026-02-30T00:00",
                    "20260230", "🎉", 0, -1, 3_000_000, 1e300, float("nan"), float("inf"), date(9999, 12, 31),
                    date(1, 1, 1)]


def _inject(text: str, chars: str) -> st.SearchStrategy[str]:
    """`text` with one of `chars` put somewhere inside it (not only at the ends, which are trimmed)."""
    return st.tuples(st.integers(1, max(1, len(text) - 1)), st.sampled_from(chars)).map(
        lambda p: text[:p[0]] + p[1] + text[p[0]:])


def text_verdict(value, *, max_len: int, required: bool = False, multiline: bool = False):
    """REFUSE, or the text stored for `value`."""
    if not isinstance(value, str):
        return REFUSE
    s = unicodedata.normalize("NFC", value)
    if any("\ud800" <= c <= "\udfff" or c in CONTROL or "\x00" <= c <= "\x08" or "\x0e" <= c <= "\x1f"
           or "\x7f" <= c <= "\x9f" or c in DIRECTION for c in s):
        return REFUSE
    s = s.strip()
    if not multiline and any(c in BREAKS for c in s):
        return REFUSE
    if (required and not s) or len(s) > max_len:
        return REFUSE
    return s


def text_values(max_len: int, *, required: bool = False, multiline: bool = False) -> st.SearchStrategy:
    """Text of every sort: odd but fine, hostile, random, and around max_len (each judged by text_verdict)."""
    base = st.sampled_from(["Acme 华东", "x", "a b"])
    return st.one_of(
        st.sampled_from(ODD_TEXT),
        st.text(max_size=40),
        st.text(st.characters(codec="utf-8", categories=["L", "M", "N", "P", "S", "Z", "Cf", "Cc"]), max_size=30),
        base.flatmap(lambda t: _inject(t, CONTROL + DIRECTION + BREAKS + "\ud800")),
        st.integers(max_len - 1, max_len + 1).flatmap(lambda n: st.sampled_from(["x" * n, "华" * n, "😀" * n])),
        st.just("y" * LONG), st.just("ﷺ" * max_len),   # ﷺ is one character that NFKC makes eighteen
        st.sampled_from(["", "   ", "\n", "\t x \n"] if required else ["   "]),
        st.sampled_from(WRONG_TYPES),
    )


def text_hostile(max_len: int, *, required: bool = False, multiline: bool = False,
                 control: str = CONTROL) -> st.SearchStrategy[str]:
    """Text (a file or a sheet can hold it: no unpaired surrogate) that the field must refuse."""
    base = st.sampled_from(["Acme 华东", "x y", "😀 שלום"])
    bad = control + DIRECTION + ("" if multiline else BREAKS)
    return st.one_of(
        base.flatmap(lambda t: _inject(t, bad)),
        st.integers(max_len + 1, max_len + 3).flatmap(lambda n: st.sampled_from(["x" * n, "华" * n, "😀" * n])),
        st.just("y" * max(LONG, max_len + 1)),
        st.sampled_from(["", "   ", "\u3000"] if required else ["a" + control[0]]),
    )


def fixed_text(max_len: int) -> list:
    """A few values for PostgreSQL, which (unlike SQLite) enforces column lengths and refuses NUL."""
    return ["ﷺ" * max_len, "x" * (max_len + 1), "a\x00b", "a\ud800b"]


def money_hostile(*, allow_zero: bool = False, allow_negative: bool = False, required: bool = True,
                  below: Decimal | None = None) -> st.SearchStrategy:
    """Values an amount field must refuse."""
    bad = [*NUMBERS_AS_TEXT, *WRONG_TYPES, 10 ** 20, -(10 ** 20), 10 ** 30, "1e20", "1000000000000", "1.005",
           "0.001", float("nan"), float("inf"), Decimal("NaN"), Decimal("1e400"), 0.1 + 0.2,
           "$1000", "US$5", "€5", "5 USD"]   # another currency than the books' (CNY)
    if not allow_negative:
        bad += ["-1", "-0.01", -5, Decimal("-1"), "-¥100"]
    if not allow_zero:
        bad += ["0", "0.00", 0, "-0", Decimal("0.00")]
    if required:
        bad += ["", "  ", None]
    return st.sampled_from(bad)


def money_fine(lo: str = "0.01", hi: str = "999999999999.99") -> st.SearchStrategy:
    """(value as typed, Decimal stored): Decimal, int and text forms with separators and currency."""
    d = st.decimals(Decimal(lo), Decimal(hi), places=2)
    forms = [lambda x: x, str, lambda x: f"{x:,.2f}", lambda x: f"¥{x:,.2f}", lambda x: f" {x} RMB ",
             lambda x: f"{x}元"]
    return st.tuples(d, st.sampled_from(forms)).map(lambda p: (p[1](p[0]), p[0]))


def whole_hostile(lo: int, hi: int, *, required: bool = False) -> st.SearchStrategy:
    bad = [*NUMBERS_AS_TEXT, *WRONG_TYPES, lo - 1, hi + 1, str(hi + 1), "1.5", 2.5, 10 ** 30, "1e400",
           float("nan"), float("inf")]
    if required:
        bad += ["", None]
    return st.sampled_from([b for b in bad if b not in ("١٢٣٤٥٦٧٨٩٠١٢٣٤",)])


def whole_fine(lo: int, hi: int) -> st.SearchStrategy:
    n = st.integers(lo, hi)
    return st.one_of(n.map(lambda i: (i, i)), n.map(lambda i: (str(i), i)), n.map(lambda i: (f" {i}.0 ", i)))


def date_hostile(*, required: bool = True) -> st.SearchStrategy:
    return st.sampled_from(IMPOSSIBLE_DATES + WRONG_TYPES + (["", None] if required else []))


def date_fine(lo: date, hi: date) -> st.SearchStrategy:
    """(value as typed, date stored): a date, ISO text, 2026/1/5, 1/5/2026, 2026年1月5日."""
    forms = [lambda d: d, lambda d: d.isoformat(), lambda d: f"{d.year}/{d.month}/{d.day}",
             lambda d: f"{d.month}/{d.day}/{d.year}", lambda d: f"{d.year}年{d.month}月{d.day}日"]
    return st.tuples(st.dates(lo, hi), st.sampled_from(forms)).map(lambda p: (p[1](p[0]), p[0]))


def choice_hostile(*, required: bool = True) -> st.SearchStrategy:
    return st.sampled_from(["bogus", "=1+1", "🎉", "a" * LONG, "new\x00", "\u202ego", "go go", *WRONG_TYPES[:4],
                            *(["", None] if required else [])])


def days_from(today: date, lo: int, hi: int) -> tuple[date, date]:
    return today + timedelta(days=lo), today + timedelta(days=hi)


# -- the database's state ------------------------------------------------------------------------------

def export_checksum(url: str) -> str:
    """sha256 over the CSV export of every entity (audit included), and over the rows of every other table
    but the sync's own bookkeeping: equal before and after = nothing was written, not even an audit row."""
    return hashlib.sha256("".join(export_texts(url).values()).encode()).hexdigest()


def export_texts(url: str) -> dict[str, str]:
    """What export_checksum hashes, per entity or table (to say which one changed)."""
    exported = {m.__table__.name for m in ENTITIES.values()}
    out = {}
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        for entity in ENTITIES:
            out[entity] = to_csv(*export_rows(ctx, entity))
        for table in SQLModel.metadata.sorted_tables:
            if table.name not in exported and not table.name.startswith("sync"):
                out[table.name] = repr(ctx.session.execute(select(table).order_by(*table.primary_key.columns)).all())
    return out
