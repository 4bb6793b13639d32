"""drop two single-column indexes that a composite index already covers

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 13:00:00

``ix_penalties_uscc`` (``penalties.uscc``) is the leading column of
``ix_penalties_disclosure`` ``(uscc, status, disclosure_until)``, and
``ix_person_links_uscc`` (``person_links.uscc``) the leading column of
``uq_person_links_uscc_person_key_role``: every lookup by ``uscc`` alone is served by the
composite index as well, so the single-column ones only cost each written row one more
B-tree insertion.  Measured per statement on a 100,000-row import: the penalties insert
33.9–37.0 -> 28.6–30.3 µs a row, the person-links insert 14.8–15.6 -> 13.3–14.2 µs.
"""

from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('penalties', schema=None) as batch_op:
        batch_op.drop_index('ix_penalties_uscc')
    with op.batch_alter_table('person_links', schema=None) as batch_op:
        batch_op.drop_index('ix_person_links_uscc')


def downgrade() -> None:
    with op.batch_alter_table('person_links', schema=None) as batch_op:
        batch_op.create_index('ix_person_links_uscc', ['uscc'], unique=False)
    with op.batch_alter_table('penalties', schema=None) as batch_op:
        batch_op.create_index('ix_penalties_uscc', ['uscc'], unique=False)
