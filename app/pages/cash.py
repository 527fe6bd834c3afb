"""(being built)"""
import streamlit as st

from app import ui

ui.guard("billing.view")
st.title(ui.t("page.cash"))
