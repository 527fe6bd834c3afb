"""Record history: the audit timeline of any record (from the app, a sheet or an import), newest first, on the
company clock, actions in words, each event's record one click away. `?entity=<table>&id=<n>` opens one
record's history (a link from anywhere)."""
from pathlib import Path

import pandas as pd
import streamlit as st

from app import records, tables, ui
from app.i18n import catalogue
from core.queries.history import recent_activity, record_history, record_name

ui.guard("audit.view")
st.title(ui.t("page.history"))

# audit entity (table name) -> record kind of app/records.py (the page that shows it)
KINDS = {"lead": "lead", "opportunity": "opportunity", "bid": "bid", "contract": "contract", "milestone": "milestone",
         "paymentterm": "term", "invoice": "invoice", "payment": "payment", "account": "account"}
ENTITIES = ["lead", "opportunity", "bid", "contract", "paymentterm", "milestone", "costentry", "invoice", "payment",
            "allocation", "account", "stakeholder", "gatedecision", "changeorder", "acceptance", "closurereview",
            "user", "team", "delegation"]


def entity_name(table: str) -> str:
    key = f"history.table.{table}"
    return ui.t(key) if key in catalogue() else table


def follow_address() -> None:
    """An address ?entity=<table>&id=<n> chooses the record once; then the person's choice wins."""
    entity, raw = st.query_params.get("entity"), st.query_params.get("id")
    wanted = (entity, raw)
    if entity and st.session_state.get("history-from") != wanted:
        st.session_state["history-from"] = wanted
        if entity in ENTITIES:
            st.session_state["history-entity"] = entity
        try:
            st.session_state["history-id"] = int(raw) if raw and int(raw) > 0 else None
        except ValueError:
            st.warning(ui.t("record.bad_address", kind=entity_name(entity), value=str(raw)[:40]))
            st.session_state["history-id"] = None


def to_address() -> None:
    entity, rid = st.session_state.get("history-entity"), st.session_state.get("history-id")
    st.session_state["history-from"] = (entity, None if rid is None else str(int(rid)))
    if entity and rid:
        st.query_params["entity"], st.query_params["id"] = entity, str(int(rid))
    else:
        st.query_params.pop("entity", None)
        st.query_params.pop("id", None)


def open_record(entity: str, rid: int) -> None:
    """The record itself, one click away (on its own page), when the app has a page for its kind."""
    kind = KINDS.get(entity)
    if kind:
        name = ui.read(record_name, entity, rid) or rid   # "Open invoice INV-2026-0038", not "Open invoice 38"
        records.link(kind, rid, ui.t("history.open", kind=ui.t(f"record.kind.{kind}"), id=name))


def address(entity: str, rid) -> str:
    """The record's own address (its page and ?<kind>=<id>), relative to this page; '' without a page."""
    kind = KINDS.get(entity)
    page = records.PAGES.get(kind or "")
    if not page or page not in reachable:
        return ""
    return f"{Path(page).stem}?{kind}={int(rid)}"


def people(df: pd.DataFrame) -> pd.DataFrame:
    out = records.said(df)
    if "Entity" in out.columns:
        out["Record"] = [f"{entity_name(e)} {label or int(i)}"       # "Invoice INV-2026-0038", not "Invoice 38"
                         for e, i, label in zip(out["Entity"], out["Record ID"], out["Label"])]
        out = out.drop(columns=["Entity", "Label"])
    return out


follow_address()
reachable = ui.reachable_pages()
c1, c2 = st.columns([2, 1])
labels = {e: entity_name(e) for e in ENTITIES}   # words fixed at drawing time, in the person's language
entity = c1.selectbox(ui.t("history.entity"), ENTITIES, key="history-entity",
                      format_func=lambda v: labels.get(v, v), on_change=to_address)
record_id = c2.number_input(ui.t("history.id"), min_value=1, step=1, value=None, key="history-id",
                            on_change=to_address)
if record_id:
    open_record(entity, int(record_id))
    df = ui.read(record_history, entity, int(record_id), detail=True)
    tables.table(people(df), "history", key="history-record", download=f"history-{entity}-{int(record_id)}")
else:
    st.subheader(ui.t("history.recent"))
    recent = ui.read(recent_activity)
    view = tables.shown(people(recent))
    view["Open"] = [address(e, i) for e, i in zip(recent["Entity"], recent["Record ID"])]   # the record's page
    visible = [c for c in view.columns if not tables.internal(c)]
    config = tables.config(view, "history")
    config["Open"] = st.column_config.LinkColumn(ui.t("history.col.open"), display_text=ui.t("history.open_short"))
    event = st.dataframe(view, hide_index=True, width="stretch", key="history-recent", column_order=visible,
                         column_config=config, placeholder="—", on_select="rerun", selection_mode="single-row")
    st.caption(ui.t("history.click_hint"))
    rows = getattr(getattr(event, "selection", None), "rows", None) or []
    if rows and rows[0] < len(recent):
        row = recent.iloc[rows[0]]   # the address opens that record's history on the rerun
        st.query_params["entity"], st.query_params["id"] = str(row["Entity"]), str(int(row["Record ID"]))
        st.session_state.pop("history-from", None)
        st.rerun()
