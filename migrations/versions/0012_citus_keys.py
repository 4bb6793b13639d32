"""citus keys: the distribution column in every key, decision numbers and receipts apart

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 08:00:00

The schema changes docs/scaling.md lists before the per-entity tables can be distributed
by their subject on Citus (``credit-registry init --citus``).  Nothing observable changes
on one server:

- PostgreSQL: the primary key of every table distributed by subject becomes
  ``(id, <subject column>)`` — ``uscc``, or ``subject_key`` for ``penalties`` and
  ``penalty_versions``.  ``id`` first, so a lookup by id stays one index probe.  SQLite
  keeps ``id`` alone (it auto-increments only a lone ``INTEGER PRIMARY KEY``).
- ``decision_numbers(authority_uscc, decision_number) → subject_key, penalty_id``: the
  uniqueness of a record's key, moved off ``penalties`` (whose unique constraints would
  have to contain the subject on Citus).  Filled from ``penalties``; the import writes it
  in the same transaction as the records.
- ``receipts(receipt_hash) → kind, uscc, object_id``: the uniqueness of an objection's
  receipt, moved off ``objections`` likewise.  Filled from ``objections``.
- ``penalty_versions``: unique ``(subject_key, penalty_id, version)``.
- Foreign keys dropped (Citus cannot keep them as they were, docs/scaling.md says why):
  ``penalty_id → penalties(id)`` of ``penalty_versions``, ``alerts``, ``case_transfers``
  and ``objections``; ``list_entry_id → list_entries(id)`` of ``list_entry_events``.

Written against the tables of 0001–0007 only (other revisions may come before it).
"""

from alembic import op
import sqlalchemy as sa

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

#: table → its subject column (the distribution column on Citus).
SUBJECT_KEYED = {
    'entity_names': 'uscc',
    'person_links': 'uscc',
    'credit_grades': 'uscc',
    'alerts': 'uscc',
    'list_entries': 'uscc',
    'list_entry_events': 'uscc',
    'decisions': 'uscc',
    'repairs': 'uscc',
    'case_transfers': 'uscc',
    'measure_feedback': 'uscc',
    'objections': 'uscc',
    'penalties': 'subject_key',
    'penalty_versions': 'subject_key',
}

#: (table, column, referred table) of the foreign keys dropped.
DROPPED_FKS = [
    ('penalty_versions', 'penalty_id', 'penalties'),
    ('alerts', 'penalty_id', 'penalties'),
    ('case_transfers', 'penalty_id', 'penalties'),
    ('objections', 'penalty_id', 'penalties'),
    ('list_entry_events', 'list_entry_id', 'list_entries'),
]


def upgrade() -> None:
    op.create_table(
        'decision_numbers',
        sa.Column('authority_uscc', sa.String(length=18), nullable=False),
        sa.Column('decision_number', sa.String(length=200), nullable=False),
        sa.Column('subject_key', sa.String(length=80), nullable=False,
                  comment="the record's subject key"),
        sa.Column('penalty_id', BigId, nullable=False),
        sa.PrimaryKeyConstraint('authority_uscc', 'decision_number',
                                name=op.f('pk_decision_numbers')),
    )
    op.execute(
        'INSERT INTO decision_numbers (authority_uscc, decision_number, subject_key, penalty_id) '
        'SELECT authority_uscc, decision_number, subject_key, id FROM penalties'
    )
    op.create_table(
        'receipts',
        sa.Column('receipt_hash', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False, comment='objection'),
        sa.Column('uscc', sa.String(length=80), nullable=False,
                  comment='subject key of the filing'),
        sa.Column('object_id', BigId, nullable=False),
        sa.PrimaryKeyConstraint('receipt_hash', name=op.f('pk_receipts')),
    )
    op.execute(
        "INSERT INTO receipts (receipt_hash, kind, uscc, object_id) "
        "SELECT receipt_hash, 'objection', uscc, id FROM objections"
    )

    for table, column, referred in DROPPED_FKS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'fk_{table}_{column}_{referred}', type_='foreignkey')
    with op.batch_alter_table('penalties', schema=None) as batch_op:
        batch_op.drop_constraint('uq_penalties_authority_uscc_decision_number', type_='unique')
    with op.batch_alter_table('penalty_versions', schema=None) as batch_op:
        batch_op.drop_constraint('uq_penalty_versions_penalty_id_version', type_='unique')
        batch_op.create_unique_constraint(
            batch_op.f('uq_penalty_versions_subject_key_penalty_id_version'),
            ['subject_key', 'penalty_id', 'version'],
        )
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_constraint('uq_objections_receipt_hash', type_='unique')

    if op.get_bind().dialect.name == 'postgresql':
        for table, column in SUBJECT_KEYED.items():
            op.execute(
                f'ALTER TABLE {table} DROP CONSTRAINT pk_{table}, '
                f'ADD CONSTRAINT pk_{table} PRIMARY KEY (id, {column})'
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in SUBJECT_KEYED:
            op.execute(
                f'ALTER TABLE {table} DROP CONSTRAINT pk_{table}, '
                f'ADD CONSTRAINT pk_{table} PRIMARY KEY (id)'
            )
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_objections_receipt_hash', ['receipt_hash'])
    with op.batch_alter_table('penalty_versions', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('uq_penalty_versions_subject_key_penalty_id_version'), type_='unique'
        )
        batch_op.create_unique_constraint(
            'uq_penalty_versions_penalty_id_version', ['penalty_id', 'version']
        )
    with op.batch_alter_table('penalties', schema=None) as batch_op:
        batch_op.create_unique_constraint(
            'uq_penalties_authority_uscc_decision_number', ['authority_uscc', 'decision_number']
        )
    for table, column, referred in DROPPED_FKS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(
                f'fk_{table}_{column}_{referred}', referred, [column], ['id']
            )
    op.drop_table('receipts')
    op.drop_table('decision_numbers')
