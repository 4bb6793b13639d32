"""Private PostgreSQL 15 nodes on free ports of this machine: a Citus coordinator with two
workers, and a streaming standby of a primary (``pg_basebackup -R``).

Used by the cluster tests (tests/cluster/conftest.py) and bench/citus_bench.py.  Each
node is an ``initdb`` data directory under one temporary directory owned by the
``postgres`` user (PostgreSQL refuses to run as root; when the tests run as root every
server command goes through ``runuser -u postgres``), listening on 127.0.0.1 with its own
port and socket directory, trust authentication, ``shared_preload_libraries = 'citus'``.
:meth:`Nodes.close` stops every server and removes the directory.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(os.environ.get("REGISTRY_PG_BIN", "/usr/lib/postgresql/15/bin"))
CITUS_LIBRARY = BIN.parent / "lib" / "citus.so"
CITUS_CONTROL = Path("/usr/share/postgresql/15/extension/citus.control")
DATABASE = "registry"
#: Small nodes: two shared cores, a test suite beside them.
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "100",
    "shared_buffers": "32MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_prepared_transactions": "100",
    "wal_level": "replica",
    "max_wal_senders": "4",
    "hot_standby": "on",
    "wal_keep_size": "64MB",
    "log_min_messages": "fatal",
    "citus.shard_count": "8",
    "citus.log_remote_commands": "off",
}


def citus_available() -> str | None:
    """Why a Citus cluster cannot be started here, or None when it can."""
    if not (BIN / "initdb").exists():
        return f"no PostgreSQL 15 server binaries under {BIN}"
    if not CITUS_LIBRARY.exists() or not CITUS_CONTROL.exists():
        return "citus is not installed (../shared/citus/install.sh, as root)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@dataclass
class Node:
    name: str
    datadir: Path
    port: int
    logfile: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def dsn(self, database: str = DATABASE) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def start(self) -> None:
        _run(
            [
                str(BIN / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(self.logfile),
                "-w",
                "-t",
                "60",
                "start",
            ]
        )

    def stop(self, mode: str = "fast") -> None:
        if (self.datadir / "postmaster.pid").exists():
            _run(
                [str(BIN / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"],
                check=False,
            )

    def kill(self) -> None:
        """Stop the server at once, as a crash would (immediate shutdown)."""
        self.stop("immediate")

    def psql(self, sql: str, database: str = DATABASE) -> str:
        out = subprocess.run(
            [
                str(BIN / "psql"),
                "-X",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                self.dsn(database),
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()


def _run(argv: list[str], check: bool = True) -> None:
    result = subprocess.run(_as_postgres(argv), capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {result.stdout}{result.stderr}")


@dataclass
class Nodes:
    """The nodes started under one temporary directory."""

    root: Path
    nodes: list[Node] = field(default_factory=list)

    @classmethod
    def create(cls) -> Nodes:
        root = Path(tempfile.mkdtemp(prefix="registry-pgnodes-"))
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        root.chmod(0o700)
        return cls(root)

    def node(self, name: str, citus: bool = True) -> Node:
        """A fresh node (initdb, configured, started) with the database created."""
        node = Node(name, self.root / name, free_port(), self.root / f"{name}.log")
        _run(
            [
                str(BIN / "initdb"),
                "-D",
                str(node.datadir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ]
        )
        settings = {**SETTINGS, "port": str(node.port), "unix_socket_directories": f"'{self.root}'"}
        if citus:
            settings["shared_preload_libraries"] = "'citus'"
        with (node.datadir / "postgresql.conf").open("a") as conf:
            conf.write("".join(f"{k} = {v}\n" for k, v in settings.items()))
        with (node.datadir / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        self.nodes.append(node)
        node.start()
        node.psql(f"CREATE DATABASE {DATABASE}", database="postgres")
        if citus:
            node.psql("CREATE EXTENSION citus")
        return node

    def standby(self, primary: Node, name: str = "replica") -> Node:
        """A streaming standby of ``primary`` (``pg_basebackup -R``), started."""
        node = Node(name, self.root / name, free_port(), self.root / f"{name}.log")
        _run(
            [
                str(BIN / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-D",
                str(node.datadir),
                "-R",
                "-X",
                "stream",
                "--checkpoint=fast",
                "--no-sync",
            ]
        )
        with (node.datadir / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {node.port}\nhot_standby_feedback = on\n")
        self.nodes.append(node)
        node.start()
        return node

    def citus_cluster(self, workers: int = 2) -> tuple[Node, list[Node]]:
        """A coordinator with ``workers`` workers added."""
        coordinator = self.node("coordinator")
        members = [self.node(f"worker{i + 1}") for i in range(workers)]
        coordinator.psql(f"SELECT citus_set_coordinator_host('127.0.0.1', {coordinator.port})")
        for worker in members:
            coordinator.psql(f"SELECT citus_add_node('127.0.0.1', {worker.port})")
        return coordinator, members

    def close(self) -> None:
        for node in reversed(self.nodes):
            node.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def wait_for(condition, timeout: float = 30.0, step: float = 0.1) -> bool:  # type: ignore[no-untyped-def]
    """Poll ``condition()`` until it is true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())
