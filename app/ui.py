"""What every page shares: the signed-in person, the language, reading and acting through core, downloads
and saving edited tables. Pages stay thin: no SQL and no business rules here either."""
from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from app.i18n import t as _t
from config.settings import get_settings
from core import messages, permissions, validate
from core.context import Actor, perform, unit_of_work
from core.errors import LtcError
from core.exports import CSV_LINE_END, neutralise


def lang() -> str:
    return st.session_state.get("lang") or get_settings().lang


def t(key: str, **kwargs) -> str:
    return _t(key, lang(), **kwargs)


def actor() -> Actor:
    """The signed-in person, or stop the page (the frame shows the sign-in form)."""
    who = st.session_state.get("actor")
    if who is None:
        st.warning(t("login.title"))
        st.stop()
    return who


def guard(view: str) -> Actor:
    """Every page checks its own view permission too: hiding it in the navigation is not enough."""
    who = actor()
    if not permissions.allowed(who.roles, view):
        st.error(t("no_access"))
        st.stop()
    return who


CAN_SECONDS = 2.0   # how long a page run's answer stands: one read per run, not one per button


def can(action: str) -> bool:
    """Whether to offer a form or button, as core answers it now (the person's roles, or a decision delegated to
    them); the core service checks the permission again on submit."""
    from core.queries.offers import allowed_actions

    who, now = actor(), time.monotonic()
    kept = st.session_state.get("_allowed_actions")
    if kept is None or kept[0] != who.id or now - kept[1] > CAN_SECONDS:
        kept = (who.id, now, read(allowed_actions))
        st.session_state["_allowed_actions"] = kept
    return action in kept[2]


def header(prefix: str, col: str) -> str:
    """One column's header in the person's language: key `<prefix>.col.<slug of col>`, else col itself."""
    from app.i18n import catalogue

    slug = "".join(ch if ch.isalnum() else "_" for ch in col.lower().replace("%", "pct")).strip("_")
    key = f"{prefix}.col.{slug}"
    return t(key) if key in catalogue() else col


def column_labels(df: pd.DataFrame, prefix: str, **config) -> dict:
    """st.column_config for a table: each header in the person's language (key `<prefix>.col.<name>`, the
    column's own name when there is none), merged with any column's own config."""
    out = {}
    for col in df.columns:
        label = header(prefix, col)
        out[col] = config.get(col) or st.column_config.Column(label)
        if col in config:
            out[col]["label"] = label
    return out


def read(fn: Callable, *args, **kwargs) -> Any:
    """Run a query service as the signed-in person, in one short session."""
    with unit_of_work(actor(), "app") as ctx:
        return fn(ctx, *args, **kwargs)


def act(fn: Callable, *args, success: str | Callable[[Any], str] | None = None, where: str | None = None,
        request_key: str | None = None, labels: dict[str, str] | None = None, **kwargs) -> Any:
    """Run a service on submit; a refusal is shown as the core wrote it and changes nothing. `where` names the
    place the person acted (a form), so the message appears there and survives the rerun after a save;
    `request_key` makes the write happen once however often the submit arrives (core.idempotency). A form's
    every refused field is shown at once, each named by its label (`labels`: field -> label shown). `success`
    may be a function of the service's result (the new record's number, say)."""
    try:
        result = perform(actor(), fn, *args, request_key=request_key, **kwargs)
    except LtcError as exc:
        for error in getattr(exc, "errors", None) or [exc]:
            say(where, "error", refusal(error, labels or {}))
        return None
    say(where, "success", success(result) if callable(success) else success or t("saved"))
    return result if result is not None else True


def words(text: object) -> str:
    """Core's words (a refusal's text, an offer's reason) in the person's language (core.messages)."""
    from app.tables import value   # a stored code inside them as its word ('atb_pending' → 'Awaiting ATB')

    return messages.say(getattr(text, "text", text), lang(), words=value)


def refusal(error: LtcError, labels: dict[str, str] | None = None) -> str:
    """Core's message in the person's language, its field named as the form labels it ('amount: ...' → 'Amount
    received: ...')."""
    text = words(error)
    field = getattr(error, "field", None)
    labels = labels or {}
    if field and field in labels and text.startswith(f"{field}: "):
        return f"{labels[field]}: {text[len(field) + 2:]}"
    return text


def tiles(items, per_row: int = 3) -> None:
    """KPI tiles, `per_row` to a row: (label, value) or (label, value, delta). Three to a row keep a contract
    amount (3,729,000.00) and a date whole; five or more in a row cut them to "3,729,0…"."""
    items = list(items)
    for start in range(0, len(items), per_row):
        for col, item in zip(st.columns(per_row), items[start:start + per_row]):
            col.metric(*item)


