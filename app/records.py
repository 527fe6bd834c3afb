"""Every record has an address: its page with `?<kind>=<id>` (for example `initiation?opportunity=61`). My work,
lists (a clicked row), kanban cards, the record history and messages all link to it; a pasted link and the
browser's back button open the same record. A page reads the address through `opened`/`picker`, never by hand."""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping

import pandas as pd
import streamlit as st

from app import ui
from core.errors import LtcError

# kind -> the page that shows it (the query parameter is the kind's name)
PAGES = {
    "lead": "screens/leads.py",
    "opportunity": "screens/initiation.py",
    "bid": "screens/bids_contracts.py",
    "contract": "screens/bids_contracts.py",
    "milestone": "screens/delivery.py",
    "term": "screens/cash.py",
    "invoice": "screens/cash.py",
    "payment": "screens/cash.py",
    "account": "screens/cash.py",
}


def opened(kind: str) -> int | None:
    """The record the address names, or None. A malformed id is treated as no address (and said so)."""
    raw = st.query_params.get(kind)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        st.warning(ui.t("record.bad_address", kind=ui.t(f"record.kind.{kind}"), value=str(raw)[:40]))
        del st.query_params[kind]
        return None
    return value


def including_addressed(kind: str, options: dict[int, str], label: Callable[[int], str]) -> dict[int, str]:
    """The options of a picker, plus the record the address names when the list does not show it (a won bid, a
    contract the filter hides): `label(id)` reads it through core. One core refuses (not there, not this
    person's) is left out, and the picker then says the address names nothing this person can see."""
    wanted = opened(kind)
    if wanted is not None and wanted not in options:
        try:
            return {**options, wanted: label(wanted)}
        except LtcError:
            pass
    return options


def go(kind: str, record_id: int | None) -> None:
    """Put the record into the address (None: take it out), so Reload, back and a copied link keep it."""
    if record_id is None:
        st.query_params.pop(kind, None)
    else:
        st.query_params[kind] = str(int(record_id))


def picker(kind: str, options: Mapping[int, str], *, label: str | None = None, key: str | None = None,
           where=st) -> int | None:
    """Choose one record of a kind: nothing is chosen until the person (or the address) chooses; the choice goes
    into the address. An address naming a record the person cannot see says so and reveals nothing else."""
    key = key or f"pick-{kind}"
    wanted = opened(kind)
    # the address leads: a link, a clicked row, Back or Forward change it, and the picker follows (a choice the
    # person makes goes into the address first, by _follow, so the two never disagree otherwise)
    if st.session_state.get(key) is not None and not isinstance(st.session_state.get(key), int):
        st.session_state[key] = None      # an old label instead of an id (see _follow): the address decides
    if wanted is not None and st.session_state.get(key) != wanted:
        if wanted in options:
            st.session_state[key] = wanted
        else:
            st.warning(ui.t("record.not_visible", kind=ui.t(f"record.kind.{kind}"), id=wanted))
            st.session_state[key] = None
    if st.session_state.get(key) not in options:
        st.session_state[key] = None
    choice = where.selectbox(label or ui.t(f"record.kind.{kind}"), list(options), key=key, index=None,
                             placeholder=ui.t("record.choose"), format_func=lambda v: options.get(v, str(v)),
                             on_change=lambda: _follow(kind, key))
    return choice


def _follow(kind: str, key: str) -> None:
    """The person chose in the picker: the choice goes into the address. The browser sends the chosen option's
    label; when that label changed since it was drawn (the record moved on: "· Planned" is now "· Accepted"),
    Streamlit hands over the old label instead of the id: the address then stays, and the picker follows it."""
    choice = st.session_state.get(key)
    if choice is None or isinstance(choice, int):
        go(kind, choice)


def link(kind: str, record_id: int, label: str, *, where=st, tab: str | None = None) -> None:
    """A link to a record's address (on one of its tabs: ?tab=), or the label alone when the person may not
    open its page."""
    page = PAGES[kind]
    if page in ui.reachable_pages():
        where.page_link(page, label=label, query_params={kind: str(int(record_id)), **({"tab": tab} if tab else {})},
                        icon=":material/arrow_forward:")
    else:
        where.markdown(label)


def clicked(event, df: pd.DataFrame, id_col: str = "ID") -> int | None:
    """The record of the row a person clicked in a table drawn with on_select='rerun'."""
    rows = getattr(getattr(event, "selection", None), "rows", None) or []
    if not rows or df.empty or rows[0] >= len(df):
        return None
    return int(df.iloc[rows[0]][id_col])


def history(entity: str, record_id: int, *, key: str) -> None:
    """The record's own history (who, when, what), newest first, for people who may read the audit trail."""
    from app import tables
    from core.queries.history import record_history

    if not ui.can("audit.view"):
        return
    with st.expander(ui.t("record.history")):
        tables.table(said(ui.read(record_history, entity, int(record_id), detail=True)), "history", key=key)


# -- a history in the person's words (record_history(detail=True)): fields, values and sources ---------------
_AMOUNT = re.compile(r"-?\d+\.\d{2}")


def said(df: pd.DataFrame) -> pd.DataFrame:
    """Changed fields and their values in words (history.field.<name>, the values catalogue, amounts with
    separators, empty as '—'), and where each change came from (history.source.<kind>)."""
    out = df.copy()
    if "Changes" in out.columns:
        out["Changes"] = out["Changes"].map(_worded)
    if "Source" in out.columns:
        out["Source"] = out["Source"].map(_source)
    return out


def _known(key: str) -> bool:
    from app.i18n import catalogue

    return key in catalogue()


def _worded(fields) -> str:
    from app import fmt

    if not isinstance(fields, list):
        return fmt.text(fields)
    return "; ".join(ui.t("history.change", field=_field(k), before=_value(old, k), after=_value(new, k))
                     for k, old, new in fields if k != "id")


def _field(name: str) -> str:
    return ui.t(f"history.field.{name}") if _known(f"history.field.{name}") else name.replace("_", " ")


RATES = ("percent", "tax_rate", "probability", "retention_pct")   # stored as fractions: 0.300000 is 30.0%


def _value(value, field: str = "") -> str:
    from app import fmt, tables

    if field in RATES and not fmt.is_empty(value):
        rate = fmt.pct(value)
        return rate if rate != fmt.EMPTY else fmt.text(value)
    if field.endswith("_json") and isinstance(value, str):   # a plan kept as data: say how many lines, not JSON
        try:
            return ui.t("history.lines", n=len(json.loads(value) or []))
        except (ValueError, TypeError):
            return fmt.EMPTY
    if isinstance(value, bool):
        return ui.t("history.yes") if value else ui.t("history.no")
    if isinstance(value, str) and _AMOUNT.fullmatch(value):   # amounts are stored as text with two decimals
        return fmt.money(value)
    return fmt.EMPTY if fmt.is_empty(value) else tables.value(value)


def _source(code) -> str:
    """Where a change came from: the app, a sheet's tab ('sheet:leads'), an import, the command line."""
    text = str(code or "")
    kind, _, tab = text.partition(":")
    key = f"history.source.{kind}"
    if not _known(key):
        return text
    return ui.t(key, tab=tab) if "{tab}" in ui.t(key) else ui.t(key)

