"""Fixtures of the lifecycle tests (on top of the suite's ``rt``/``session``/``today``):

- ``factory`` makes rows in ``session`` (a plain session; commit it before code that
  opens its own sessions, e.g. the rules after a revocation or the scheduler);
- ``pack`` is the default rule pack;
- ``authority`` is the code of the bureau that decided the test's penalties.
"""

from __future__ import annotations

import pytest

from tests.lifecycle.factories import Factory, default_pack


@pytest.fixture
def pack():
    return default_pack()


@pytest.fixture
def factory(session) -> Factory:
    return Factory(session)


@pytest.fixture
def authority(factory: Factory) -> str:
    return factory.authority()
