"""Overview: how many records each stage of the chain holds."""
import streamlit as st

from app import fmt, ui
from core.queries.overview import overview_counts

ui.guard("work.view")
st.title(ui.t("app.title"))
st.subheader(ui.t("home.chain"))
counts = ui.read(overview_counts)
for col, (key, value) in zip(st.columns(len(counts)), counts.items()):
    col.metric(ui.t(f"count.{key}"), fmt.number(value))
