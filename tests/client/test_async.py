"""`AsyncHogsend` against the real server: the same resources as `Hogsend`, awaited.

Each test drives the client in `asyncio.run` and checks the database afterwards,
outside the event loop (the ORM is synchronous)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hogsend import AsyncHogsend, AuthenticationError, NotFoundError, PermissionDeniedError

from contacts.models import Contact
from tracking.models import EmailSend, UserEvent


class AsyncDropsAnswers(httpx.AsyncBaseTransport):
    """Forwards every request to the real server and loses the first answer."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.drops = 1
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        response = await self.inner.handle_async_request(request)
        if self.drops:
            self.drops -= 1
            await response.aread()
            await response.aclose()
            raise httpx.RemoteProtocolError("server disconnected", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_the_async_client_upserts_sends_finds_and_deletes(
        make_async_client, ingest_key, mailoutbox):
    async def story() -> dict:
        async with make_async_client(ingest_key) as hs:
            assert isinstance(hs, AsyncHogsend)
            upserted = await hs.contacts.upsert(user_id="u_ada", email="ada@example.com",
                                                properties={"plan": "pro"})
            sent = await hs.events.send("ticket.resolved", user_id="u_ada",
                                        event_properties={"ticket_id": "T-9"})
            batch = await hs.events.send_batch([{"name": "page.viewed", "user_id": "u_ada"},
                                                {"name": "page.viewed"}])
            email = await hs.emails.send(template="feedback/referral-ask", user_id="u_ada")
            found = await hs.contacts.find(email="ada@example.com")
            got = await hs.contacts.get(user_id="u_ada")
            return {"upserted": upserted, "sent": sent, "batch": batch, "email": email,
                    "found": found, "got": got}

    results = asyncio.run(story())
    contact = Contact.objects.get(external_id="u_ada")
    assert results["upserted"] == {"id": str(contact.pk), "created": True, "linked": False}
    assert results["sent"]["stored"] is True
    assert [(r["index"], "stored" in r) for r in results["batch"]] == [(0, True), (1, False)]
    assert results["batch"][1]["error"] == "email or userId is required"
    assert results["email"]["status"] == "sent" and len(mailoutbox) == 1
    assert EmailSend.objects.get().to_email == "ada@example.com"
    assert [c["id"] for c in results["found"]] == [str(contact.pk)]
    assert results["got"]["properties"] == {"plan": "pro"}
    assert sorted(UserEvent.objects.values_list("event", flat=True)) == [
        "page.viewed", "ticket.resolved"]


def test_the_async_client_raises_the_same_typed_errors(make_async_client, ingest_key):
    async def attempt(api_key: str, call) -> Exception:
        async with make_async_client(api_key) as hs:
            with pytest.raises(Exception) as caught:
                await call(hs)
            return caught.value

    wrong_key = asyncio.run(attempt("hsk_wrong", lambda hs: hs.events.send("x", user_id="u")))
    assert isinstance(wrong_key, AuthenticationError) and wrong_key.status == 401
    no_campaigns = asyncio.run(attempt(ingest_key, lambda hs: hs.campaigns.get("c_1")))
    assert isinstance(no_campaigns, NotFoundError) and no_campaigns.error == "Campaign not found"
    not_admin = asyncio.run(attempt(ingest_key, lambda hs: hs.admin.journeys.list()))
    assert isinstance(not_admin, PermissionDeniedError)


def test_an_async_post_retried_after_a_dropped_connection_stores_one_event(
        make_async_client, ingest_key, sleeps):
    transport = AsyncDropsAnswers()

    async def send() -> dict:
        async with httpx.AsyncClient(transport=transport) as http:
            hs = make_async_client(ingest_key, http_client=http)
            return await hs.events.send("ticket.resolved", user_id="u_ada")

    result = asyncio.run(send())
    keys = {request.headers["idempotency-key"] for request in transport.sent}
    assert len(transport.sent) == 2 and len(keys) == 1
    assert result["stored"] is False
    assert list(UserEvent.objects.values_list("idempotency_key", flat=True)) == [keys.pop()]
    assert len(sleeps) == 1
