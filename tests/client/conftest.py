"""Clients of the `hogsend` package pointed at pytest-django's live server: a real
HTTP server in a thread of this process, on the test database (so these tests
run in transactional mode), with keys made by the project's own service."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from hogsend import AsyncHogsend, Hogsend


@pytest.fixture
def sleeps() -> list[float]:
    """The backoff waits a client asked for (the client sleeps nothing in tests)."""
    return []


@pytest.fixture
def make_client(live_server, sleeps: list[float]) -> Iterator[Callable[..., Hogsend]]:
    """`make_client(key, **options)`: a sync client on the live server."""
    made: list[Hogsend] = []

    def make(api_key: str, **options) -> Hogsend:
        client = Hogsend(api_key=api_key, base_url=live_server.url, **options)
        client._sleep = sleeps.append
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def make_async_client(live_server, sleeps: list[float]) -> Callable[..., AsyncHogsend]:
    """`make_async_client(key, **options)`: an async client on the live server (use
    it inside `asyncio.run`, and `async with` it there)."""

    def make(api_key: str, **options) -> AsyncHogsend:
        async def record(delay: float) -> None:
            sleeps.append(delay)

        client = AsyncHogsend(api_key=api_key, base_url=live_server.url, **options)
        client._sleep = record
        return client

    return make


@pytest.fixture
def hs(make_client, ingest_key: str) -> Hogsend:
    """A client with an `ingest` key (the data plane)."""
    return make_client(ingest_key)


@pytest.fixture
def hs_admin(make_client, admin_key: str) -> Hogsend:
    """A client with an `admin` key (both planes)."""
    return make_client(admin_key)


class Requests:
    """Counts the requests a client sends (an httpx event hook)."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> None:
        self.sent.append(request)

    def to(self, path: str) -> list[httpx.Request]:
        return [request for request in self.sent if request.url.path == path]
