"""The ``credit-registry`` command line and the scheduler's job wiring: the top layer,
which may use every other (``api``, ``importers``, ``registry``, ``rules``).

Each command builds a :class:`~registry.core.runtime.Runtime` from the configuration
layers, calls a domain operation in one unit of work, and prints a short result.
Expected failures (bad configuration, database down, malformed input) end with a
one-line ``Error: …`` and exit status 2, never a traceback.
"""

# The commands register themselves on the group when their modules are imported.
from cli import admin, data, decisions, rules, service  # noqa: F401  (registration)
from cli.base import cli, main

__all__ = ["cli", "main"]
