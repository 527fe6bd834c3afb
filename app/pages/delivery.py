"""(being built)"""
import streamlit as st

from app import ui

ui.guard("delivery.view")
st.title(ui.t("page.delivery"))
