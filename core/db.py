"""Engine, sessions and migrations. One short session per user action or sync step."""
from __future__ import annotations

from functools import cache
from pathlib import Path

from sqlalchemy import Column, event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

import core.models  # noqa: F401  registers every table
from config.settings import get_settings
from core.messages import Text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@cache
def engine_for(url: str) -> Engine:
    """hide_parameters: SQL logging (echo, DEBUG) and database error texts never show the values sent, such as
    password hashes."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        eng = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

        @event.listens_for(eng, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return eng
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def max_length(column: Column) -> int:
    """The length a text column was declared with (Field(max_length=...)), to check a value before writing it."""
    length = getattr(column.type, "length", None)
    if not isinstance(length, int):
        raise TypeError(Text("{column} is not a text column with a length", column=column))
    return length


def get_engine(url: str | None = None) -> Engine:
    return engine_for(url or get_settings().database_url)


def new_session(url: str | None = None) -> Session:
    return Session(get_engine(url), expire_on_commit=False)


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str | None = None) -> None:
    """Bring the database to the newest schema (what `ltc init` does); safe to run again."""
    from alembic import command

    url = url or get_settings().database_url
    get_engine(url)  # creates the SQLite folder
    command.upgrade(alembic_config(url), "head")
