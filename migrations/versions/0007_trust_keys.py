"""trust: token expiry, an append-only audit table on PostgreSQL, keyed receipt hashes

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 10:00:00

- ``api_tokens.expires_at``: ``credit-registry token create --expires-in DAYS``; a token
  past it is refused (401) like a revoked one.
- PostgreSQL: a statement-level trigger refuses every ``UPDATE``, ``DELETE`` and
  ``TRUNCATE`` of ``audit_log``, so the application's own connection cannot quietly
  rewrite the trail it writes (the hash chain and the anchors detect it; this stops it).
  The table's owner can still drop or disable the trigger — docs/security.md says who
  should own the tables.  SQLite has no such guard: the chain and anchors detect.
- The receipt-hash columns' comments: receipts are now stored as HMAC-SHA256 under the
  deployment's receipt key (registry.core.keys); rows filed before keep their plain
  SHA-256, which lookups still recognise.
"""

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

OLD_RECEIPT_COMMENT = 'SHA-256 of the receipt; the receipt is never stored'
NEW_RECEIPT_COMMENT = 'HMAC-SHA256 of the receipt (receipt key); the receipt is never stored'

APPEND_ONLY = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '审计日志只能追加，拒绝 % 操作（见 docs/security.md）', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
"""


def upgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'expires_at',
                sa.DateTime(timezone=True),
                nullable=True,
                comment='refused from this moment on; null: does not expire',
            )
        )
    if op.get_bind().dialect.name == 'postgresql':
        for table in ('objections', 'complaints'):
            op.alter_column(
                table,
                'receipt_hash',
                existing_type=sa.String(length=64),
                existing_nullable=False,
                existing_comment=OLD_RECEIPT_COMMENT,
                comment=NEW_RECEIPT_COMMENT,
            )
        op.execute(APPEND_ONLY)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log')
        op.execute('DROP FUNCTION IF EXISTS audit_log_append_only()')
        for table in ('objections', 'complaints'):
            op.alter_column(
                table,
                'receipt_hash',
                existing_type=sa.String(length=64),
                existing_nullable=False,
                existing_comment=NEW_RECEIPT_COMMENT,
                comment=OLD_RECEIPT_COMMENT,
            )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
