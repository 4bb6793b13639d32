"""One registry runtime: the frozen config plus the resources built from it (engine,
session factory, active rule pack, derived keys).  The CLI, the web app and the
scheduler each make one; nothing is created at import time.  A runtime is refused
(:class:`registry.core.keys.WeakSecret`) for a weak deployment secret outside
development mode — before any engine exists, so nothing touches the database."""

from __future__ import annotations

import threading
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from registry.core.config import Config, load_config
from registry.core.db import make_engine, make_session_factory, unit_of_work
from registry.core.keys import Keys, keys_for
from registry.core.replicas import Replicas

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from rules import RulePack


class Runtime:
    def __init__(self, config: Config | None = None) -> None:
        self.config = config or load_config()
        self.keys: Keys = keys_for(self.config.security)
        self._lock = threading.Lock()

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.config)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Sessions for reading (and for writes whose caller commits itself)."""
        return make_session_factory(self.engine)

    @cached_property
    def write_sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine, write=True)

    def unit_of_work(self) -> AbstractContextManager[Session]:
        """A writing session whose transaction commits on success, rolls back on error."""
        return unit_of_work(self.write_sessions)

    @cached_property
    def pack(self) -> RulePack:
        """The active rule pack (the first named in ``rules.packs``)."""
        from rules import load_pack

        return load_pack(self.config.rule_pack_paths()[0])

    @cached_property
    def evaluator(self) -> Any:
        return self.pack.evaluator()

    @cached_property
    def replicas(self) -> Replicas:
        """The read replicas (``database.replica_urls``), registry.core.replicas."""
        return Replicas(self.config)

    def dispose(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
        if "replicas" in self.__dict__:
            self.replicas.dispose()
