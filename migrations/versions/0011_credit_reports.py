"""credit reports: issued reports (信用报告) with what is needed to verify them later

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 08:00:00

- ``credit_reports``: one row per issued report — its number (per entity and day), the
  subject, the day and time, and the digest and summary of the public facts it carried.
  Its verification code is an HMAC of these under the deployment's report key, so it is
  not stored.
- PostgreSQL: a trigram index on ``entities.uscc`` for the search by any part of a code.
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'credit_reports',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('number', sa.String(length=64), nullable=False, comment='XYBG-<yyyymmdd>-<code>-<nnn>, per entity and day'),
        sa.Column('uscc', sa.String(length=18), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False, comment="the subject's name as reported"),
        sa.Column('as_of', sa.Date(), nullable=False, comment='the day whose public facts it reports'),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('facts_digest', sa.String(length=64), nullable=False, comment='SHA-256 of the reported public facts (canonical JSON)'),
        sa.Column('facts', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False, comment='what it reported: record and entry ids, inspection results, counts'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_reports')),
        sa.UniqueConstraint('number', name=op.f('uq_credit_reports_number')),
    )
    op.create_index(op.f('ix_credit_reports_uscc'), 'credit_reports', ['uscc'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        # Search by any contiguous part of a code (``LIKE '%…%'``, at least six
        # characters): a trigram index, like the name's (0005); SQLite scans.
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        op.execute('CREATE INDEX ix_entities_uscc_trgm ON entities USING gin (uscc gin_trgm_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_entities_uscc_trgm')
    op.drop_index(op.f('ix_credit_reports_uscc'), table_name='credit_reports')
    op.drop_table('credit_reports')
