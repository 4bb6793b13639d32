"""Webhook subscriptions on list changes, and their signed, retried deliveries.

A department subscribes a URL to list changes for given codes and/or list types.  The
change feed (``changes``) is turned into one :class:`~registry.delivery.models.WebhookDelivery`
per matching subscription (:func:`enqueue_changes`), and the scheduler's ``webhooks``
job posts the due ones (:func:`deliver_due`): JSON body, signed with HMAC-SHA256 over
``<timestamp>.<body>`` in ``X-Registry-Signature: sha256=<hex>`` with the Unix time in
``X-Registry-Timestamp`` (a subscriber refuses a timestamp more than
:data:`REPLAY_WINDOW_S` seconds from its clock, so a captured delivery cannot be
replayed later), a short timeout, and on failure a retry after an exponentially growing
delay, until :data:`MAX_ATTEMPTS` attempts have failed.  Only public addresses are
reached, checked at subscription and at each delivery (registry.delivery.addresses);
failures are stored as a category.

The signing secret is shown once, when the subscription is created, and never stored:
it is derived from the deployment's webhook key (``Runtime.keys.webhook``, itself derived
from ``security.secret_key`` for this purpose alone: registry.core.keys) and the
subscription id (HMAC(webhook key, "webhook-subscription:<id>")), so the registry can
sign without a table of secrets that could leak.  Changing ``security.secret_key``
changes every subscription's secret (docs/security.md).

Domain functions flush; :func:`deliver_due` runs its own short units of work and never
holds a transaction open during an HTTP call.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from registry.core import audit, clock
from registry.core.changefeed import settled_id
from registry.core.codes import CodeError, validate_uscc
from registry.core.errors import Invalid, NotFound
from registry.core.models import Change, JobRun
from registry.delivery.addresses import check_subscription_url, post
from registry.delivery.models import Subscription, WebhookDelivery
from registry.lists.models import ListEntry

if TYPE_CHECKING:
    from registry.core.runtime import Runtime
    from rules import RulePack

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Registry-Signature"
TIMESTAMP_HEADER = "X-Registry-Timestamp"
#: Seconds a signed delivery stays acceptable either side of its timestamp.
REPLAY_WINDOW_S = 300
DELIVERY_HEADER = "X-Registry-Delivery"
EVENT_HEADER = "X-Registry-Event"
#: Attempts before a delivery is given up (``failed``).
MAX_ATTEMPTS = 6
#: Delay before the second attempt; doubled for each further one (30 s, 1 min, 2 min …).
BASE_DELAY = timedelta(seconds=30)
#: Seconds to wait for a subscriber's answer.
TIMEOUT_S = 5.0
#: ``job_runs.job`` of the enqueue runs; their ``detail.cursor`` is the last change seen.
ENQUEUE_JOB = "webhooks.enqueue"
MAX_CODES = 1000
STATUSES = ("pending", "delivered", "failed")


# --- secrets and signatures ----------------------------------------------------------


def subscription_secret(webhook_key: bytes, subscription_id: int) -> str:
    """The signing secret of a subscription (derived, never stored)."""
    digest = hmac.new(
        webhook_key, f"webhook-subscription:{subscription_id}".encode(), hashlib.sha256
    ).hexdigest()
    return "whsec_" + digest


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-Registry-Signature`` value for ``body`` sent at ``timestamp`` (Unix
    seconds, the ``X-Registry-Timestamp`` header): ``sha256=<hex HMAC-SHA256 of
    "<timestamp>.<body>">``."""
    signed = str(int(timestamp)).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    body: bytes,
    signature: str,
    timestamp: str | int,
    *,
    now: float | None = None,
    window: int = REPLAY_WINDOW_S,
) -> bool:
    """What a subscriber does with the headers: the timestamp within ``window`` seconds
    of its clock, and the signature over it and the body (constant-time comparison)."""
    try:
        sent = int(str(timestamp))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > window:
        return False
    return hmac.compare_digest(sign(secret, body, sent), signature or "")


