"""Streamlit entry point: sign-in (local accounts, or OpenID Connect when [auth] is in the secrets), the
language switch, and a navigation built from the person's roles: a page they may not use is not registered."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import tables, ui
from app.nav import PAGES, pages_for
from config.settings import get_settings
from core.context import SYSTEM, unit_of_work
from core.errors import LtcError
from core.services import users

st.set_page_config(page_title="LTC 线索到回款", page_icon="💴", layout="wide")

if "lang" not in st.session_state:
    st.session_state["lang"] = get_settings().lang
st.sidebar.radio(ui.t("language"), ["en", "zh"], key="lang", horizontal=True,
                 format_func=lambda v: "English" if v == "en" else "中文")


def _oidc() -> dict | None:
    """The [auth] section of Streamlit's secrets, when OpenID Connect is configured."""
    try:
        return dict(st.secrets["auth"]) if "auth" in st.secrets else None
    except Exception:   # no secrets file at all
        return None


def _claims() -> tuple[str, bool | None]:
    """The signed-in person's e-mail address and whether the identity provider verified it, as the provider
    gave them (a claim it did not give, or gave as something else, as none)."""
    email, verified = st.user.get("email"), st.user.get("email_verified")
    return (email if isinstance(email, str) else "", verified if isinstance(verified, bool) else None)


def _sign_in() -> None:
    st.title(ui.t("app.title"))
    oidc = _oidc()
    if oidc:
        if not st.user.is_logged_in:
            if st.button(ui.t("login.sso")):
                st.login()
            st.stop()
        try:
            email, verified = _claims()
            with unit_of_work(SYSTEM, "app") as ctx:
                st.session_state["actor"] = users.actor_for_email(ctx, email, oidc.get("allowed_domain"),
                                                                  verified=verified)
            st.rerun()
        except LtcError as exc:
            st.error(ui.words(exc))
            st.stop()
    with st.form("login"):
        login = st.text_input(ui.t("login.login"))
        password = st.text_input(ui.t("login.password"), type="password")
        if st.form_submit_button(ui.t("login.submit")):
            try:
                with unit_of_work(SYSTEM, "app") as ctx:
                    st.session_state["actor"] = users.authenticate(ctx, login, password)
                st.rerun()
            except LtcError as exc:
                st.error(ui.words(exc))
    st.stop()


actor = st.session_state.get("actor")
if actor is None:
    # Every page's address answers with the sign-in form, so a pasted link or a reloaded tab (a new session)
    # keeps its path and ?<kind>=<id> through the sign-in and opens the record right after it.
    asked = st.navigation([st.Page(_sign_in, title=ui.t("login.title"), default=True)]
                          + [st.Page(_sign_in, title=ui.t("login.title"), url_path=Path(p.path).stem)
                             for p in PAGES[1:]], position="hidden")
    st.session_state["asked_for"] = asked.url_path     # said after sign-in when the person may not open it
    asked.run()
    st.stop()

st.sidebar.caption(ui.t("signed_in", name=actor.name or actor.login,
                        roles=", ".join(tables.value(r) for r in sorted(actor.roles))))
if st.sidebar.button(ui.t("logout"), key="logout"):
    st.session_state.pop("actor", None)
    if _oidc() and st.user.is_logged_in:
        st.logout()
    st.rerun()

mine = pages_for(actor.roles)
asked_for = st.session_state.pop("asked_for", "")
if asked_for and asked_for not in {Path(p.path).stem for p in mine}:
    st.warning(ui.t("page.not_yours"))   # a link to a page these roles do not open: say so, show nothing of it
nav = st.navigation([st.Page(p.path, title=ui.t(p.title), icon=p.icon) for p in mine])
nav.run()
