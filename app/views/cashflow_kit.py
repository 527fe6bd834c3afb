"""What the cash-flow page's tabs share: metric definitions as help, KPI tiles (every money tile through
fmt.compact, ratios through fmt.pct), tables through app.tables with the page's headers and coded values in
words, and chart titles in the person's language."""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import altair as alt
import pandas as pd
import streamlit as st

from app import fmt, records, tables, ui
from app.i18n import catalogue
from core import metrics as M

DEFINITIONS = getattr(M, "DEFINITIONS", {})
PREFIX = "cashflow"
# columns the page shows as whole numbers of days (never as money)
DAYS = ("median", "worst", "days", "days_past", "days_overdue")
# money and ratio columns of the page's tables
MONEY = ("bookings", "accepted", "invoiced", "collected", "contracted", "receivables", "pipeline", "total", "amount",
         "current", "overdue", "weighted", "paid", "written_off", "outstanding")
RATIOS = ("conversion", "estimate_accuracy", "budget_execution")


def helptext(*names: str) -> str | None:
    """The definitions of these metrics in the person's language, one paragraph each."""
    texts: list[str] = []
    for name in names:
        d = DEFINITIONS.get(name)
        text = (d.get(ui.lang()) or d.get("en")) if isinstance(d, dict) else None
        if text:
            texts.append(str(text))
    return "\n\n".join(texts) or None


def num(v) -> float:
    return 0.0 if fmt.is_empty(v) else float(v)


def money(v) -> str:
    """Money on a tile, every tile the same way ('28.23 M', '264.00 K'; '2,823.00 万' in Chinese)."""
    return fmt.compact(v, ui.lang())


def ratio(v) -> str:
    return fmt.pct(v)


def days(v) -> str:
    return fmt.EMPTY if fmt.is_empty(v) else f"{Decimal(str(v)):,.1f}"


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows or []))


def first(df: pd.DataFrame, col: str) -> pd.DataFrame:
    """The same table with `col` (the readable name) as its first column."""
    return df[[col, *[c for c in df.columns if c != col]]] if col in df.columns else df


def col(name: str) -> str:
    """A column's (or chart field's) name in the person's language."""
    return ui.header(PREFIX, name)


def word(prefix: str, code) -> str:
    """A code shown in words: `<prefix>.<code>` in the catalogue, else the values catalogue, else as it is."""
    if fmt.is_empty(code):
        return fmt.EMPTY
    key = f"{prefix}.{code}"
    return ui.t(key) if key in catalogue() else tables.value(code)


def bucket(label) -> str:
    """An ageing bucket: 'current' as words, '31-60' as days overdue."""
    return word("cashflow.bucket", label) if str(label) == "current" else ui.t("cashflow.bucket.days", label=label)


def step(code) -> str:
    return word("cashflow.step", code)


def tile(where, label: str, value, show: Callable, name: str, before=None, lower_is_better: bool = False) -> None:
    """A KPI tile with its change against the previous period (when that is known)."""
    delta = None
    if before is not None and value is not None:
        delta = show(Decimal(str(value)) - Decimal(str(before)))
        if not delta.startswith("-"):
            delta = "+" + delta
    where.metric(label, show(value), delta, help=helptext(name),
                 delta_color="inverse" if lower_is_better else "normal")


def table(df: pd.DataFrame, name: str, key: str, *, coded: dict[str, Callable] | None = None,
          opens: str | None = None, id_col: str = "ID") -> int | None:
    """One of the page's tables: headers `cashflow.col.<name>`, coded columns in words, days as numbers, money
    as money, ratios as %, a download of what is shown; with `opens` a clicked row offers a link to its record."""
    if df.empty:
        st.info(ui.t("nothing"))
        return None
    out = df.copy()
    for c, show in (coded or {}).items():
        if c in out.columns:
            out[c] = out[c].map(show)
    for c in out.columns:
        if c in DAYS:
            out[c] = out[c].map(lambda v: None if fmt.is_empty(v) else float(v))
    pct = tuple(c for c in out.columns if c in RATIOS or str(c).endswith("margin_rate"))
    cash = tuple(c for c in out.columns if c in MONEY or str(c).split("_")[-1] in ("revenue", "cost", "margin")
                 or c in _buckets(out))
    chosen = tables.table(out, PREFIX, key=key, money=cash, pct=pct, download=name, opens=opens, id_col=id_col)
    if opens and chosen is not None:
        records.link(opens, chosen, ui.t("cashflow.open", kind=ui.t(f"record.kind.{opens}"), id=chosen))
    return chosen


def _buckets(df: pd.DataFrame) -> tuple:
    return tuple(c for c in df.columns if str(c)[:1].isdigit())


def chart(c) -> None:
    st.altair_chart(c, width="stretch")


def tip(field: str, kind: str = "N", money: bool = False) -> alt.Tooltip:
    """A tooltip line titled in the person's language."""
    return alt.Tooltip(f"{field}:{kind}", title=col(field.lower()), format=",.2f" if money else alt.Undefined)
