"""(being built)"""
import streamlit as st

from app import ui

ui.guard("lead.view")
st.title(ui.t("page.leads"))
