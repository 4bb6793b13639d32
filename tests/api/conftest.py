"""Fixtures of the API tests (on top of the suite's ``rt``/``session``/``app``/``client``):

- ``factory`` writes rows in ``session``; commit (``factory.commit()``) before requests;
- ``authority`` / ``other_authority``: two bureaus' codes; ``regulator`` and
  ``other_regulator`` are tokens bound to them, ``department`` a department's token
  (all committed);
- ``make_client(**sections)``: a client of an app built with config overrides on the
  same database (e.g. ``api={"public_rate_limit": "2/minute"}``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from registry.core.runtime import Runtime
from tests.api.factories import ApiFactory, Token
from tests.conftest import make_config


@pytest.fixture
def factory(session) -> ApiFactory:
    return ApiFactory(session)


@pytest.fixture
def authority(factory: ApiFactory) -> str:
    return factory.authority()


@pytest.fixture
def other_authority(factory: ApiFactory) -> str:
    return factory.authority()


@pytest.fixture
def regulator(factory: ApiFactory, authority: str) -> Token:
    token = factory.token("regulator", authority)
    factory.commit()
    return token


@pytest.fixture
def other_regulator(factory: ApiFactory, other_authority: str) -> Token:
    token = factory.token("regulator", other_authority)
    factory.commit()
    return token


@pytest.fixture
def department(factory: ApiFactory) -> Token:
    token = factory.token("department", None, name="市财政局政府采购处")
    factory.commit()
    return token


@pytest.fixture
def make_client(database_url: str, today) -> Iterator[Callable[..., object]]:
    runtimes: list[Runtime] = []

    def build(**sections: dict) -> object:
        from api import create_app

        runtime = Runtime(make_config(database_url, **sections))
        runtimes.append(runtime)
        application = create_app(runtime=runtime)
        application.config["TESTING"] = True
        return application.test_client()

    yield build
    for runtime in runtimes:
        runtime.dispose()
