"""The machinery shared by `Hogsend` and `AsyncHogsend`.

Every API operation is written once, as a *plan*: a generator that yields the
`Request`s it needs and receives each parsed answer back (most yield one;
`events.send_batch` yields one per chunk of 1,000). The plan holds everything
about the wire (paths, camelCase bodies, generated idempotency keys, how answers
are read); it does no I/O. The sync client drives plans with `httpx.Client`, the
async one with `httpx.AsyncClient`, and both retry through the same policy
functions below. `op` turns a plan method of a resource class into a method that
returns the result (sync) or a coroutine of it (async), so a resource is declared
once and typed for both clients.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import inspect
import json
import os
import random
import time
import uuid
from collections.abc import Callable, Coroutine, Generator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dt_time
from decimal import Decimal
from typing import Any, Concatenate, Generic, ParamSpec, TypeAlias, TypeVar, overload
from urllib.parse import quote

import httpx

from hogsend._errors import (
    APIConnectionError,
    APITimeoutError,
    HogsendAPIError,
    HogsendError,
    RateLimitError,
    error_class,
)

__version__ = "0.1.0"

T = TypeVar("T")
DEFAULT_BASE_URL = "http://localhost:8000"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 2
# Backoff between attempts: 0.5 s, 1 s, 2 s, ... capped at 8 s, each with jitter.
INITIAL_BACKOFF = 0.5
MAX_BACKOFF = 8.0
# A Retry-After longer than this is not slept through: the error is raised (with
# `retry_after`) so the caller can reschedule instead of blocking for minutes.
MAX_RETRY_AFTER = 60.0
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


# --- requests and plans ------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One HTTP request of a plan. `json` None sends no body. `retry_safe` says
    whether repeating it after a lost answer is harmless: by default for GET, PUT
    and DELETE and for any request carrying an idempotency key."""

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    json: Any = None
    idempotency_key: str | None = None
    retry_safe: bool | None = None
    # Answer with the body as text (template previews as HTML), not parsed JSON.
    text: bool = False
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def can_repeat(self) -> bool:
        if self.retry_safe is not None:
            return self.retry_safe
        return self.method in SAFE_METHODS or self.idempotency_key is not None


Plan: TypeAlias = Generator[Request, Any, T]


def new_idempotency_key() -> str:
    """A fresh key for a write the caller gave none: generated once per call, so
    every retry of that call re-sends the same key and the server stores it once."""
    return str(uuid.uuid4())


def compact(**fields: Any) -> dict[str, Any]:
    """A JSON body without the fields left as None (None means "not given" here;
    a property explicitly set to None inside `properties` is kept and clears it)."""
    return {key: wire(value) for key, value in fields.items() if value is not None}


def wire(value: Any) -> Any:
    """Datetimes as ISO 8601 text; everything else as given."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def encode_json(value: Any) -> bytes:
    """Compact JSON, with datetimes, UUIDs and Decimals inside properties too."""
    return json.dumps(value, separators=(",", ":"), default=_json_default).encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date | dt_time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def query(**params: Any) -> dict[str, str]:
    """Query parameters without the ones left as None; booleans as true/false."""
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            out[key] = ",".join(str(wire(item)) for item in value)
        else:
            out[key] = str(wire(value))
    return out


def segment(value: Any, *, safe: str = "") -> str:
    """One path segment, percent-encoded (an external id may hold any character)."""
    text = str(value)
    if not text:
        raise ValueError("an empty id cannot name a resource")
    return quote(text, safe=safe)


def require_identity(email: str | None, user_id: str | None) -> None:
    if not (email or user_id):
        raise ValueError("email or user_id is required")


# --- resources and `op` ----------------------------------------------------------------


class Sync:
    """Marker: a resource bound to `Hogsend`."""


class Async:
    """Marker: a resource bound to `AsyncHogsend`."""


M = TypeVar("M", Sync, Async)


class Resource(Generic[M]):
    """A group of operations (`hs.contacts`, `hs.admin.journeys`, ...)."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client


R = TypeVar("R", bound=Resource[Any])
PS = ParamSpec("PS")


