"""(being built)"""
import streamlit as st

from app import ui

ui.guard("contract.view")
st.title(ui.t("page.bids_contracts"))
