"""Streamlit entry point: who is signed in (the sign-in cookie of app/signin.py for local accounts, or OpenID
Connect when [auth] is in the secrets), the language switch, and a navigation built from the person's roles:
a page they may not use is not registered (its address says so and shows nothing of it)."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlencode

import streamlit as st

from app import signin, tables, ui
from app.i18n import LANGS
from app.nav import PAGES, pages_for
from config.settings import get_settings
from core import incidents
from core.context import SYSTEM, unit_of_work
from core.errors import LtcError
from core.services import signins, users

st.set_page_config(page_title="LTC 线索到回款", page_icon="💴", layout="wide")

if "lang" not in st.session_state:
    chosen = st.context.cookies.get(signin.LANG_COOKIE)   # the language this browser chose (/language)
    st.session_state["lang"] = chosen if chosen in LANGS else get_settings().lang


def _here(path: str) -> str:
    """This page's address with its ?<kind>=<id>, quoted for a `next=` (to come back to it)."""
    return quote("/" + path + ("?" + urlencode(st.query_params.to_dict()) if st.query_params else ""), safe="")


def _language_switch(path: str) -> None:
    """English | 中文 as links to /language, which keeps the choice in a cookie and loads the same address
    again: a fresh page, because the browser keeps the old words of a widget whose options were relabelled."""
    shown = []
    for code, name in (("en", "English"), ("zh", "中文")):
        if code == ui.lang():
            shown.append(f"<b>{name}</b>")
        else:
            shown.append(f'<a href="/language?to={code}&amp;next={_here(path)}" target="_self">{name}</a>')
    st.sidebar.caption(ui.t("language"))
    st.sidebar.markdown(" · ".join(shown), unsafe_allow_html=True)


def _claims() -> tuple[str, bool | None]:
    """The signed-in person's e-mail address and whether the identity provider verified it, as the provider
    gave them (a claim it did not give, or gave as something else, as none)."""
    email, verified = st.user.get("email"), st.user.get("email_verified")
    return (email if isinstance(email, str) else "", verified if isinstance(verified, bool) else None)


def _sign_in() -> None:
    st.title(ui.t("app.title"))
    oidc = signin.oidc()
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
    # local accounts sign in on /signin (a page load without a sign-in goes there first); this shows when a
    # sign-in ended while the tab stayed open: the link comes back to the same address
    st.info(ui.t("login.again"))
    st.markdown(f'<a href="/signin?next={_here(st.session_state.get("asked_for", ""))}" target="_self">'
                f'{ui.t("login.submit")}</a>', unsafe_allow_html=True)
    st.stop()


def _signed_in():
    """The person of this session. A local account's sign-in cookie is checked on every run, so a Reload or a
    pasted link (a new session) finds the person again, and a sign-out in another tab, an expired sign-in or
    a deactivated account ends this tab's work at its next click; roles changed meanwhile apply at once."""
    kept = st.session_state.get("actor")
    if kept is not None and "sign_in" not in st.session_state:
        return kept   # signed in through OpenID Connect (or by a test)
    token = None if signin.oidc() else st.context.cookies.get(signin.COOKIE)
    with unit_of_work(SYSTEM, "app") as ctx:
        found = signins.actor_for_token(ctx, token)
    if found is None:
        st.session_state.pop("actor", None)
        st.session_state.pop("sign_in", None)
    else:
        st.session_state["actor"], st.session_state["sign_in"] = found, token
    return found


actor = _signed_in()
if actor is None:
    # Every page's address answers with the sign-in form, so a pasted link or a reloaded tab (a new session)
    # keeps its path and ?<kind>=<id> through the sign-in and opens the record right after it.
    asked = st.navigation([st.Page(_sign_in, title=ui.t("login.title"), default=True)]
                          + [st.Page(_sign_in, title=ui.t("login.title"), url_path=Path(p.path).stem)
                             for p in PAGES[1:]], position="hidden")
    st.session_state["asked_for"] = asked.url_path
    asked.run()
    st.stop()

st.sidebar.caption(ui.t("signed_in", name=actor.name or actor.login,
                        roles=", ".join(tables.value(r) for r in sorted(actor.roles))))
if st.sidebar.button(ui.t("logout"), key="logout"):
    with unit_of_work(SYSTEM, "app") as ctx:
        signins.close_sign_in(ctx, st.session_state.pop("sign_in", None))   # every tab of this browser too
    st.session_state.pop("actor", None)
    if signin.oidc() and st.user.is_logged_in:
        st.logout()
    st.rerun()


def _not_yours() -> None:
    st.warning(ui.t("page.not_yours"))   # a link to a page these roles do not open: say so, show nothing of it


mine = pages_for(actor.roles)
others = [p for p in PAGES if p not in mine]
nav = st.navigation([st.Page(p.path, title=ui.t(p.title), icon=p.icon) for p in mine]
                    + [st.Page(_not_yours, title=ui.t("page.not_yours_title"), url_path=Path(p.path).stem,
                               visibility="hidden") for p in others])
_language_switch(nav.url_path)
try:
    nav.run()
except Exception as exc:   # a defect: the person gets an incident id, the log gets the traceback (st.rerun and
    # st.stop are BaseExceptions and pass)
    st.error(ui.t("error.incident", id=incidents.report(exc, f"page {nav.url_path or 'home'}")))
