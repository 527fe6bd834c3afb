"""Sync centre: recent cycles, the conflict queue with both values, refused cells, and 'Sync now'."""
import pandas as pd
import streamlit as st

from app import fmt, tables, ui
from app.i18n import catalogue
from core import permissions
from sync.backends import backend_name
from sync.service import open_conflicts, recent_runs, refused_cells, resolve_conflict, sync_now

who = ui.guard("sync.view")
st.title(ui.t("page.sync"))
ui.flash()


def word(prefix: str, code) -> str:
    """A code of the sync (backend, status, spreadsheet) in words: `<prefix>.<code>`, else as it is."""
    key = f"{prefix}.{code}"
    return ui.t(key) if key in catalogue() else fmt.text(code)


def people(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for col, prefix in (("Status", "sync.status"), ("Backend", "sync.backend"), ("Spreadsheet", "sync.sheet")):
        if col in df.columns:
            df[col] = df[col].map(lambda v, p=prefix: word(p, v))
    return df


st.caption(ui.t("sync.backend", backend=word("sync.backend", backend_name())))

if permissions.allowed(who.roles, "sync.run") and st.button(ui.t("sync.now"), key="sync-now", type="primary"):
    bar = st.progress(0.0, text=ui.t("sync.running"))

    def progress(done, total, key):
        bar.progress(done / total, text=ui.t("sync.progress", sheet=word("sync.sheet", key), done=done, total=total))
    reports = ui.act(sync_now, progress, success=ui.t("sync.done"))
    if reports:
        st.rerun()

tab_conflicts, tab_refused, tab_runs = st.tabs([ui.t("sync.conflicts"), ui.t("sync.refused"), ui.t("sync.runs")],
                                               key="sync-tab")
with tab_conflicts:
    conflicts = ui.read(open_conflicts)
    if not conflicts:
        st.info(ui.t("sync.no_conflicts"))
    for c in conflicts:
        with st.container(border=True):
            field = word("history.field", c["Field"])   # the field in words (the history's field names)
            st.markdown(ui.t("sync.conflict", tab=c["Tab"], record=c["Record"], field=field))
            c1, c2 = st.columns(2)
            c1.metric(ui.t("sync.sheet_value"), fmt.text(c["Sheet value"]))
            c2.metric(ui.t("sync.db_value"), fmt.text(c["Database value"]))
            b1, b2, b3 = st.columns([1, 1, 2])
            if b1.button(ui.t("sync.take_sheet"), key=f"sync-sheet-{c['ID']}"):
                if ui.act(resolve_conflict, c["ID"], "sheet"):
                    st.rerun()
            if b2.button(ui.t("sync.keep_db"), key=f"sync-db-{c['ID']}"):
                if ui.act(resolve_conflict, c["ID"], "db"):
                    st.rerun()
            with b3.form(f"sync-other-{c['ID']}", border=False):
                other = st.text_input(ui.t("sync.other_value"), key=f"sync-other-value-{c['ID']}")
                if st.form_submit_button(ui.t("sync.enter_other")):
                    if ui.act(resolve_conflict, c["ID"], "other", other):
                        st.rerun()
with tab_refused:
    tables.table(people(ui.read(refused_cells)), "sync", key="sync-refused")
with tab_runs:
    tables.table(people(ui.read(recent_runs)), "sync", key="sync-runs", download="sync-runs")
