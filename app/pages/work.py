"""(being built)"""
import streamlit as st

from app import ui

ui.guard("work.view")
st.title(ui.t("page.work"))
