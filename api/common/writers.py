"""Which token wrote lately: the memory behind read-your-writes on read replicas.

After a token writes, its reads go to the primary for ``max_replica_lag`` + 2 seconds
(api/common/context.py): by then any replica still in use has its write.  Behind a load
balancer the next request of the same token may reach another worker, so the memory
must be shared: ``database.writers_storage`` names it.

- ``memory://``: each worker (each app) its own — right for one worker, or when a
  token's requests always reach the same one;
- ``redis://…`` / ``rediss://…``: one memory for every worker.  A key per token, named
  by the SHA-256 of its secret (never the secret), expiring with the window.  When Redis
  cannot be reached a read goes to the primary (never stale; a warning is logged) and a
  write is not remembered (logged too).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from registry.core.config import ConfigError

log = logging.getLogger(__name__)

#: Redis keys: this prefix and the token's SHA-256.
PREFIX = "credit-registry:wrote:"


class Writers(Protocol):
    def remember(self, token_hash: str, window_s: float) -> None: ...

    def wrote_lately(self, token_hash: str) -> bool: ...


class MemoryWriters:
    """One worker's memory: token hash → when its window ends (monotonic)."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def remember(self, token_hash: str, window_s: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._until[token_hash] = now + window_s
            for old in [k for k, until in self._until.items() if until <= now]:
                del self._until[old]

    def wrote_lately(self, token_hash: str) -> bool:
        with self._lock:
            until = self._until.get(token_hash)
        return until is not None and time.monotonic() < until


class RedisWriters:
    """Every worker's memory, in Redis (a key per token, expiring with its window)."""

    def __init__(self, url: str) -> None:
        import redis

        self._errors = redis.RedisError
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def remember(self, token_hash: str, window_s: float) -> None:
        try:
            self._redis.set(PREFIX + token_hash, b"1", px=max(1, int(window_s * 1000)))
        except self._errors as exc:
            log.warning("写入令牌的近期写操作记录失败（Redis 不可用）：%s", type(exc).__name__)

    def wrote_lately(self, token_hash: str) -> bool:
        try:
            return bool(self._redis.exists(PREFIX + token_hash))
        except self._errors as exc:
            log.warning(
                "读取令牌的近期写操作记录失败（Redis 不可用），改读主库：%s", type(exc).__name__
            )
            return True


def writers_from(url: str) -> Writers:
    """The memory ``database.writers_storage`` names."""
    if url in ("memory://", ""):
        return MemoryWriters()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisWriters(url)
    raise ConfigError(
        f"database.writers_storage: 应为 memory:// 或 Redis 地址（redis://…），而不是 {url!r}"
    )
