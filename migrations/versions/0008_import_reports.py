"""import reports: each import batch's rejection report, kept for download

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 08:00:00

- ``import_reports``: the report text as the importer produced it (CSV, its BOM kept),
  one row per batch with rejected rows, served by ``GET /api/v1/imports/<id>/report``
  and the dashboard's imports page (docs/dashboard.md).
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'import_reports',
        sa.Column('batch_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column(
            'report', sa.Text(), nullable=False, comment='the report as produced (CSV, BOM kept)'
        ),
        sa.Column('row_count', sa.Integer(), nullable=False, comment='rows reported'),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['batch_id'],
            ['import_batches.id'],
            name=op.f('fk_import_reports_batch_id_import_batches'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('batch_id', name=op.f('pk_import_reports')),
    )


def downgrade() -> None:
    op.drop_table('import_reports')
