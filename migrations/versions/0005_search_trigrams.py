"""search: trigram indexes for name search on PostgreSQL

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 13:00:00

The public name search matches substrings (``LIKE '%…%'``) of the name, its pinyin
spelling and its initials.  A B-tree cannot serve a pattern with a leading wildcard, so
on PostgreSQL every search read the whole ``entities`` table.  pg_trgm's GIN indexes
serve those patterns (three characters or more; CJK characters are trigram characters
under a UTF-8 ctype).  SQLite keeps scanning: its tables here are small.

The indexes are PostgreSQL-only, so the models do not declare them; ``migrations/env.py``
leaves indexes named ``*_trgm`` out of the drift check.  ``CREATE EXTENSION`` needs a
role allowed to create it (pg_trgm is a trusted extension: the database owner may).
"""

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# The pinyin expression must be exactly the one registry.public.search_entities compares.
PINYIN = "replace(coalesce(name_pinyin, ''), ' ', '')"


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    op.execute('CREATE INDEX ix_entities_name_trgm ON entities USING gin (name gin_trgm_ops)')
    op.execute(
        f'CREATE INDEX ix_entities_pinyin_trgm ON entities USING gin (({PINYIN}) gin_trgm_ops)'
    )
    op.execute(
        'CREATE INDEX ix_entities_initials_trgm ON entities USING gin '
        '(name_initials gin_trgm_ops)'
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name in ('ix_entities_initials_trgm', 'ix_entities_pinyin_trgm', 'ix_entities_name_trgm'):
        op.execute(f'DROP INDEX IF EXISTS {name}')