def body_of(payload: dict[str, Any]) -> bytes:
    """The exact bytes posted (and signed) for a payload; the same on every retry."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


# --- subscriptions -------------------------------------------------------------------


def create_subscription(
    session: Session,
    pack: RulePack,
    *,
    token_id: int,
    actor: str,
    url: str,
    codes: Sequence[str] = (),
    list_types: Sequence[str] = (),
    webhook_key: bytes,
    allow_private: bool = False,
    require_https: bool = True,
) -> tuple[Subscription, str]:
    """Subscribe ``url`` to list changes of ``codes`` (empty: any code) on ``list_types``
    (empty: any list).  Returns the subscription and its signing secret — the only time
    the secret is given out.  The URL's host must resolve to public addresses only
    (unless ``allow_private``), over https (unless not ``require_https``)."""
    url = check_subscription_url(url, allow_private=allow_private, require_https=require_https)
    if len(codes) > MAX_CODES:
        raise Invalid(
            f"一个订阅最多 {MAX_CODES} 个代码", details={"codes": [f"最多 {MAX_CODES} 个"]}
        )
    normalised: list[str] = []
    problems: dict[str, list[str]] = {}
    for i, code in enumerate(codes):
        try:
            normalised.append(validate_uscc(code))
        except CodeError as exc:
            problems[str(i)] = [exc.message]
    if problems:
        raise Invalid("订阅的代码有误", details={"codes": problems})
    unknown = [t for t in list_types if t not in pack.lists]
    if unknown:
        raise Invalid(
            f"未知的名单类型：{', '.join(unknown)}",
            details={"list_types": [f"应为以下之一：{', '.join(pack.lists)}"]},
        )
    subscription = Subscription(
        token_id=token_id,
        url=url,
        codes=sorted(set(normalised)),
        list_types=sorted(set(list_types)),
        active=True,
    )
    session.add(subscription)
    session.flush()
    audit.record_one(
        session,
        audit.AuditEvent(
            actor=actor,
            action="subscription.create",
            object_type="subscription",
            object_id=subscription.id,
            after={
                "url": url,
                "codes": subscription.codes,
                "list_types": subscription.list_types,
            },
        ),
    )
    return subscription, subscription_secret(webhook_key, subscription.id)


def get_subscription(session: Session, subscription_id: int, token_id: int) -> Subscription:
    """The caller's own subscription (another token's is as unknown as a missing one)."""
    sub = session.get(Subscription, subscription_id)
    if sub is None or sub.token_id != token_id:
        raise NotFound(
            f"订阅 {subscription_id} 不存在", details={"subscription_id": subscription_id}
        )
    return sub


def list_subscriptions(session: Session, token_id: int) -> list[Subscription]:
    return list(
        session.execute(
            select(Subscription).where(Subscription.token_id == token_id).order_by(Subscription.id)
        ).scalars()
    )


def cancel_subscription(
    session: Session, subscription_id: int, token_id: int, actor: str
) -> Subscription:
    """Stop a subscription: nothing more is enqueued; pending deliveries are dropped."""
    sub = get_subscription(session, subscription_id, token_id)
    if sub.active:
        sub.active = False
        for delivery in session.execute(
            select(WebhookDelivery).where(
                WebhookDelivery.subscription_id == sub.id, WebhookDelivery.status == "pending"
            )
        ).scalars():
            delivery.status = "failed"
            delivery.last_error = "cancelled"
        session.flush()
        audit.record_one(
            session,
            audit.AuditEvent(
                actor=actor,
                action="subscription.cancel",
                object_type="subscription",
                object_id=sub.id,
                before={"active": True},
                after={"active": False},
            ),
        )
    return sub


def list_deliveries(
    session: Session,
    subscription_id: int,
    token_id: int,
    *,
    status: str | None = None,
    page: int = 1,
    per_page: int = 20,
) -> tuple[list[WebhookDelivery], int]:
    """The delivery log of one of the caller's subscriptions, newest first, and its total."""
    get_subscription(session, subscription_id, token_id)
    where = [WebhookDelivery.subscription_id == subscription_id]
    if status is not None:
        where.append(WebhookDelivery.status == status)
    total = session.execute(
        select(func.count()).select_from(WebhookDelivery).where(*where)
    ).scalar_one()
    rows = session.execute(
        select(WebhookDelivery)
        .where(*where)
        .order_by(WebhookDelivery.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).scalars()
    return list(rows), int(total)


# --- from the change feed to deliveries ----------------------------------------------


def _cursor(session: Session) -> int:
    detail = session.execute(
        select(JobRun.detail)
        .where(JobRun.job == ENQUEUE_JOB, JobRun.status == "ok")
        .order_by(JobRun.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if isinstance(detail, str):
        detail = json.loads(detail)
    return int((detail or {}).get("cursor", 0))


def _matches(sub: Subscription, uscc: str, list_type: str | None) -> bool:
    if sub.codes and uscc not in sub.codes:
        return False
    return not (sub.list_types and list_type not in sub.list_types)


def enqueue_changes(session: Session, limit: int = 5000) -> int:
    """Turn list-entry changes newer than the last run into deliveries for the active
    subscriptions they match (a subscription only hears of changes made after it was
    created).  Returns the number of deliveries enqueued; the caller commits."""
    after = _cursor(session)
    # Up to where the feed is settled, so the cursor never passes a change still being
    # written (registry.core.changefeed); writes still in flight after a few seconds: next run.
    settled = settled_id(session, wait=5.0)
    if settled is None or settled <= after:
        return 0
    rows = session.execute(
        select(Change, ListEntry)
        .outerjoin(ListEntry, ListEntry.id == Change.object_id)
        .where(Change.id > after, Change.id <= settled, Change.kind == "list_entry")
        .order_by(Change.id)
        .limit(limit)
    ).all()
    last = after
    if not rows:
        # Other kinds of change may have moved the feed on: skip past them.
        last = settled
    subs = list(
        session.execute(select(Subscription).where(Subscription.active.is_(True))).scalars()
    )
    now = clock.now()
    added = 0
    for change, entry in rows:
        last = change.id
        list_type = entry.list_type if entry is not None else None
        for sub in subs:
            if sub.created_at > change.at or not _matches(sub, change.uscc, list_type):
                continue
            session.add(
                WebhookDelivery(
                    subscription_id=sub.id,
                    change_id=change.id,
                    payload=_payload(change, entry),
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
            added += 1
    if last != after:
        session.add(
            JobRun(
                job=ENQUEUE_JOB,
                holder="webhooks",
                started_at=now,
                finished_at=now,
                status="ok",
                detail={"cursor": last, "enqueued": added},
            )
        )
    session.flush()
    return added


def _payload(change: Change, entry: ListEntry | None) -> dict[str, Any]:
    from registry.records.export import encode_cursor

    return {
        "event": f"list_entry.{change.action}",
        "change_id": change.id,
        "cursor": encode_cursor(change.id),
        "at": change.at.isoformat(),
        "uscc": change.uscc,
        "list_entry": None
        if entry is None
        else {
            "id": entry.id,
            "list_type": entry.list_type,
            "status": entry.status,
            "since": None if entry.since is None else entry.since.isoformat(),
            "until": None if entry.until is None else entry.until.isoformat(),
            "ended_on": None if entry.ended_on is None else entry.ended_on.isoformat(),
            "end_reason": entry.end_reason,
        },
    }


# --- delivering ----------------------------------------------------------------------


@dataclass
class DeliveryRun:
    """What one :func:`deliver_due` did."""

    enqueued: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    ids: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        return {
            "enqueued": self.enqueued,
            "delivered": self.delivered,
            "retrying": self.retrying,
            "failed": self.failed,
        }


def backoff(attempts: int, base: timedelta = BASE_DELAY) -> timedelta:
    """Delay after the ``attempts``-th failed attempt: base, 2×base, 4×base …"""
    return base * (2 ** max(0, attempts - 1))


def deliver_due(
    rt: Runtime,
    *,
    limit: int = 100,
    timeout: float = TIMEOUT_S,
    max_attempts: int = MAX_ATTEMPTS,
    base_delay: timedelta = BASE_DELAY,
) -> DeliveryRun:
    """Enqueue new changes, then post every delivery that is due (at most ``limit``).

    A 2xx answer delivers it; anything else (an error status, a timeout, a refused
    connection) schedules a retry after :func:`backoff`, and after ``max_attempts``
    failed attempts the delivery is ``failed``.  For the scheduler's ``webhooks`` job."""
    run = DeliveryRun()
    with rt.unit_of_work() as session:
        run.enqueued = enqueue_changes(session)
    now = clock.now()
    with rt.sessions() as session:
        due = session.execute(
            select(
                WebhookDelivery.id,
                WebhookDelivery.payload,
                WebhookDelivery.attempts,
                Subscription.id.label("subscription_id"),
                Subscription.url,
            )
            .join(Subscription, Subscription.id == WebhookDelivery.subscription_id)
            .where(
                WebhookDelivery.status == "pending",
                WebhookDelivery.next_attempt_at <= now,
                Subscription.active.is_(True),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        ).all()
    secret_key = rt.keys.webhook  # the derived webhook key, never the raw secret
    allow_private = rt.config.webhooks.allow_private_addresses
    require_https = not rt.config.security.development
    for row in due:
        payload = row.payload if isinstance(row.payload, dict) else json.loads(row.payload)
        body = body_of(payload)
        stamp = int(time.time())  # wall time: the subscriber checks it against its clock
        secret = subscription_secret(secret_key, row.subscription_id)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "credit-registry-webhooks",
            SIGNATURE_HEADER: sign(secret, body, stamp),
            TIMESTAMP_HEADER: str(stamp),
            DELIVERY_HEADER: str(row.id),
            EVENT_HEADER: str(payload.get("event", "")),
        }
        # The address is checked again now, and the connection goes to the checked one.
        status, error = post(
            row.url,
            body,
            headers,
            timeout,
            allow_private=allow_private,
            require_https=require_https,
        )
        attempts = row.attempts + 1
        with rt.unit_of_work() as session:
            delivery = session.get(WebhookDelivery, row.id)
            if delivery is None or delivery.status != "pending":
                continue
            delivery.attempts = attempts
            delivery.last_status_code = status
            if status is not None and 200 <= status < 300:
                delivery.status = "delivered"
                delivery.delivered_at = clock.now()
                delivery.last_error = None
                run.delivered += 1
            elif attempts >= max_attempts:
                delivery.status = "failed"
                delivery.last_error = error or "connection"
                run.failed += 1
            else:
                delivery.last_error = error or "connection"
                delivery.next_attempt_at = clock.now() + backoff(attempts, base_delay)
                run.retrying += 1
        run.ids.append(row.id)
        if status is None or not 200 <= status < 300:
            log.info("webhook delivery %s attempt %s failed: %s", row.id, attempts, error)
    return run
