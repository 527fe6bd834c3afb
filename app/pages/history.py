"""Record history: the audit timeline of any record (from the app, a sheet or an import)."""
import streamlit as st

from app import ui
from core.queries.history import TABLES, recent_activity, record_history

ui.guard("audit.view")
st.title(ui.t("page.history"))
c1, c2 = st.columns([2, 1])
entity = c1.selectbox(ui.t("history.entity"), sorted(TABLES), key="history-entity")
record_id = c2.number_input(ui.t("history.id"), min_value=1, step=1, value=None, key="history-id")
if record_id:
    df = ui.read(record_history, entity, int(record_id))
    if df.empty:
        st.info(ui.t("nothing"))
    else:
        st.dataframe(df, hide_index=True, width="stretch")
        ui.downloads(df, f"history-{entity}-{int(record_id)}")
else:
    st.subheader(ui.t("history.recent"))
    st.dataframe(ui.read(recent_activity), hide_index=True, width="stretch")