class op(Generic[R, PS, T]):
    """Turns `def name(self, ...) -> Plan[T]` on a resource into a method returning
    `T` on a `Hogsend` resource and `Coroutine[..., T]` on an `AsyncHogsend` one."""

    def __init__(self, plan: Callable[Concatenate[R, PS], Plan[T]]) -> None:
        self.plan = plan
        functools.update_wrapper(self, plan)  # type: ignore[arg-type]
        signature = inspect.signature(plan)
        # What `help()` shows: no `self`, and the result rather than the plan.
        result = signature.return_annotation
        if isinstance(result, str) and result.startswith("Plan[") and result.endswith("]"):
            result = result[len("Plan["):-1]
        self.signature = signature.replace(
            parameters=list(signature.parameters.values())[1:], return_annotation=result)

    @overload
    def __get__(self, obj: None, owner: type[Any] | None = None) -> op[R, PS, T]: ...

    @overload
    def __get__(self, obj: Resource[Sync], owner: type[Any] | None = None
                ) -> Callable[PS, T]: ...

    @overload
    def __get__(self, obj: Resource[Async], owner: type[Any] | None = None
                ) -> Callable[PS, Coroutine[Any, Any, T]]: ...

    def __get__(self, obj: Any, owner: type[Any] | None = None) -> Any:
        if obj is None:
            return self
        plan, client = self.plan, obj._client
        if isinstance(client, AsyncClientBase):
            async def call_async(*args: Any, **kwargs: Any) -> Any:
                return await client._drive(plan(obj, *args, **kwargs))

            call: Callable[..., Any] = call_async
        else:
            def call_sync(*args: Any, **kwargs: Any) -> Any:
                return client._drive(plan(obj, *args, **kwargs))

            call = call_sync
        functools.update_wrapper(call, plan)
        del call.__wrapped__  # type: ignore[attr-defined]
        call.__signature__ = self.signature  # type: ignore[attr-defined]
        return call


# --- answers, errors and the retry policy ------------------------------------------------


def parse_body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def api_error(response: httpx.Response, request: Request) -> HogsendAPIError:
    body = parse_body(response)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        text = body["error"]
    elif isinstance(body, str) and body.strip():
        text = body.strip()[:200]
    else:
        text = response.reason_phrase or "error"
    kwargs: dict[str, Any] = {"status": response.status_code, "error": text, "body": body,
                              "headers": response.headers, "method": request.method,
                              "url": str(response.request.url)}
    cls = error_class(response.status_code)
    if cls is RateLimitError:
        return RateLimitError(retry_after=retry_after(response.headers), **kwargs)
    return cls(**kwargs)


