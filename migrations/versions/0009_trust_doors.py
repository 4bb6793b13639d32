"""trust: webhook delivery errors as categories, not raw text

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 08:40:00

``webhook_deliveries.last_error`` held the text of whatever went wrong ("HTTP 503",
"URLError: [Errno 111] Connection refused", "timed out" …): enough to use the delivery
log as a port scanner of the registry's network.  Deliveries now store a category
(registry/delivery/addresses.py: timeout, refused, tls, dns, redirect, http_4xx,
http_5xx, address_refused, connection, cancelled); this rewrites the stored texts to
theirs.  No schema change.  The old texts are not kept, so the downgrade leaves the
categories.
"""

from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

CATEGORIES = (
    'address_refused', 'dns', 'timeout', 'refused', 'tls', 'redirect',
    'http_4xx', 'http_5xx', 'connection', 'cancelled',
)


def category(text):
    """The category of an error text stored before categories (a frozen copy of
    registry.delivery.addresses.categorise, so this revision keeps its meaning)."""
    low = text.lower()
    if text in CATEGORIES:
        return text
    if low.startswith('http '):
        try:
            status = int(low.split()[1])
        except (IndexError, ValueError):
            return 'connection'
        if 300 <= status < 400:
            return 'redirect'
        if 400 <= status < 500:
            return 'http_4xx'
        return 'http_5xx' if status >= 500 else 'connection'
    if 'cancel' in low:
        return 'cancelled'
    if 'timed out' in low or 'timeout' in low:
        return 'timeout'
    if 'refused' in low or 'reset' in low:
        return 'refused'
    if 'ssl' in low or 'certificate' in low or 'tls' in low:
        return 'tls'
    if 'name or service' in low or 'getaddrinfo' in low or 'nodename' in low:
        return 'dns'
    return 'connection'


def upgrade():
    bind = op.get_bind()
    deliveries = sa.table('webhook_deliveries', sa.column('last_error', sa.Text))
    texts = bind.execute(
        sa.select(deliveries.c.last_error).where(deliveries.c.last_error.is_not(None)).distinct()
    ).scalars().all()
    for text in texts:
        new = category(text)
        if new != text:
            bind.execute(
                deliveries.update().where(deliveries.c.last_error == text).values(last_error=new)
            )


def downgrade():
    pass  # the raw texts are gone on purpose
