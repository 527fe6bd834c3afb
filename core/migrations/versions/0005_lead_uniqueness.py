"""one original lead per company and phone or e-mail (partial unique indexes)

Revision ID: 0005
Revises: 0004

Leads that already share a key (captured at the same instant before this revision) keep their data: every one
but the oldest is marked a duplicate of the oldest, as capture_lead(allow_duplicate=True) would have done.
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

KEYS = ("phone_norm", "email_norm")


def _where(contact: str) -> str:
    return f"{contact} <> '' AND status <> 'merged' AND duplicate_of_id IS NULL"


def upgrade() -> None:
    for contact in KEYS:
        op.execute(sa.text(
            f"UPDATE lead SET duplicate_of_id = (SELECT MIN(o.id) FROM lead o WHERE o.company_norm = lead.company_norm"
            f" AND o.{contact} = lead.{contact} AND o.status <> 'merged' AND o.duplicate_of_id IS NULL) "
            f"WHERE {_where(contact)} AND id > (SELECT MIN(o.id) FROM lead o WHERE o.company_norm = lead.company_norm"
            f" AND o.{contact} = lead.{contact} AND o.status <> 'merged' AND o.duplicate_of_id IS NULL)"))
        where = sa.text(_where(contact))
        op.create_index(f"uq_lead_company_{contact}", "lead", ["company_norm", contact], unique=True,
                        sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for contact in KEYS:
        op.drop_index(f"uq_lead_company_{contact}", table_name="lead")
