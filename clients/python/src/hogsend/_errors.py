"""The errors the client raises. Every one derives from `HogsendError`."""

from __future__ import annotations

from typing import Any

import httpx


class HogsendError(Exception):
    """Root of every error this package raises."""


class HogsendAPIError(HogsendError):
    """The server answered with a non-2xx status.

    `status` is the HTTP status, `error` the server's `{"error": "..."}` text (or a
    short description when the body had none), `body` the parsed JSON body (or the
    raw text), `headers` the response headers, `method` and `url` the request.
    """

    def __init__(self, *, status: int, error: str, body: Any, headers: httpx.Headers,
                 method: str, url: str) -> None:
        self.status = status
        self.error = error
        self.body = body
        self.headers = headers
        self.method = method
        self.url = url
        super().__init__(f"{status} {error} ({method} {url})")

    @property
    def message(self) -> str:
        """The server's error text (the `error` field of its body)."""
        return self.error


class BadRequestError(HogsendAPIError):
    """400: the server refused the input; nothing was written."""


class AuthenticationError(HogsendAPIError):
    """401: a missing, unknown, revoked or expired API key."""


class PermissionDeniedError(HogsendAPIError):
    """403: the key lacks the scope (an `ingest` key on the admin plane, say)."""


class NotFoundError(HogsendAPIError):
    """404: no such resource, or a route this server does not serve."""


class ConflictError(HogsendAPIError):
    """409: the request conflicts with the resource's state (a finished run, say)."""


class RateLimitError(HogsendAPIError):
    """429: over the key's rate limit. `retry_after` is the server's `Retry-After`
    in seconds (None when it sent none)."""

    def __init__(self, *, retry_after: float | None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(**kwargs)


class InternalServerError(HogsendAPIError):
    """5xx: the server (or a proxy in front of it) failed."""


class APIConnectionError(HogsendError, ConnectionError):
    """The request got no answer: the connection failed or dropped. Also a
    builtin `ConnectionError`, so `except ConnectionError` catches it."""

    def __init__(self, message: str, *, method: str, url: str) -> None:
        self.method = method
        self.url = url
        super().__init__(f"{message} ({method} {url})")


class APITimeoutError(APIConnectionError, TimeoutError):
    """No answer within the client's timeout (also a builtin `TimeoutError`)."""


class WebhookVerificationError(HogsendError):
    """A webhook delivery failed verification: missing headers, a stale or future
    timestamp, a signature that does not match, or a body that is not JSON."""


STATUS_ERRORS: dict[int, type[HogsendAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def error_class(status: int) -> type[HogsendAPIError]:
    if status in STATUS_ERRORS:
        return STATUS_ERRORS[status]
    return InternalServerError if status >= 500 else HogsendAPIError
