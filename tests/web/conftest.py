"""Fixtures of the web tests (on top of the suite's ``rt``/``session``/``client``):

- ``factory`` makes rows in ``session`` — commit before requesting pages, since the app
  reads through its own sessions;
- ``authority`` is the code of the bureau that decided the test's penalties;
- ``pack`` is the default rule pack.
"""

from __future__ import annotations

import pytest

from tests.web.factories import WebFactory


@pytest.fixture
def factory(session) -> WebFactory:
    return WebFactory(session)


@pytest.fixture
def authority(factory: WebFactory) -> str:
    return factory.authority_code()


@pytest.fixture
def pack(rt):
    return rt.pack
