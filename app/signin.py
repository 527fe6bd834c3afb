"""Sign-in that survives a Reload: plain HTTP routes beside Streamlit (app/server.py mounts them).

Streamlit keeps the signed-in person in its session state, which a Reload, a pasted link or a second tab
starts afresh. So local accounts sign in here, outside the websocket: a POST checks the password through
core (users.authenticate, with its lockout), and the browser gets the session token in an HttpOnly cookie
that scripts cannot read. The gate below sends a page load without a valid cookie here, with the page and
its ?<kind>=<id> as `next`, and the frame (main.py) finds the person again from the cookie on every new
session. With OpenID Connect configured, Streamlit's own st.login does all this and these routes step aside.
"""
from __future__ import annotations

import hmac
import secrets
from html import escape
from pathlib import Path
from urllib.parse import quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from app.i18n import LANGS, t
from app.nav import PAGES
from config.settings import get_settings
from core.context import SYSTEM, unit_of_work
from core.errors import LtcError
from core.messages import say
from core.services import signins, users

COOKIE = "ltc_session"
LANG_COOKIE = "ltc_lang"     # the language this browser chose (sign-in page, sidebar), which the frame starts with
CSRF_COOKIE = "ltc_signin"   # double-submit token: a form posted from another site has no such cookie
PAGE_PATHS = {"/"} | {"/" + Path(p.path).stem for p in PAGES[1:]}


def oidc() -> dict | None:
    """The [auth] section of Streamlit's secrets, when OpenID Connect is configured."""
    import streamlit as st
    try:
        return dict(st.secrets["auth"]) if "auth" in st.secrets else None
    except Exception:   # no secrets file at all
        return None


def safe_next(target: str | None) -> str:
    """Only a page of this app: a `next` naming another site (//evil.example, https://…, and /\\evil.example,
    which browsers read as //) goes home."""
    target = target or "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//") \
            or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _lang(request: Request) -> str:
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return asked if asked in LANGS else get_settings().lang


def _actor(token: str | None):
    with unit_of_work(SYSTEM, "app") as ctx:
        return signins.actor_for_token(ctx, token)


def _form(lang: str, target: str, csrf: str, error: str = "", login: str = "") -> str:
    other = "zh" if lang == "en" else "en"
    switch = f'/signin?lang={other}&next={quote(target, safe="")}'
    alert = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    return f"""<!doctype html>
<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(t("login.title", lang))} · {escape(t("app.title", lang))}</title>
<style>
body {{ font-family: "Source Sans Pro", "Noto Sans CJK SC", sans-serif; background: #f7f7f9; margin: 0; }}
main {{ max-width: 22rem; margin: 12vh auto; background: #fff; padding: 2rem; border-radius: .5rem;
       box-shadow: 0 1px 4px rgba(0,0,0,.12); }}
h1 {{ font-size: 1.5rem; margin: 0 0 1.5rem; }}
label {{ display: block; margin: 1rem 0 .3rem; }}
input {{ width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; border: 1px solid #ccc;
        border-radius: .3rem; }}
button {{ margin-top: 1.5rem; width: 100%; padding: .6rem; font-size: 1rem; color: #fff; background: #C8102E;
         border: 0; border-radius: .3rem; cursor: pointer; }}
.error {{ color: #9b1c1c; background: #fdecea; padding: .6rem; border-radius: .3rem; }}
nav {{ text-align: right; font-size: .9rem; }}
</style></head>
<body><main>
<nav><a href="{escape(switch)}">{"中文" if other == "zh" else "English"}</a></nav>
<h1>{escape(t("app.title", lang))}</h1>
{alert}
<form method="post" action="/signin">
<input type="hidden" name="csrf" value="{escape(csrf)}">
<input type="hidden" name="next" value="{escape(target)}">
<input type="hidden" name="lang" value="{lang}">
<label for="login">{escape(t("login.login", lang))}</label>
<input id="login" name="login" value="{escape(login)}" autocomplete="username" required autofocus>
<label for="password">{escape(t("login.password", lang))}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">{escape(t("login.submit", lang))}</button>
</form></main></body></html>"""


def _page(lang: str, target: str, error: str = "", login: str = "", status: int = 200) -> Response:
    csrf = secrets.token_urlsafe(24)
    response = HTMLResponse(_form(lang, target, csrf, error, login), status_code=status,
                            headers={"Cache-Control": "no-store"})
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", path="/signin")
    return response


async def sign_in_page(request: Request) -> Response:
    target = safe_next(request.query_params.get("next"))
    if oidc():
        return RedirectResponse(target, status_code=303)
    if await run_in_threadpool(_actor, request.cookies.get(COOKIE)):
        return RedirectResponse(target, status_code=303)   # already signed in (a bookmarked sign-in page)
    response = _page(_lang(request), target)
    response.delete_cookie(COOKIE)                          # an expired or closed token: gone from the browser
    return response


def _authenticate(login: str, password: str) -> str:
    with unit_of_work(SYSTEM, "app") as ctx:
        return signins.open_sign_in(ctx, users.authenticate(ctx, login, password))


async def sign_in(request: Request) -> Response:
    form = await request.form()
    field = {k: v if isinstance(v, str) else "" for k, v in form.items()}
    lang = field["lang"] if field.get("lang") in LANGS else get_settings().lang
    target = safe_next(field.get("next"))
    if oidc():
        return RedirectResponse(target, status_code=303)
    sent, kept = field.get("csrf", ""), request.cookies.get(CSRF_COOKIE, "")
    if not sent or not hmac.compare_digest(sent, kept):
        # a form from another site, or a sign-in page left open past its cookie: ask again, change nothing
        return _page(lang, target, t("login.expired", lang), status=400)
    login = field.get("login", "")
    try:
        token = await run_in_threadpool(_authenticate, login, field.get("password", ""))
    except LtcError as exc:
        return _page(lang, target, say(exc.text, lang), login=login[:64], status=401)
    response = RedirectResponse(target, status_code=303)
    secure = request.url.scheme == "https"
    response.set_cookie(COOKIE, token, max_age=get_settings().session_hours * 3600, httponly=True,
                        samesite="lax", secure=secure, path="/")
    remember_language(response, request, lang)
    response.delete_cookie(CSRF_COOKIE, path="/signin")
    return response


def remember_language(response: Response, request: Request, lang: str) -> None:
    """The language this browser reads the app in, for a year (the frame starts each new session with it)."""
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax",
                        secure=request.url.scheme == "https", path="/")


async def language(request: Request) -> Response:
    """The language this browser reads the app in: kept in a cookie, then the same address again."""
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    chosen = request.query_params.get("to")
    if chosen in LANGS:
        remember_language(response, request, chosen)
    return response


class SignInGate:
    """ASGI middleware: a page of the app loaded without a valid sign-in goes to the sign-in form first, and
    comes back to the same address after it. Everything else (Streamlit's scripts, its websocket, these
    routes) passes; the frame checks the cookie again for the websocket's session."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and scope["path"] in PAGE_PATHS \
                and not oidc():
            request = Request(scope)
            if not await run_in_threadpool(_actor, request.cookies.get(COOKIE)):
                query = scope.get("query_string", b"").decode("latin-1")
                target = scope["path"] + (f"?{query}" if query else "")
                await RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)(
                    scope, receive, send)
                return
        await self.app(scope, receive, send)


ROUTES = [Route("/signin", sign_in_page, methods=["GET"]), Route("/signin", sign_in, methods=["POST"]),
          Route("/language", language, methods=["GET"])]
