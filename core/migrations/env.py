"""Alembic environment: the SQLModel metadata, batch mode on SQLite (ALTER TABLE is limited there)."""
from alembic import context
from sqlmodel import SQLModel

import core.models  # noqa: F401
from core.db import get_engine

config = context.config
target_metadata = SQLModel.metadata


def render_item(type_, obj, autogen_context):
    """Our column types are stored as plain BIGINT / VARCHAR: write them so in migrations."""
    from core.types import EnumText, ScaledDecimal

    if type_ == "type" and isinstance(obj, ScaledDecimal):
        return "sa.BigInteger()"
    if type_ == "type" and isinstance(obj, EnumText):
        return "sa.String(length=32)"
    return False


def run_migrations_online() -> None:
    engine = get_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
