"""Page tests with Streamlit's AppTest on a copy of the demo database (SQLite).

`page(role, path)` signs in as the demo user of that role and opens the page through the real frame
(app/main.py and its role-built navigation).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.context import SYSTEM, unit_of_work
from core.services import users


APP = Path(__file__).resolve().parents[2] / "app"
MAIN = str(APP / "main.py")
TIMEOUT = 60


@pytest.fixture
def demo_url(demo_template, tmp_path, monkeypatch):
    path = tmp_path / "ltc.db"
    shutil.copy(demo_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("LTC_DATABASE_URL", url)
    monkeypatch.setenv("LTC_DATA_DIR", str(tmp_path / "data"))
    return url


@pytest.fixture
def demo_world(demo_url):
    """The demo's people as a World on the test's copy of the demo database, to set records up through the
    services before a page shows them."""
    from tests.conftest import World

    w = World(url=demo_url)
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        for login in ("ar", "ar2", "sr", "fr", "legal", "finance", "leader"):
            w.users[login] = users.actor(ctx, login)
    return w


# the demo person who holds a role, where no demo login is named after it (tests ask for a page "as a role")
DEMO_LOGIN = {"manager": "mgr-east"}


@pytest.fixture
def page(demo_url):
    def open_page(login: str, path: str | None = None, lang: str = "en") -> AppTest:
        with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
            who = users.actor(ctx, DEMO_LOGIN.get(login, login))
        at = AppTest.from_file(MAIN, default_timeout=TIMEOUT)
        at.session_state["actor"] = who
        at.session_state["lang"] = lang
        at.run()
        if path:
            at.switch_page(path)
            at.run()
        return at
    return open_page


def texts(at: AppTest) -> str:
    """Everything the page shows as text, to search in."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "text", "info", "success", "error",
                 "warning", "metric"):
        for el in getattr(at, kind):
            parts.append(str(getattr(el, "value", "")) + " " + str(getattr(el, "label", "")))
    return "\n".join(parts)


def assert_unreachable(page, role: str, path: str) -> None:
    """A role without the page's view permission: the navigation does not have the page, and the page
    refuses when its file is run directly."""
    at = page(role)
    with pytest.raises(Exception):
        at.switch_page(path).run()
    direct = AppTest.from_file(str(APP / path), default_timeout=TIMEOUT)
    direct.session_state["actor"] = at.session_state["actor"]
    direct.run()
    assert "do not give access" in direct.error[0].value
