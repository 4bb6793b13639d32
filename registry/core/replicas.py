"""Read replicas: which database a public read goes to (docs/scaling.md).

``database.replica_urls`` names PostgreSQL streaming standbys.  Public lookups, search,
published lists and the change feed only read, and may read a replica; everything else —
every write, and every read of the few seconds after a token wrote (api/common/context.py)
— goes to the primary.  A replica is used while it is up, streaming from the primary, and
no more than ``database.max_replica_lag`` seconds behind it; each is checked at most once a
second per process, and one that is down or lags is skipped until a check finds it well
again.  No replica usable: the primary answers, so every answer stays correct.

How far behind: a standby that has replayed everything it received is not behind at all
(an idle primary sends nothing new); otherwise the age of the last transaction it
replayed.  A standby whose WAL receiver is not streaming cannot tell, and is skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from registry.core.config import Config
from registry.core.db import make_engine, make_session_factory

#: Seconds between two checks of one replica (per process).
CHECK_EVERY_S = 1.0
_LAG = text(
    "SELECT pg_is_in_recovery(), "
    "(SELECT status FROM pg_stat_wal_receiver LIMIT 1), "
    "CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE COALESCE(EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()), "
    "1e9) END"
)
_log = logging.getLogger(__name__)


@dataclass
class _Replica:
    engine: Engine
    sessions: sessionmaker[Session]
    checked_at: float = -1e9
    usable: bool = False


class Replicas:
    """The configured replicas of one runtime, and the choice among them."""

    def __init__(self, config: Config) -> None:
        self.max_lag = float(config.database.max_replica_lag)
        self._lock = threading.Lock()
        self._replicas: list[_Replica] = []
        for url in config.database.replica_urls:
            engine = make_engine(
                replace(config, database=replace(config.database, url=url, replica_urls=()))
            )
            self._replicas.append(_Replica(engine, make_session_factory(engine)))

    @property
    def configured(self) -> bool:
        return bool(self._replicas)

    def lag(self, engine: Engine) -> float | None:
        """Seconds ``engine``'s standby is behind, or None when it cannot be used."""
        try:
            with engine.connect() as conn:
                standby, receiver, behind = conn.execute(_LAG).one()
        except Exception as exc:  # down, refusing, timing out: skipped for now
            _log.info("replica %s skipped: %s", engine.url.render_as_string(), exc)
            return None
        if not standby or receiver != "streaming":
            return None
        return float(behind)

    def sessions(self) -> sessionmaker[Session] | None:
        """Sessions on the first usable replica, or None (read the primary)."""
        now = time.monotonic()
        for replica in self._replicas:
            with self._lock:
                due = now - replica.checked_at >= CHECK_EVERY_S
                if due:
                    replica.checked_at = now
            if due:
                lag = self.lag(replica.engine)
                replica.usable = lag is not None and lag <= self.max_lag
            if replica.usable:
                return replica.sessions
        return None

    def mark_failed(self, sessions: sessionmaker[Session]) -> None:
        """A read on a replica failed: skip it until its next check."""
        for replica in self._replicas:
            if replica.sessions is sessions:
                replica.usable = False
                replica.checked_at = time.monotonic()

    def dispose(self) -> None:
        for replica in self._replicas:
            replica.engine.dispose()
