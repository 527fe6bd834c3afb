"""closure review: lessons learnt (the review asks what went well, what went badly and what to keep)

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('closurereview', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lessons', sqlmodel.sql.sqltypes.AutoString(length=4000), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('closurereview', schema=None) as batch_op:
        batch_op.drop_column('lessons')
