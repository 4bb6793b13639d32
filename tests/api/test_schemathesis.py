"""Property-based run of the whole API against its own OpenAPI document (schemathesis):
no server error, every answer's status, content type and body as documented, and
schema-violating requests rejected.

Bounded in time: a few positive and a few negative examples per operation.  Protected
operations are called with a token of the right role, so generated inputs reach the
views; the small data set touches every kind of row, so lookups by id and code find
something.  (Driven through ``operation.as_strategy`` with hypothesis directly: the
lazy pytest fixture loader of schemathesis does not run on pytest 9.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from registry.core.runtime import Runtime
from tests.conftest import make_config

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
EXAMPLES = {GenerationMode.POSITIVE: 15, GenerationMode.NEGATIVE: 6}


def _role(path: str) -> str | None:
    if path.startswith("/api/v1/public"):
        return None
    if path.startswith(("/api/v1/sanctions", "/api/v1/subscriptions")):
        return "department"
    return "regulator"


def _fuzz(operation, mode: GenerationMode, examples: int, headers: dict[str, str]) -> None:
    # The token is a fixed header: negative cases mutate the documented inputs, not it.
    @given(case=operation.as_strategy(generation_mode=mode, headers=headers or None))
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case) -> None:
        case.call_and_validate(checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        # Nothing to break in an operation whose only input is the fixed token.
        if mode is not GenerationMode.NEGATIVE:
            raise


@pytest.mark.slow
def test_api_conforms_to_its_document(rt, database_url, factory, regulator, department):
    from api import create_app

    entity = factory.entity()
    penalty = factory.penalty(entity.uscc, regulator.authority)
    entry = factory.entry(entity.uscc, authority_uscc=regulator.authority, basis=[penalty.id])
    factory.decision(entry, [penalty.id])
    factory.entry(entity.uscc, "ip_serious", authority_uscc=regulator.authority, status="proposed")
    factory.alert(penalty)
    factory.commit()
    runtime = Runtime(make_config(database_url, api={"public_rate_limit": "1000000/minute"}))
    app = create_app(runtime=runtime)
    app.config["TESTING"] = True
    tokens = {"regulator": regulator, "department": department}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 28
    try:
        for operation in operations:
            role = _role(operation.path)
            headers = tokens[role].headers if role else {}
            for mode, examples in EXAMPLES.items():
                _fuzz(operation, mode, examples, headers)
    finally:
        runtime.dispose()
