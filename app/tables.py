"""Tables as people read them: headers and coded values in their language, money with separators and two
decimals, ratios as percentages, times on the company clock, '—' in empty cells, no internal columns (ids,
versions), and a clicked row opening its record's address."""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from app import fmt, records, ui

if TYPE_CHECKING:   # the type of st.column_config's columns; Streamlit keeps it in an internal module
    from streamlit.elements.lib.column_types import ColumnConfig

# columns whose cells are stored codes (stages, statuses, ...): shown through the values catalogue
CODED = ("Status", "Stage", "Trigger", "Kind", "Decision", "Grade", "Result", "Authority", "Need", "Stance",
         "Reviewer", "Role", "Roles", "From", "To", "Calculation", "Level kind", "Step")
LISTED = ("Waits for",)   # several codes, comma-separated (the steps a pending approval step waits for)
INTERNAL_SUFFIXES = (" ID", "_id")


def internal(col: str) -> bool:
    """Ids, versions and foreign keys are for the page, not for people."""
    return col in ("ID", "Version", "id", "version") or col.endswith(INTERNAL_SUFFIXES)


def value(code) -> str:
    """A stored code in the person's language ('partly_paid' → '部分回款'); other text as it is."""
    if fmt.is_empty(code):
        return fmt.EMPTY
    text = str(code)
    key = f"value.{text}"
    from app.i18n import catalogue

    if key in catalogue():
        return ui.t(key)
    if "," in text:   # a list of codes, e.g. roles "ar,leader"
        parts = [p.strip() for p in text.split(",")]
        if all(f"value.{p}" in catalogue() for p in parts if p):
            return ", ".join(ui.t(f"value.{p}") for p in parts if p)
    return text


def action(code) -> str:
    """An audit action ('payment.record') as words."""
    from app.i18n import catalogue

    key = f"action.{code}"
    return ui.t(key) if key in catalogue() else str(code)


def shown(df: pd.DataFrame, coded: tuple[str, ...] = CODED, actions: tuple[str, ...] = ("Action",)) -> pd.DataFrame:
    """The frame as displayed: codes translated, times local, money and ratios as numbers the table formats."""
    out = df.copy()
    for col in out.columns:
        series = out[col]
        if col in coded:
            out[col] = series.map(value)
        elif col in LISTED:
            out[col] = series.map(lambda v: ", ".join(value(c) for c in str(v).split(", ")) if v else v)
        elif col in actions:
            out[col] = series.map(action)
        elif isinstance(series.dtype, pd.DatetimeTZDtype):
            out[col] = series.dt.tz_convert(fmt.LOCAL).dt.tz_localize(None)
        elif series.dtype == object and _all(series, Decimal):
            out[col] = series.map(lambda v: None if fmt.is_empty(v) else float(v))   # display only
        elif series.dtype == object:   # an empty text is shown as the table's placeholder (—), not as a blank
            out[col] = series.map(lambda v: None if isinstance(v, str) and not v.strip() else v)
    return out


def money_columns(df: pd.DataFrame) -> tuple[str, ...]:
    """The columns holding Decimal amounts (before `shown` makes them numbers for display)."""
    return tuple(c for c in df.columns if df[c].dtype == object and _all(df[c], Decimal))


def _all(series: pd.Series, kind) -> bool:
    present = series.dropna()
    return not present.empty and all(isinstance(v, kind) for v in present)


def _money_width(values: pd.Series, label: str) -> int:
    """Pixels that show the column's longest amount (with separators) and its header whole."""
    longest = max((len(f"{float(v):,.2f}") for v in values if not fmt.is_empty(v)), default=4)
    header = sum(2 if ord(ch) > 0x2E7F else 1 for ch in label)   # a CJK character is two wide
    return 8 * max(longest, header) + 32


def config(df: pd.DataFrame, prefix: str, *, money: tuple[str, ...] = (), pct: tuple[str, ...] = (),
           extra: Mapping[str, ColumnConfig] | None = None) -> dict[str, ColumnConfig]:
    """column_config: translated headers, money as accounting figures, ratios as percentages."""
    extra = extra or {}
    money = tuple(money) + money_columns(df)
    out: dict[str, ColumnConfig] = {}
    for col in df.columns:
        label = ui.header(prefix, col)
        if col in extra:
            out[col] = {**extra[col], "label": label}
        elif col in pct:   # shown as hundredths by `table`: one decimal on every row, not 30% beside 29.75%
            out[col] = st.column_config.NumberColumn(label, format="%.1f%%")
        elif col in money:   # wide enough for its longest figure: a clipped 1,206,500.00 read "6,500.00"
            out[col] = st.column_config.NumberColumn(label, format="accounting", width=_money_width(df[col], label))
        elif isinstance(df[col].dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(df[col]):
            out[col] = st.column_config.DatetimeColumn(label, format="YYYY-MM-DD HH:mm")
        else:
            out[col] = st.column_config.Column(label)
    return out


def table(df: pd.DataFrame, prefix: str, *, key: str, opens: str | None = None, id_col: str = "ID",
          money: tuple[str, ...] = (), pct: tuple[str, ...] = (), hide: tuple[str, ...] = (),
          download: str | None = None, empty: str | None = None) -> int | None:
    """Draw a read-only table. With `opens=<kind>` a clicked row opens that record (its address is set and the
    record returned). `download` offers CSV/XLSX of what is shown (translated, without internal columns)."""
    if df.empty:
        st.caption(empty or ui.t("nothing"))
        return None
    money = tuple(money) + money_columns(df)
    view = shown(df)
    for col in pct:
        if col in view.columns:
            view[col] = (pd.to_numeric(view[col], errors="coerce") * 100).round(6)   # not 154.20000000000002
    visible = [c for c in view.columns if not internal(c) and c not in hide]
    column_config = config(view, prefix, money=money, pct=pct)
    event = None
    if opens:   # a clicked row is selected, and the page reruns to open it
        # the selection is a row position: when the table shows other records (a filter, "show all"), a row
        # chosen before is dropped, so it does not open whatever record now sits at that position
        ids = tuple(df[id_col].tolist()) if id_col in df else ()
        if st.session_state.get(f"{key}-ids", ids) != ids:
            st.session_state[key] = {"selection": {"rows": [], "columns": [], "cells": []}}
        st.session_state[f"{key}-ids"] = ids
        event = st.dataframe(view, hide_index=True, width="stretch", key=key, column_order=visible,
                             column_config=column_config, placeholder=fmt.EMPTY, on_select="rerun",
                             selection_mode="single-row")
    else:
        st.dataframe(view, hide_index=True, width="stretch", key=key, column_order=visible,
                     column_config=column_config, placeholder=fmt.EMPTY)
    if download:
        people = view[visible].rename(columns=lambda c: ui.header(prefix, c))
        ui.downloads(people, download, key=f"{key}-dl")
    if opens:
        chosen = records.clicked(event, df, id_col)
        if chosen is not None and st.session_state.get(f"{key}-clicked") != chosen:   # a new click, not the old one
            st.session_state[f"{key}-clicked"] = chosen
            records.go(opens, chosen)
            st.rerun()
        return chosen
    return None
