"""Sign-in over HTTP (app/signin.py), as `ltc app` serves it beside Streamlit: a page load without a sign-in is
sent to the form and comes back to its address; the cookie is HttpOnly and the database keeps only its hash;
a wrong password, a form from another site or a `next` to another site change nothing."""
from __future__ import annotations

import hashlib
import re

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app import signin
from core.context import SYSTEM, unit_of_work
from core.models import SignIn
from core.services import signins, users

PASSWORD = "demo-pass-2026"


async def _page(request):
    return PlainTextResponse(f"page {request.url.path}")


@pytest.fixture
def client(demo_url):
    app = Starlette(routes=signin.ROUTES + [Route("/{path:path}", _page)],
                    middleware=[Middleware(signin.SignInGate)])
    with TestClient(app, follow_redirects=False) as c:
        yield c


def _csrf(client, query: str = "") -> str:
    form = client.get(f"/signin{query}")
    assert form.status_code == 200
    return re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)


def _sign_in(client, login="finance", password=PASSWORD, next_="/cash?invoice=3", **extra):
    return client.post("/signin", data={"csrf": _csrf(client), "login": login, "password": password,
                                        "next": next_, "lang": "en", **extra})


def test_a_page_without_a_sign_in_goes_to_the_form_and_comes_back_to_its_address(client, demo_url):
    first = client.get("/bids_contracts?contract=5&tab=atc")
    assert first.status_code == 303
    assert first.headers["location"] == "/signin?next=%2Fbids_contracts%3Fcontract%3D5%26tab%3Datc"
    form = client.get(first.headers["location"])
    assert 'value="/bids_contracts?contract=5&amp;tab=atc"' in form.text
    done = _sign_in(client, next_="/bids_contracts?contract=5&tab=atc")
    assert done.status_code == 303 and done.headers["location"] == "/bids_contracts?contract=5&tab=atc"
    cookie = done.headers["set-cookie"]
    assert "ltc_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    # signed in: the page opens (a Reload too), and the database holds the token's hash, not the token
    assert client.get("/bids_contracts?contract=5&tab=atc").text == "page /bids_contracts"
    assert client.get("/").text == "page /"
    token = client.cookies["ltc_session"]
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        kept = ctx.session.exec(select(SignIn.token_hash)).all()
        assert hashlib.sha256(token.encode()).hexdigest() in kept and token not in kept
        assert signins.actor_for_token(ctx, token).login == "finance"


def test_a_wrong_password_is_refused_in_the_persons_language_and_opens_nothing(client):
    refused = client.post("/signin", data={"csrf": _csrf(client, "?lang=zh"), "login": "finance",
                                           "password": "wrong", "next": "/", "lang": "zh"})
    assert refused.status_code == 401
    assert "用户名或密码错误" in refused.text and "账号" in refused.text   # the message and the form, in Chinese
    assert "ltc_session" not in refused.headers.get("set-cookie", "")
    assert client.get("/work").status_code == 303


def test_a_form_posted_from_another_site_is_refused(client):
    # no sign-in cookie of ours: the double-submit token is missing
    foreign = client.post("/signin", data={"csrf": "forged", "login": "finance", "password": PASSWORD, "next": "/"})
    assert foreign.status_code == 400
    assert "ltc_session" not in foreign.headers.get("set-cookie", "")
    assert client.get("/work").status_code == 303


@pytest.mark.parametrize("target", ["https://evil.example/x", "//evil.example/x", "evil", "/\\evil.example"])
def test_next_never_leaves_the_app(client, target):
    done = _sign_in(client, next_=target)
    assert done.status_code == 303
    assert done.headers["location"] == "/"


def test_sign_out_and_a_new_password_end_the_sign_in(client, demo_url):
    _sign_in(client)
    token = client.cookies["ltc_session"]
    assert client.get("/work").status_code == 200
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        signins.close_sign_in(ctx, token)             # the sidebar's Sign out
    assert client.get("/work").status_code == 303
    _sign_in(client)
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        user = users.by_login(ctx, "finance")
        users.update_user(ctx, user.id, password="a-new-password-1")
    assert client.get("/work").status_code == 303     # a session taken over ends with the old password
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        assert signins.actor_for_token(ctx, client.cookies["ltc_session"]) is None


def test_an_expired_or_deactivated_sign_in_opens_nothing(client, demo_url):
    from datetime import timedelta

    _sign_in(client)
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        row = ctx.session.exec(select(SignIn)).one()
        row.expires_at = ctx.now() - timedelta(seconds=1)
    assert client.get("/work").status_code == 303
    _sign_in(client)
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        users.update_user(ctx, users.by_login(ctx, "finance").id, active=False)
        assert signins.actor_for_token(ctx, client.cookies["ltc_session"]) is None
    assert client.get("/work").status_code == 303


def test_the_language_switch_keeps_the_choice_and_comes_back_to_the_same_address(client):
    back = client.get("/language?to=zh&next=%2Fleads%3Flead%3D7")
    assert back.status_code == 303 and back.headers["location"] == "/leads?lead=7"
    assert client.cookies["ltc_lang"] == "zh"
    assert "中文" not in client.get("/signin").text and "账号" in client.get("/signin").text   # the form in Chinese
    odd = client.get("/language?to=fr&next=https://evil.example/")
    assert odd.headers["location"] == "/" and client.cookies["ltc_lang"] == "zh"   # unknown: nothing changes
