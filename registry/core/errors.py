"""Domain exceptions.  Each carries the HTTP status it maps to (api/common/errors.py maps them
in one table) and a message in Chinese a person can act on.

``details`` names what is wrong by field: ``{"reason": ["必须填写撤销理由"]}`` (a mapping of
field to messages, nested mappings allowed); ``context`` carries the facts a client may act
on (``{"penalty_id": 7}``, ``{"allowed_from": "2027-03-01"}``).  For older call sites a
scalar value in ``details`` counts as context.  Both are JSON-able."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, details: Any = None, *, context: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.context = context


class NotFound(DomainError):
    status, code = 404, "not_found"


class Forbidden(DomainError):
    """The caller may not do this (e.g. another authority's record)."""

    status, code = 403, "forbidden"


class Conflict(DomainError):
    """The state does not allow it (e.g. confirming an entry that is not proposed)."""

    status, code = 409, "conflict"


class Invalid(DomainError):
    """Well-formed but invalid input (field-level details)."""

    status, code = 422, "invalid"


class TooEarly(Invalid):
    """E.g. a repair application before the minimum period; details say from when."""

    code = "too_early"
