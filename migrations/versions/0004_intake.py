"""intake: objections keep only a hash of their receipt; public complaints

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-29 12:00:00

The ``objections`` table of 0001 stored the receipt itself; nothing wrote to it before
this revision, so the column is replaced by ``receipt_hash`` (the receipt grants access
to the objection's status and is stored only hashed, docs/intake.md).
"""

from alembic import op
import sqlalchemy as sa

revision = '0004'
down_revision = '0002'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_constraint('uq_objections_receipt', type_='unique')
        batch_op.drop_column('receipt')
        batch_op.add_column(
            sa.Column(
                'receipt_hash',
                sa.String(length=64),
                nullable=False,
                comment='SHA-256 of the receipt; the receipt is never stored',
            )
        )
        batch_op.add_column(
            sa.Column(
                'corrected_version',
                sa.Integer(),
                nullable=True,
                comment="the penalty's version after a correction",
            )
        )
        batch_op.alter_column(
            'status', existing_type=sa.String(length=16), comment='open | answered'
        )
        batch_op.create_unique_constraint(batch_op.f('uq_objections_receipt_hash'), ['receipt_hash'])

    op.create_table('complaints',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('receipt_hash', sa.String(length=64), nullable=False, comment='SHA-256 of the receipt; the receipt is never stored'),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False, comment='counterfeit|trademark|patent|copyright|quality|other'),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('contact', sa.String(length=200), nullable=True),
    sa.Column('authority_uscc', sa.String(length=18), nullable=True, comment="null: unroutable, in the administrators' queue"),
    sa.Column('routed_by', sa.String(length=16), nullable=False, comment='table | regulators | admin | none'),
    sa.Column('status', sa.String(length=16), nullable=False, comment='received|accepted|investigating|closed'),
    sa.Column('filed_on', sa.Date(), nullable=False),
    sa.Column('status_on', sa.Date(), nullable=True, comment='day of the last status change'),
    sa.Column('status_note', sa.Text(), nullable=True),
    sa.Column('handled_by', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints')),
    sa.UniqueConstraint('receipt_hash', name=op.f('uq_complaints_receipt_hash'))
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_authority_uscc'), ['authority_uscc'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_uscc'), ['uscc'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaints_uscc'))
        batch_op.drop_index(batch_op.f('ix_complaints_authority_uscc'))
    op.drop_table('complaints')

    op.execute("DELETE FROM objections")  # a hash cannot be turned back into a receipt
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_objections_receipt_hash'), type_='unique')
        batch_op.alter_column(
            'status', existing_type=sa.String(length=16), comment=None,
            existing_comment='open | answered',
        )
        batch_op.drop_column('corrected_version')
        batch_op.drop_column('receipt_hash')
        batch_op.add_column(sa.Column('receipt', sa.String(length=32), nullable=False))
        batch_op.create_unique_constraint('uq_objections_receipt', ['receipt'])
