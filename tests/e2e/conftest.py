"""End-to-end: the real app (`streamlit run` with streamlit_config.toml applied) on a copy of the demo
database, driven by Playwright in the Chromium of Debian's `chromium` package (never a browser download).

LTC_CHROMIUM overrides the browser path. Screenshots go to tests/e2e/screenshots/ (ignored by git).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cli.launcher import ROOT, SERVER, streamlit_flags
from tests.conftest import app_started

CHROMIUM = os.environ.get("LTC_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent / "screenshots"
PASSWORD = "demo-pass-2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server_db(demo_template, tmp_path) -> Path:
    """A fresh copy of the demo database for one test's server."""
    db = tmp_path / "ltc.db"
    shutil.copy(demo_template, db)
    return db


@pytest.fixture
def server(server_db, tmp_path):
    """A Streamlit server on the test's copy of the demo database; yields the base URL."""
    db = server_db
    port = _free_port()
    env = dict(os.environ, LTC_DATABASE_URL=f"sqlite:///{db}", LTC_DATA_DIR=str(tmp_path / "data"),
               PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "streamlit", "run", str(SERVER), *streamlit_flags(),
           f"--server.port={port}", "--server.address=127.0.0.1", "--server.fileWatcherType=none"]
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    if not app_started(url):
        proc.kill()
        raise RuntimeError(f"the app did not start: {(tmp_path / 'server.log').read_text()[-2000:]}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package "
                           "(.ci/run does) or set LTC_CHROMIUM")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.goto(server)
    yield pg
    context.close()


def sign_in(pg, login: str) -> None:
    pg.get_by_role("textbox", name="Login").fill(login)
    pg.get_by_role("textbox", name="Password").fill(PASSWORD)
    pg.get_by_role("button", name="Sign in").click()
    pg.get_by_text("Sign out").wait_for()


def shot(pg, name: str) -> Path:
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    pg.wait_for_timeout(500)
    pg.screenshot(path=str(path), full_page=True)
    return path
