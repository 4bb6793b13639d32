"""The API workers' memory of which token wrote lately (read-your-writes on replicas,
api/common/writers.py): per worker in memory, shared in this machine's Redis, and on
the safe side (the primary) when Redis cannot be reached."""

from __future__ import annotations

import hashlib
import logging
import time

import pytest

from api.common.writers import MemoryWriters, RedisWriters, writers_from
from registry.core.config import ConfigError

REDIS = "redis://127.0.0.1:6379"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def test_a_workers_own_memory_forgets_after_the_window():
    writers = MemoryWriters()
    writers.remember(_hash("a"), 0.2)
    assert writers.wrote_lately(_hash("a"))
    assert not writers.wrote_lately(_hash("b"))
    time.sleep(0.3)
    assert not writers.wrote_lately(_hash("a"))


def test_workers_sharing_redis_know_what_another_remembered():
    token = _hash(f"token-{time.time_ns()}")
    first, second = RedisWriters(REDIS), RedisWriters(REDIS)
    assert not second.wrote_lately(token)
    first.remember(token, 0.5)
    assert second.wrote_lately(token)
    time.sleep(0.7)
    assert not second.wrote_lately(token)  # the key expired with its window


def test_without_redis_reads_go_to_the_primary_and_nothing_raises(caplog):
    away = RedisWriters("redis://127.0.0.1:1")
    with caplog.at_level(logging.WARNING, logger="api.common.writers"):
        away.remember(_hash("c"), 5)
        assert away.wrote_lately(_hash("c")) is True
    assert "Redis 不可用" in caplog.text
    assert _hash("c") not in caplog.text  # no token hash in the log


def test_an_unknown_storage_names_the_setting():
    assert isinstance(writers_from("memory://"), MemoryWriters)
    with pytest.raises(ConfigError, match=r"database\.writers_storage"):
        writers_from("ftp://127.0.0.1")
