"""Every name these tests take from the project, in one place.

The tests go through HTTP (``client``/``make_client``) and the real CLI (``invoke``)
wherever they can; what they cannot reach that way — building an app from a
configuration, the scheduler's job functions, the registry clock — is imported here
only, so a move of ``registry/`` or ``api/`` is one file to follow.
"""

from __future__ import annotations

from api import create_app
from importers.inbox import import_inbox
from registry.core.clock import set_clock
from registry.core.runtime import Runtime
from registry.delivery.webhooks import deliver_due
from tests.conftest import ROOT, make_config

__all__ = ["ROOT", "create_app", "deliver_due", "import_inbox", "runtime_of", "set_clock"]


def runtime_of(database_url: str, **sections: dict) -> Runtime:
    """A runtime on the test database with configuration overrides (dispose it)."""
    return Runtime(make_config(database_url, **sections))
