"""What reaches the logs: request lines, never a body or a statement's values.

A receipt, an ID number or a token travels in a request body or a header — never in
a URL — so the server's access log (the request line) cannot record it; and a database
error names the statement but SQLAlchemy does not append the values bound to it
(``hide_parameters``), so a filer's contact or a name does not end up in a log line
through an exception.  (The driver's own text is another matter: psycopg2 binds values
into the statement on the client, so PostgreSQL's ``LINE 1: …`` excerpt can quote part
of one — docs/security.md.  ID numbers, tokens and receipts never reach SQL at all: only
their keyed hashes do.)
"""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.reliability.conftest import start_server


def _post(base: str, path: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(base + path, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_the_access_log_has_request_lines_without_bodies(database_url, tmp_path, factory):
    department = factory.token("department")
    factory.commit()
    number = factory.id_number()
    receipt = "YY-7K3M-Q9DX-2HTB-W4NE"
    log = tmp_path / "serve.log"
    server = start_server(database_url, log=log)
    try:
        json_body = {"Content-Type": "application/json"}
        status = _post(
            server.base,
            "/api/v1/public/objections/status",
            f'{{"receipt": "{receipt}"}}'.encode(),
            json_body,
        )
        assert status == 404
        checked = _post(
            server.base,
            "/api/v1/sanctions/person-check",
            f'{{"id_number": "{number}"}}'.encode(),
            {**json_body, "Authorization": f"Bearer {department.secret}"},
        )
        assert checked == 200
        login = _post(
            server.base,
            "/dashboard/login",
            f"token={department.secret}".encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert login == 400  # no CSRF token: refused, and still not logged
    finally:
        server.stop()
    written = log.read_text(errors="replace")
    assert "POST /api/v1/public/objections/status" in written  # the log does log requests
    assert "POST /api/v1/sanctions/person-check" in written
    for secret in (receipt, receipt.replace("-", ""), number, department.secret):
        assert secret not in written, f"{secret} is in the server's log"


def test_a_database_error_carries_no_values(rt):
    contact = "13800138000 王先生"
    with rt.engine.connect() as conn, pytest.raises(DBAPIError) as caught:
        conn.execute(text("SELECT * FROM no_such_table WHERE contact = :c"), {"c": contact})
    # What SQLAlchemy adds to the driver's message: the statement, not its values.
    ours = str(caught.value).replace(str(caught.value.orig), "")
    assert "no_such_table" in ours
    assert "13800138000" not in ours
    assert "hidden" in ours  # "[SQL parameters hidden due to hide_parameters=True]"
