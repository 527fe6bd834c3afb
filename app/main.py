"""Streamlit entry point: sign-in, language switch and the landing page."""
from __future__ import annotations

import os

import streamlit as st

from app.i18n import t
from core.context import SYSTEM, unit_of_work
from core.errors import LtcError
from core.queries import overview_counts
from core.services import users

st.set_page_config(page_title="LTC", page_icon="💴", layout="wide")
lang = st.sidebar.radio("Language / 语言", ["en", "zh"], format_func=lambda v: "English" if v == "en" else "中文",
                        index=0 if os.environ.get("LTC_LANG", "en") == "en" else 1, key="lang")

actor = st.session_state.get("actor")
if actor is None:
    st.title(t("app.title", lang))
    with st.form("login"):
        login = st.text_input(t("login.login", lang))
        password = st.text_input(t("login.password", lang), type="password")
        if st.form_submit_button(t("login.submit", lang)):
            try:
                with unit_of_work(SYSTEM, "app") as ctx:
                    st.session_state["actor"] = users.authenticate(ctx, login, password)
                st.rerun()
            except LtcError as exc:
                st.error(str(exc))
    st.stop()

if st.sidebar.button(t("logout", lang)):
    del st.session_state["actor"]
    st.rerun()

st.title(t("app.title", lang))
st.caption(t("home.signed_in", lang, name=actor.name or actor.login, roles=", ".join(sorted(actor.roles))))
st.subheader(t("home.chain", lang))
with unit_of_work(SYSTEM, "app") as ctx:
    counts = overview_counts(ctx.session)
for col, (key, value) in zip(st.columns(len(counts)), counts.items()):
    col.metric(t(f"count.{key}", lang), f"{value:,}")