def limit(field: str) -> int:
    """The longest text core takes for the field: inputs are limited to it (max_chars)."""
    return validate.limit(field)


def say(where: str | None, kind: str, text: str | tuple) -> None:
    """A message for the place `where` (None: the top of the page), shown by `flash(where)` on this run or,
    after a save's rerun, on the next one. Kind "link" shows a link to a record: text is (kind, id, label)."""
    box = st.session_state.get("flash")
    if not isinstance(box, dict):
        box = st.session_state["flash"] = {}
    box.setdefault(where or "", []).append((kind, text))
    if kind == "error":   # a refusal is shown now; the page does not rerun after it
        flash(where)


def flash(where: str | None = None) -> None:
    """Show the messages kept for this place once."""
    box = st.session_state.get("flash")
    if not isinstance(box, dict):
        return
    for kind, text in box.pop(where or "", []):
        if kind == "link":   # a record the message names: (kind, id, label), one click away
            from app import records
            records.link(*text)
        else:
            getattr(st, kind)(text)


def reachable_pages() -> set[str]:
    from app.nav import pages_for

    return {p.path for p in pages_for(actor().roles)}


def downloads(df: pd.DataFrame, name: str, key: str | None = None) -> None:
    """CSV and XLSX of a table; text cells that look like formulas are neutralised. The files are built
    only when someone clicks (Streamlit calls the function then), not on every run of the page."""
    c1, c2 = st.columns(2)
    c1.download_button(t("download.csv"), lambda: _csv(_safe(df)), f"{name}.csv",
                       "text/csv", key=f"{key or name}-csv")
    c2.download_button(t("download.xlsx"), lambda: _xlsx(_safe(df)), f"{name}.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key or name}-xlsx")


def _safe(df: pd.DataFrame) -> pd.DataFrame:
    safe = df.map(neutralise) if not df.empty else df.copy()
    safe.columns = [neutralise(c) for c in safe.columns]   # a header written from data must not run either
    for col in safe.select_dtypes(include=["datetimetz"]).columns:   # Excel has no time zones: show UTC
        safe[col] = safe[col].dt.tz_localize(None)
    return safe


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, lineterminator=CSV_LINE_END).encode("utf-8-sig")   # why CRLF: core.exports


def _xlsx(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_excel(buf, index=False, engine="openpyxl")
    return buf.getvalue()


def seen(key: str, editor: str, load: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The table as the person saw it when they started editing: read afresh on every run until the editor
    (its widget key) holds edits, then kept until they save or reload, so a save carries the versions they
    saw and someone else's change in between is refused rather than overwritten."""
    edits = st.session_state.get(editor) or {}
    if key not in st.session_state or not edits.get("edited_rows"):
        st.session_state[key] = load()
    return st.session_state[key]


def changed_rows(before: pd.DataFrame, after: pd.DataFrame, id_col: str = "ID") -> list[tuple[Any, dict]]:
    """What a person changed in a st.data_editor table, keyed by record ID (never by row position):
    [(id, {column: new value})]. Rows are compared by ID, so sorting the table changes nothing."""
    old = before.set_index(id_col)
    out = []
    for _, row in after.iterrows():
        rid = row[id_col]
        if rid not in old.index:
            continue
        changes = {col: row[col] for col in after.columns
                   if col != id_col and col in old.columns and not _same(old.at[rid, col], row[col])}
        if changes:
            out.append((rid, changes))
    return out


def _same(a, b) -> bool:
    """Equal, treating the table's empty cells (None, NaN, NaT) as one value."""
    try:
        if pd.isna(a) and pd.isna(b):
            return True
    except (TypeError, ValueError):
        pass
    return bool(a == b)


def save_edits(before: pd.DataFrame, after: pd.DataFrame, save: Callable[[Any, int, int, dict], Any],
               id_col: str = "ID", version_col: str = "Version", *, where: str | None = None) -> int:
    """Save each changed row through `save(ctx, id, version_seen, changes)` with the version the person saw;
    a stale row is refused with the core's message (naming who changed it). Returns rows saved. The messages
    go to `where`, the edit table's place (the page shows them there with `flash(where)`)."""
    saved = 0
    for rid, changes in changed_rows(before, after, id_col):
        version = int(before.set_index(id_col).at[rid, version_col])
        changes.pop(version_col, None)
        # the version is passed by name: perform never re-runs a save whose version the person gave
        if act(lambda ctx, rid, *, version, changes: save(ctx, rid, version, changes), int(rid),
               version=version, changes=changes, where=where):
            saved += 1
    return saved
