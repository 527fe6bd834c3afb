"""(being built)"""
import streamlit as st

from app import ui

ui.guard("opportunity.view")
st.title(ui.t("page.initiation"))
