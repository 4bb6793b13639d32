"""The public lookup's short path (api.public.fastpath) answers exactly what the Flask view
answers — same bytes, same headers — counts in the same rate-limit window and request
metrics, and hands every other case to the view."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from api.public import fastpath
from registry.core.db import is_postgres
from tests.web.factories import TODAY, WebFactory

URL = "/api/v1/public/entities/{}"


@pytest.fixture
def codes(session):
    f = WebFactory(session, seed=11)
    authority = f.authority_code()
    out = []
    for i in range(4):
        entity = f.entity(f"广州市第{i}贸易有限公司")
        out.append(entity.uscc)
        for n in range(i):
            f.penalty(
                entity.uscc,
                authority_uscc=authority,
                decided_on=TODAY - timedelta(days=30 * (n + 1)),
                fine_wan=("5", "0.250000", None)[n % 3],
                party_name=entity.name,
                categories=("罚款", "没收违法所得") if n % 2 else ("警告",),
            )
        if i % 2:
            f.list_entry(entity.uscc, since=TODAY - timedelta(days=10))
    person = f.entity("王小明", f.uscc(), party_type="natural_person")
    f.penalty(
        person.uscc, authority_uscc=authority, party_name="王小明", party_type="natural_person"
    )
    out.append(person.uscc)
    session.commit()
    return out


class _Counting:
    """Counts the requests that reach the Flask application behind the short path."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.inner(environ, start_response)


def _behind(app) -> _Counting:
    counting = _Counting(app.wsgi_app.wsgi_app)
    app.wsgi_app.wsgi_app = counting
    return counting


def _headers(response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.items() if k != "Date"]


def test_same_answer_as_the_view(app, client, session, codes):
    view = _behind(app)
    for code in codes:
        short = client.get(URL.format(code))
        # as_of makes the view answer; the day is the same.
        full = client.get(URL.format(code) + f"?as_of={TODAY.isoformat()}")
        assert short.status_code == full.status_code == 200
        assert short.data == full.data
        assert _headers(short) == _headers(full)
        assert "Date" in short.headers
    if is_postgres(session):
        assert view.calls == len(codes)  # the as_of requests only
    else:
        assert view.calls == 2 * len(codes)  # SQLite: the view answers everything
    person = client.get(URL.format(codes[-1])).json
    assert person["name"].startswith("王*")
    assert "小明" not in person["name"]
    assert "11010519491231002X" not in client.get(URL.format(codes[-1])).get_data(as_text=True)


def test_other_cases_go_to_the_view(app, client, session, codes):
    view = _behind(app)
    malformed = client.get(URL.format("91440300MA5ABCDE1Y"))
    assert malformed.status_code == 400
    assert malformed.json["error"]["code"] == "malformed_code"
    unknown = client.get(URL.format("914403001922038216"))
    assert unknown.status_code == 404
    assert unknown.json["error"]["code"] == "not_found"
    etag = client.get(URL.format(codes[1])).headers["ETag"]
    assert client.get(URL.format(codes[1]), headers={"If-None-Match": etag}).status_code == 304
    assert client.head(URL.format(codes[1])).status_code == 200
    assert view.calls >= 4


def test_one_rate_limit_window_for_both_paths(make_client, session, codes):
    client = make_client(api={"public_rate_limit": "3/minute"})
    assert client.get(URL.format(codes[0])).status_code == 200
    assert client.get(URL.format(codes[1]) + f"?as_of={TODAY}").status_code == 200
    assert client.get(URL.format(codes[2])).status_code == 200
    over = client.get(URL.format(codes[0]))
    assert over.status_code == 429
    assert over.json["error"]["code"] == "rate_limited"
    assert int(over.headers["Retry-After"]) >= 1


def test_counted_in_the_request_metrics(client, session, codes, factory):
    admin = factory.token("admin")
    factory.commit()
    for code in codes:
        assert client.get(URL.format(code)).status_code == 200
    text = client.get("/metrics", headers=admin.headers).get_data(as_text=True)
    line = next(
        line
        for line in text.splitlines()
        if line.startswith("registry_http_requests_total{")
        and 'endpoint="/api/v1/public/entities/<string:uscc>"' in line
        and 'status="200"' in line
    )
    assert float(line.rsplit(" ", 1)[1]) == len(codes)
    assert (
        'registry_http_request_duration_seconds_count{endpoint="/api/v1/public/entities/'
        f'<string:uscc>",method="GET"}} {float(len(codes))}'
    ) in text


def test_thread_connections_close_with_the_engine(client, rt, session, codes):
    """The short path's own connections (one per server thread) are closed when the
    engine is disposed, and the next lookup opens a fresh one."""
    if not is_postgres(session):
        pytest.skip("the short path runs on PostgreSQL")
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    session.close()
    observer = create_engine(rt.engine.url, poolclass=NullPool)

    def backends() -> int:
        with observer.connect() as conn:
            return conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND application_name = 'credit-registry' AND pid <> pg_backend_pid()"
                )
            ).scalar_one()

    try:
        assert client.get(URL.format(codes[0])).status_code == 200
        assert backends() >= 1
        rt.engine.dispose()
        assert backends() == 0
        again = client.get(URL.format(codes[0]))
        assert again.status_code == 200
        assert client.get(URL.format(codes[1])).status_code == 200
    finally:
        observer.dispose()


_JSON_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
        st.sampled_from('"\\/\n\t\x00\x1f\x7f\u2028\u3000罚款王*'),
    )
)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_JSON_TEXT, inner, max_size=4),
    max_leaves=12,
)


_FLASK = Flask(__name__)
_FLASK.json.ensure_ascii = False  # type: ignore[attr-defined]  # as api.create_app sets it


@settings(deadline=None)
@given(st.dictionaries(_JSON_TEXT, _JSON_VALUES, max_size=6))
def test_short_path_json_is_flasks(value):
    """The short path's serialiser writes the bytes Flask's JSON provider writes for the
    kinds of values an answer holds (text of any kind, integers, booleans, null)."""
    with _FLASK.app_context():
        expected = _FLASK.json.response(value).get_data()
    assert fastpath.dumps(value) == expected
