"""Migrations build the whole schema from an empty database, on SQLite and PostgreSQL, and match the models."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from core.db import get_engine, migrate


def _diffs(url):
    with get_engine(url).connect() as conn:
        mc = MigrationContext.configure(conn, opts={"compare_type": True})
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


def test_leads_already_sharing_a_key_become_duplicates_of_the_oldest(db_url):
    """Revision 0005 adds one-original-per-key indexes; leads that raced in before it keep their data, the
    later ones marked duplicates of the oldest, so the index can be built."""
    from alembic import command
    from sqlalchemy import text

    from core.db import alembic_config

    command.downgrade(alembic_config(db_url), "0004")
    row = ("INSERT INTO lead (company, company_norm, contact, phone, phone_norm, email, email_norm, source, region, "
           "industry, need_text, authority, need, score, grade, status, disqualify_reason, captured_on, version) "
           "VALUES ('Acme', 'acme', '', :p, :p, :e, :e, 'other', '', '', '', 'unknown', 'vague', 0, 'cold', :s, '', "
           "'2026-01-01', 1)")
    with get_engine(db_url).begin() as conn:
        for phone, email, status in [("1", "", "new"), ("1", "a@x", "new"), ("2", "a@x", "new"), ("1", "", "merged")]:
            conn.execute(text(row), {"p": phone, "e": email, "s": status})
    migrate(db_url)
    with get_engine(db_url).connect() as conn:
        marks = conn.execute(text("SELECT id, duplicate_of_id FROM lead ORDER BY id")).all()
    # lead 2 shares lead 1's phone; lead 3 shares lead 2's e-mail, but lead 2 is a duplicate by then; 4 is merged
    assert marks == [(1, None), (2, 1), (3, None), (4, None)]
