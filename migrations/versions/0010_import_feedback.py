"""import feedback: what the rules did after an import, kept on its batch

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 08:00:00

- ``import_batches.rules_summary``: the rules run that follows an import — subjects
  evaluated, list entries proposed, activated, withdrawn and removed, alerts opened (or
  that the run failed and its subjects stay queued).  Null for imports before this
  revision, for dry runs and for imports that wrote nothing.  Shown by the CLI's import
  summary, ``GET /api/v1/imports/<id>`` and the XLSX rejection report.
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('import_batches') as batch_op:
        batch_op.add_column(
            sa.Column(
                'rules_summary',
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table('import_batches') as batch_op:
        batch_op.drop_column('rules_summary')
