"""Sync centre: recent cycles, the conflict queue with both values, refused cells, and 'Sync now'."""
import pandas as pd
import streamlit as st

from app import ui
from core import permissions
from sync.backends import backend_name
from sync.service import open_conflicts, recent_runs, refused_cells, resolve_conflict, sync_now

who = ui.guard("sync.view")
st.title(ui.t("page.sync"))
ui.flash()
st.caption(ui.t("sync.backend", backend=backend_name()))

if permissions.allowed(who.roles, "sync.run") and st.button(ui.t("sync.now"), key="sync-now", type="primary"):
    bar = st.progress(0.0, text=ui.t("sync.running"))

    def progress(done, total, key):
        bar.progress(done / total, text=ui.t("sync.progress", sheet=key, done=done, total=total))
    reports = ui.act(sync_now, progress, success=ui.t("sync.done"))
    if reports:
        st.rerun()

tab_conflicts, tab_refused, tab_runs = st.tabs([ui.t("sync.conflicts"), ui.t("sync.refused"), ui.t("sync.runs")])
with tab_conflicts:
    conflicts = ui.read(open_conflicts)
    if not conflicts:
        st.info(ui.t("sync.no_conflicts"))
    for c in conflicts:
        with st.container(border=True):
            st.markdown(ui.t("sync.conflict", tab=c["Tab"], record=c["Record"], field=c["Field"]))
            c1, c2 = st.columns(2)
            c1.metric(ui.t("sync.sheet_value"), c["Sheet value"] or "—")
            c2.metric(ui.t("sync.db_value"), c["Database value"] or "—")
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
    refused = pd.DataFrame(ui.read(refused_cells))
    if refused.empty:
        st.info(ui.t("nothing"))
    else:
        st.dataframe(refused, hide_index=True, width="stretch")
with tab_runs:
    runs = pd.DataFrame(ui.read(recent_runs))
    if runs.empty:
        st.info(ui.t("nothing"))
    else:
        st.dataframe(runs, hide_index=True, width="stretch")
        ui.downloads(runs, "sync-runs", key="sync-runs-dl")
