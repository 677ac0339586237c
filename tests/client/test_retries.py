"""Retries: a lost answer, a 429 and a 5xx are retried with the same idempotency key,
so the server stores a retried write once; a write without a key is not repeated;
timeouts and dropped connections surface as typed errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
import time_machine
from anymail.message import AnymailMessage
from hogsend import APIConnectionError, APITimeoutError, HogsendError, RateLimitError

from tests.client.conftest import Requests
from tracking.models import EmailSend, UserEvent


class DropsAnswers(httpx.BaseTransport):
    """Forwards every request to the real server, then loses the first `drops`
    answers, as when a connection drops after the server did the work."""

    def __init__(self, drops: int = 1, error: type[httpx.TransportError] = httpx.ReadError
                 ) -> None:
        self.inner = httpx.HTTPTransport()
        self.drops = drops
        self.error = error
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        response = self.inner.handle_request(request)
        if self.drops:
            self.drops -= 1
            response.read()
            response.close()
            raise self.error("connection lost before the answer arrived", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


class FailsFirst(httpx.BaseTransport):
    """Raises `error` for the first `failures` requests without sending them."""

    def __init__(self, error: httpx.TransportError, failures: int = 1) -> None:
        self.inner = httpx.HTTPTransport()
        self.error = error
        self.failures = failures
        self.sent: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        if self.failures:
            self.failures -= 1
            raise self.error
        return self.inner.handle_request(request)


def keys_of(requests: list[httpx.Request]) -> list[str | None]:
    return [request.headers.get("idempotency-key") for request in requests]


# --- a lost answer ---------------------------------------------------------------------


@pytest.mark.parametrize("drop", [httpx.ReadError, httpx.RemoteProtocolError, httpx.ReadTimeout])
def test_a_post_retried_after_a_dropped_connection_stores_one_event(
        make_client, ingest_key, sleeps, drop):
    transport = DropsAnswers(error=drop)
    with httpx.Client(transport=transport) as http:
        hs = make_client(ingest_key, http_client=http)
        result = hs.events.send("ticket.resolved", user_id="u_ada", email="ada@example.com",
                                event_properties={"ticket_id": "T-9"})
    first_key, second_key = keys_of(transport.sent)
    assert first_key == second_key and first_key
    assert json.loads(transport.sent[1].content)["idempotencyKey"] == first_key
    # The first attempt stored it; the retry found the key and stored nothing.
    assert result["stored"] is False
    [event] = UserEvent.objects.all()
    assert (event.event, event.idempotency_key) == ("ticket.resolved", first_key)
    assert len(sleeps) == 1 and 0.25 <= sleeps[0] <= 0.5


def test_without_retries_the_lost_answer_is_a_connection_error_though_the_event_was_stored(
        make_client, ingest_key, sleeps):
    transport = DropsAnswers()
    with httpx.Client(transport=transport) as http:
        hs = make_client(ingest_key, http_client=http, max_retries=0)
        with pytest.raises(APIConnectionError) as caught:
            hs.events.send("signup", user_id="u_ada")
    assert isinstance(caught.value, ConnectionError) and isinstance(caught.value, HogsendError)
    assert isinstance(caught.value.__cause__, httpx.ReadError)
    assert "/v1/events" in str(caught.value)
    assert UserEvent.objects.count() == 1 and sleeps == []


def test_a_batch_chunk_retried_after_a_dropped_connection_stores_each_event_once(
        make_client, ingest_key):
    transport = DropsAnswers()
    with httpx.Client(transport=transport) as http:
        hs = make_client(ingest_key, http_client=http)
        results = hs.events.send_batch(
            [{"name": "page.viewed", "user_id": f"u_{i}"} for i in range(3)])
    assert len(transport.sent) == 2 and transport.sent[0].content == transport.sent[1].content
    assert [(r["index"], r["stored"]) for r in results] == [(0, False), (1, False), (2, False)]
    assert sorted(UserEvent.objects.values_list("idempotency_key", flat=True)) == sorted(
        r["idempotencyKey"] for r in results)


def test_a_post_without_a_key_is_not_repeated_after_a_lost_answer(
        make_client, admin_key, sleeps):
    transport = DropsAnswers()
    with httpx.Client(transport=transport) as http:
        hs = make_client(admin_key, http_client=http)
        with pytest.raises(APIConnectionError):
            hs.admin.journeys.enroll("support-followup", user_id="u_ada",
                                     user_email="ada@example.com")
    assert len(transport.sent) == 1 and sleeps == []


def test_a_request_that_never_connected_is_retried_even_without_a_key(
        make_client, admin_key, sleeps):
    transport = FailsFirst(httpx.ConnectError("connection refused"))
    with httpx.Client(transport=transport) as http:
        hs = make_client(admin_key, http_client=http)
        body = hs.admin.events.replay([424242])  # a POST without a key
    assert [r.method for r in transport.sent] == ["POST", "POST"] and len(sleeps) == 1
    assert body["replayed"] == 0


# --- timeouts --------------------------------------------------------------------------------


def test_timeouts_are_the_clients_setting_and_surface_as_api_timeout_error(
        make_client, ingest_key, sleeps):
    transport = FailsFirst(httpx.ReadTimeout("timed out"), failures=10)
    with httpx.Client(transport=transport) as http:
        hs = make_client(ingest_key, http_client=http, timeout=2.5, max_retries=2)
        with pytest.raises(APITimeoutError) as caught:
            hs.events.send("signup", user_id="u_ada")
    assert isinstance(caught.value, TimeoutError) and isinstance(caught.value, APIConnectionError)
    assert len(transport.sent) == 3 and len(set(keys_of(transport.sent))) == 1
    assert transport.sent[0].extensions["timeout"] == {
        "connect": 2.5, "read": 2.5, "write": 2.5, "pool": 2.5}
    # Exponential backoff with jitter: 0.25-0.5 s, then 0.5-1 s.
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


# --- 429 and 5xx -----------------------------------------------------------------------------


@pytest.mark.usefixtures("start_of_a_minute")
def test_over_the_limit_is_a_rate_limit_error_carrying_retry_after(
        make_client, ingest_key, ada, mailoutbox, settings):
    settings.EMAILS_RATE_LIMIT = "1/min"
    hs = make_client(ingest_key, max_retries=0)
    hs.emails.send(template="feedback/referral-ask", to=ada.email)
    with pytest.raises(RateLimitError) as caught:
        hs.emails.send(template="feedback/referral-ask", to=ada.email)
    error = caught.value
    assert (error.status, error.error) == (429, "Rate limit exceeded")
    assert error.retry_after == float(error.headers["retry-after"])
    assert 1 <= error.retry_after <= 60
    assert len(mailoutbox) == 1


def test_a_429_is_retried_after_the_servers_retry_after_and_then_sends(
        make_client, ingest_key, ada, mailoutbox, settings, sleeps):
    settings.EMAILS_RATE_LIMIT = "1/min"
    answers: list[tuple[int, str | None]] = []

    def record(response: httpx.Response) -> None:
        answers.append((response.status_code, response.headers.get("retry-after")))

    with (time_machine.travel(datetime(2026, 6, 17, 12, 0, 30, tzinfo=UTC)) as clock,
          httpx.Client(event_hooks={"response": [record]}) as http):
        hs = make_client(ingest_key, http_client=http)

        def sleep(seconds: float) -> None:  # waiting is moving the clock
            sleeps.append(seconds)
            clock.shift(seconds)

        hs._sleep = sleep
        hs.emails.send(template="feedback/referral-ask", to=ada.email)
        second = hs.emails.send(template="feedback/referral-ask", to=ada.email)
    assert [status for status, _ in answers] == [202, 429, 202]
    assert sleeps == [float(answers[1][1])]
    assert second["status"] == "sent" and len(mailoutbox) == 2


def test_a_provider_failure_502_is_retried_with_the_same_key_and_mails_once(
        make_client, ingest_key, ada, mailoutbox, monkeypatch, sleeps):
    real_send = AnymailMessage.send
    failures = [ConnectionError("ESP down")]

    def flaky_send(self, *args, **kwargs):
        if failures:
            raise failures.pop()
        return real_send(self, *args, **kwargs)

    monkeypatch.setattr(AnymailMessage, "send", flaky_send)
    requests = Requests()
    with httpx.Client(event_hooks={"request": [requests]}) as http:
        hs = make_client(ingest_key, http_client=http)
        result = hs.emails.send(template="feedback/referral-ask", to=ada.email)
    assert result["status"] == "sent" and len(mailoutbox) == 1
    assert len(requests.sent) == 2 and len(set(keys_of(requests.sent))) == 1
    assert EmailSend.objects.filter(status="sent").count() == 1
    assert len(sleeps) == 1
