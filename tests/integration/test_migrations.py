"""Migrations build the whole schema from an empty database, on SQLite and PostgreSQL, and match the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from core.db import get_engine, migrate


def _diffs(url):
    with get_engine(url).connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": False})
        return compare_metadata(mc, SQLModel.metadata)


def test_migrated_schema_matches_the_models(db_url):
    assert _diffs(db_url) == []
    tables = set(inspect(get_engine(db_url)).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables


def test_migrate_is_repeatable(db_url):
    migrate(db_url)
    migrate(db_url)
    assert _diffs(db_url) == []


def test_migrate_from_empty_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate(url)
    assert _diffs(url) == []
