"""invoice corrections: credit notes (红字发票, rows of kind credit_note crediting an invoice) and voids (作废);
a contract's warranty end set by hand keeps its reason

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('billed', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('kind', sa.String(length=32), nullable=False, server_default='invoice'))
        batch_op.add_column(sa.Column('credits_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('credited', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('voided_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('voided_amount', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False,
                                      server_default=''))
        batch_op.create_index(batch_op.f('ix_invoice_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_invoice_credits_id'), ['credits_id'], unique=False)
        batch_op.create_foreign_key('fk_invoice_credits_id_invoice', 'invoice', ['credits_id'], ['id'])
    op.execute("UPDATE invoice SET billed = amount")   # every invoice so far counts in full against its term
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warranty_note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_column('warranty_note')
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_constraint('fk_invoice_credits_id_invoice', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_invoice_credits_id'))
        batch_op.drop_index(batch_op.f('ix_invoice_kind'))
        for column in ('reason', 'voided_amount', 'voided_on', 'credited', 'credits_id', 'kind', 'billed'):
            batch_op.drop_column(column)
