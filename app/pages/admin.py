"""(being built)"""
import streamlit as st

from app import ui

ui.guard("user.manage")
st.title(ui.t("page.admin"))
