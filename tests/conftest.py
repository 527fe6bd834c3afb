"""Shared fixtures: every database test runs on SQLite and on PostgreSQL, from real migrations.

PostgreSQL: LTC_TEST_PG_URL (default: the local server, database `test`, schema `ltc_test`).
Set LTC_TEST_PG=skip to run SQLite only (CI never does).
"""
from __future__ import annotations

import atexit
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from hypothesis.database import DirectoryBasedExampleDatabase
from sqlalchemy import create_engine, text


def _noon_company_clock() -> None:
    """Run the suite on a company clock that reads about noon when it starts, so no test sees the date change
    under it: a date taken at collection (TODAY = clock.today()) and the date core checks at the test's run
    are the same day, in this process and in the app and CLI processes it starts (they inherit
    LTC_CONFIG_DIR). Otherwise a run crossing midnight in Beijing (16:00 UTC) fails every test that checks a
    date against today. tests/unit/test_clock.py checks the Beijing conversion itself."""
    if os.environ.get("LTC_CONFIG_DIR"):
        return                                   # the person running the tests chose the config
    import tomllib
    from config.settings import CONFIG_DIR
    hours = 12 - datetime.now(timezone.utc).hour          # -11 .. 12: a whole-hour zone where it is 12:xx now
    zone = "Etc/GMT" if hours == 0 else f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"  # Etc signs are inverted
    folder = tempfile.mkdtemp(prefix="ltc-test-config-")
    atexit.register(shutil.rmtree, folder, True)
    text_ = (CONFIG_DIR / "finance.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text_).get("time_zone"), "config/finance.toml names the company's time_zone"
    text_ = re.sub(r'(?m)^time_zone\s*=\s*"[^"]*"', f'time_zone = "{zone}"', text_)
    (Path(folder) / "finance.toml").write_text(text_, encoding="utf-8")
    os.environ["LTC_CONFIG_DIR"] = folder


_noon_company_clock()

from core import clock  # noqa: E402  (after the clock is chosen: core.clock reads the zone at import)
from core.context import Actor, SYSTEM, perform, unit_of_work  # noqa: E402
from core.db import migrate  # noqa: E402

# Hypothesis keeps every failing example in .hypothesis/examples, so the next run replays it first, and prints
# the @reproduce_failure blob, so a failure on CI replays here. LTC_HYPOTHESIS=nightly draws ten times more.
_EXAMPLES = DirectoryBasedExampleDatabase(str(Path(__file__).resolve().parents[1] / ".hypothesis" / "examples"))
hypothesis_settings.register_profile("default", database=_EXAMPLES, print_blob=True)
hypothesis_settings.register_profile("nightly", database=_EXAMPLES, print_blob=True, max_examples=1000)
hypothesis_settings.load_profile(os.environ.get("LTC_HYPOTHESIS", "default"))
SCALE = 10 if os.environ.get("LTC_HYPOTHESIS") == "nightly" else 1   # for tests that set their own examples

PG_URL = os.environ.get(
    "LTC_TEST_PG_URL",
    "postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dltc_test")
# the schema the URL's search_path names (ltc_test by default): a second run at once (tools/reliability.py) takes
# its own schema and leaves this one alone
PG_SCHEMA = re.search(r"search_path%3D(\w+)", PG_URL).group(1) if "search_path%3D" in PG_URL else "ltc_test"
if _WORKER := os.environ.get("PYTEST_XDIST_WORKER"):   # pytest -n: each worker process has a schema of its own
    PG_URL = PG_URL.replace(f"search_path%3D{PG_SCHEMA}", f"search_path%3D{PG_SCHEMA}_{_WORKER}")
    PG_SCHEMA = f"{PG_SCHEMA}_{_WORKER}"
ROLE_USERS = ["admin", "marketing", "ar", "sr", "fr", "legal", "finance", "leader"]


def pytest_xdist_auto_num_workers(config) -> int:
    """`-n auto`: one worker more than the cores. The browser, app-server and PostgreSQL tests spend much of their
    time waiting, so a third worker on two cores took the suite from 8 min 22 s to 7 min 13 s here."""
    return (os.cpu_count() or 1) + 1


def _backends():
    out = ["sqlite"]
    if os.environ.get("LTC_TEST_PG") != "skip":
        out.append("postgresql")
    return out


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate(f"sqlite:///{path}")
    from core.db import get_engine
    get_engine(f"sqlite:///{path}").dispose()   # checkpoints the WAL into the file we copy
    return path


@pytest.fixture(scope="session")
def pg_ready() -> str:
    eng = create_engine(PG_URL.split("?")[0])
    with eng.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    eng.dispose()
    migrate(PG_URL)
    return PG_URL


def _pg_truncate(url: str) -> None:
    from core.db import get_engine

    eng = get_engine(url)
    with eng.begin() as conn:
        tables = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename <> 'alembic_version'"),
            {"s": PG_SCHEMA})]
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))


@pytest.fixture(params=_backends())
def db_url(request, tmp_path, monkeypatch) -> str:
    """A migrated, empty database; LTC_DATABASE_URL points at it."""
    if request.param == "sqlite":
        path = tmp_path / "ltc.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_ready")
        _pg_truncate(url)
    monkeypatch.setenv("LTC_DATABASE_URL", url)
    monkeypatch.setenv("LTC_DATA_DIR", str(tmp_path / "data"))
    return url


@dataclass
class World:
    """A database with one user per role (login = role name), and helpers to act as them."""
    url: str
    users: dict[str, Actor] = field(default_factory=dict)

    def do(self, who: str | Actor, fn, *args, origin: str = "app", **kwargs):
        actor = self.users[who] if isinstance(who, str) else who
        return perform(actor, fn, *args, origin=origin, url=self.url, **kwargs)

    def read(self, fn, *args, **kwargs):
        with unit_of_work(SYSTEM, "test", url=self.url) as ctx:
            return fn(ctx, *args, **kwargs)

    def get(self, model, id_):
        with unit_of_work(SYSTEM, "test", url=self.url) as ctx:
            return ctx.session.get(model, id_)


def make_world(url: str) -> World:
    """The users of a World, created in the database at `url` (also for module-scoped databases)."""
    from core.services import users

    w = World(url=url)
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        for role in ROLE_USERS:
            users.create_user(ctx, role, name=f"{role.upper()} user", email=f"{role}@example.com", roles=[role])
        users.create_user(ctx, "ar2", name="AR two", email="ar2@example.com", roles=["ar"])
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        for login in ROLE_USERS + ["ar2"]:
            w.users[login] = users.actor(ctx, login)
    return w


@pytest.fixture
def world(db_url) -> World:
    return make_world(db_url)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """The demo story (seed 1, up to today) in a SQLite file, built once; tests copy it."""
    from cli.demo import load_demo
    from core.db import get_engine

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    url = f"sqlite:///{path}"
    migrate(url)
    load_demo(seed=1, url=url, today=clock.today())
    get_engine(url).dispose()
    return path


def app_started(url: str, timeout: float = 60) -> bool:
    """Wait until the Streamlit server at `url` answers its health check; False when it never does."""
    import time
    import urllib.request

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return True
        except OSError:
            time.sleep(0.3)
    return False
