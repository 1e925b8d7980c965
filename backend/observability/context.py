"""The request id of the work in progress, carried across threads, tasks and partner calls."""

import re
import uuid
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# An incoming X-Request-ID is echoed into logs and responses: keep it short and printable.
_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(candidate: str | None) -> str:
    """The caller's id when it is safe to echo, else a fresh one."""
    if candidate and _ACCEPTABLE_ID.match(candidate):
        return candidate
    return new_request_id()


def current_request_id() -> str | None:
    return request_id_var.get()