def retry_after(headers: httpx.Headers) -> float | None:
    """`Retry-After` in seconds: a number, or an HTTP date (None when absent)."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def transport_error(exc: httpx.TransportError, request: Request, url: str) -> APIConnectionError:
    cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    return cls(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__,
               method=request.method, url=url)


# Failures after which the request may or may not have reached the server.
TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError,
             httpx.ProxyError)
# Failures before anything was sent: retrying cannot repeat a write.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def retry_delay(*, request: Request, error: HogsendError, cause: Exception | None,
                attempt: int, max_retries: int) -> float | None:
    """Seconds to wait before attempt `attempt + 1`, or None to give up and raise.

    429 is always retried (the server refused before doing anything), after the
    server's `Retry-After`. A lost answer (connection dropped, timeout) and 408/5xx
    are retried only when repeating the request is harmless: it never left, or it
    is idempotent, or it carries an idempotency key (which every event and email
    send does), so the server stores a retried write once.
    """
    if attempt >= max_retries:
        return None
    if isinstance(error, RateLimitError):
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= MAX_RETRY_AFTER else None
    elif isinstance(error, HogsendAPIError):
        if error.status not in RETRY_STATUSES or not request.can_repeat:
            return None
        after = retry_after(error.headers)
        if after is not None:
            return after if after <= MAX_RETRY_AFTER else None
    elif isinstance(error, APIConnectionError):
        if not isinstance(cause, TRANSIENT):
            return None
        if not (request.can_repeat or isinstance(cause, NEVER_SENT)):
            return None
    else:
        return None
    backoff = min(MAX_BACKOFF, INITIAL_BACKOFF * 2 ** attempt)
    # Equal jitter: clients that failed together do not all come back together.
    return backoff / 2 + random.uniform(0, backoff / 2)


# --- the clients' common base ----------------------------------------------------------------


class BaseClient:
    """Configuration and request building shared by both clients."""

    def __init__(self, *, api_key: str | None, base_url: str | None,
                 timeout: float | httpx.Timeout, max_retries: int,
                 headers: Mapping[str, str] | None) -> None:
        api_key = api_key or os.environ.get("HOGSEND_API_KEY")
        if not api_key:
            raise HogsendError("an API key is required: pass api_key= or set HOGSEND_API_KEY")
        if max_retries < 0:
            raise ValueError("max_retries cannot be negative")
        self.api_key = api_key
        self.base_url = (base_url or os.environ.get("HOGSEND_BASE_URL")
                         or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "User-Agent": f"hogsend-python/{__version__}",
            **(headers or {}),
        }

    def __repr__(self) -> str:  # never shows the key
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def _url(self, request: Request) -> str:
        return f"{self.base_url}{request.path}"

    def _httpx_kwargs(self, request: Request) -> dict[str, Any]:
        headers = {**self._headers, **request.headers}
        kwargs: dict[str, Any] = {"params": request.params, "timeout": self.timeout}
        if request.json is not None:
            headers["Content-Type"] = "application/json"
            kwargs["content"] = encode_json(request.json)
        if request.idempotency_key:
            headers["Idempotency-Key"] = request.idempotency_key
        kwargs["headers"] = headers
        return kwargs

    @staticmethod
    def _answer(response: httpx.Response, request: Request) -> Any:
        return response.text if request.text else parse_body(response)


class SyncClientBase(BaseClient):
    _sleep: Callable[[float], Any] = staticmethod(time.sleep)

    def __init__(self, *, http_client: httpx.Client | None, **config: Any) -> None:
        super().__init__(**config)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client()

    def _drive(self, plan: Plan[T]) -> T:
        try:
            request = next(plan)
            while True:
                request = plan.send(self._send(request))
        except StopIteration as done:
            return done.value

    def _send(self, request: Request) -> Any:
        url = self._url(request)
        attempt = 0
        while True:
            cause: Exception | None = None
            error: HogsendError
            try:
                response = self._http.request(request.method, url,
                                              **self._httpx_kwargs(request))
            except httpx.TransportError as exc:
                cause, error = exc, transport_error(exc, request, url)
            else:
                if response.is_success:
                    return self._answer(response, request)
                error = api_error(response, request)
            delay = retry_delay(request=request, error=error, cause=cause, attempt=attempt,
                                max_retries=self.max_retries)
            if delay is None:
                raise error from cause
            self._sleep(delay)
            attempt += 1

    def close(self) -> None:
        """Close the connection pool (only the one the client made itself)."""
        if self._owns_http:
            self._http.close()


class AsyncClientBase(BaseClient):
    _sleep: Callable[[float], Coroutine[Any, Any, Any]] = staticmethod(asyncio.sleep)

    def __init__(self, *, http_client: httpx.AsyncClient | None, **config: Any) -> None:
        super().__init__(**config)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient()

    async def _drive(self, plan: Plan[T]) -> T:
        try:
            request = next(plan)
            while True:
                request = plan.send(await self._send(request))
        except StopIteration as done:
            return done.value

    async def _send(self, request: Request) -> Any:
        url = self._url(request)
        attempt = 0
        while True:
            cause: Exception | None = None
            error: HogsendError
            try:
                response = await self._http.request(request.method, url,
                                                    **self._httpx_kwargs(request))
            except httpx.TransportError as exc:
                cause, error = exc, transport_error(exc, request, url)
            else:
                if response.is_success:
                    return self._answer(response, request)
                error = api_error(response, request)
            delay = retry_delay(request=request, error=error, cause=cause, attempt=attempt,
                                max_retries=self.max_retries)
            if delay is None:
                raise error from cause
            await self._sleep(delay)
            attempt += 1

    async def aclose(self) -> None:
        """Close the connection pool (only the one the client made itself)."""
        if self._owns_http:
            await self._http.aclose()
