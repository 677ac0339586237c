"""`Hogsend` and `AsyncHogsend`: the same resources over a sync or an async pool."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Generic

import httpx

from hogsend._base import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    Async,
    AsyncClientBase,
    BaseClient,
    M,
    Sync,
    SyncClientBase,
)
from hogsend._resources import Admin, Campaigns, Contacts, Emails, Events, Lists


class _Surface(Generic[M]):
    """The resources, declared once for both clients."""

    contacts: Contacts[M]
    events: Events[M]
    emails: Emails[M]
    lists: Lists[M]
    campaigns: Campaigns[M]
    admin: Admin[M]

    def _mount(self, client: BaseClient) -> None:
        self.contacts = Contacts(client)
        self.events = Events(client)
        self.emails = Emails(client)
        self.lists = Lists(client)
        self.campaigns = Campaigns(client)
        self.admin = Admin(client)


class Hogsend(SyncClientBase, _Surface[Sync]):
    """The Hogsend API client.

    ```python
    hs = Hogsend(api_key="hsk_...", base_url="https://hogsend.example.com")
    hs.contacts.upsert(user_id="u_ada", email="ada@example.com", properties={"plan": "pro"})
    hs.events.send("ticket.resolved", user_id="u_ada", event_properties={"ticket_id": "T-9"})
    ```

    `api_key` defaults to `$HOGSEND_API_KEY`, `base_url` to `$HOGSEND_BASE_URL` (else
    http://localhost:8000). `timeout` is seconds per attempt (or an `httpx.Timeout`);
    `max_retries` is how many times a 429, a 5xx or a lost connection is retried,
    with exponential backoff and jitter, after `Retry-After` when the server sends
    one. `http_client` lets you bring your own `httpx.Client` (proxies, transports);
    the client then leaves closing it to you.
    """

    def __init__(self, api_key: str | None = None, *, base_url: str | None = None,
                 timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
                 max_retries: int = DEFAULT_MAX_RETRIES,
                 headers: Mapping[str, str] | None = None,
                 http_client: httpx.Client | None = None) -> None:
        super().__init__(api_key=api_key, base_url=base_url, timeout=timeout,
                         max_retries=max_retries, headers=headers, http_client=http_client)
        self._mount(self)

    def __enter__(self) -> Hogsend:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


class AsyncHogsend(AsyncClientBase, _Surface[Async]):
    """`Hogsend` for asyncio: the same resources and arguments, each method awaited.

    ```python
    async with AsyncHogsend(api_key="hsk_...", base_url="https://hogsend.example.com") as hs:
        await hs.events.send("signup", user_id="u_ada")
    ```
    """

    def __init__(self, api_key: str | None = None, *, base_url: str | None = None,
                 timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
                 max_retries: int = DEFAULT_MAX_RETRIES,
                 headers: Mapping[str, str] | None = None,
                 http_client: httpx.AsyncClient | None = None) -> None:
        super().__init__(api_key=api_key, base_url=base_url, timeout=timeout,
                         max_retries=max_retries, headers=headers, http_client=http_client)
        self._mount(self)

    async def __aenter__(self) -> AsyncHogsend:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, traceback: TracebackType | None) -> None:
        await self.aclose()


__all__ = ["AsyncHogsend", "Hogsend"]
