"""The `hogsend` client's data plane against the real server: contacts, events,
batches, emails, and the typed errors the server's answers become."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from django.urls import resolve
from django.utils import timezone
from hogsend import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    HogsendAPIError,
    HogsendError,
    NotFoundError,
    PermissionDeniedError,
)

from contacts.models import Contact, EmailPreference
from hogsend_site.due import process_batch, run_due_once
from tests.client.conftest import Requests
from tracking.models import EmailSend, UserEvent

# --- contacts -------------------------------------------------------------------------


def test_upsert_creates_then_merges_and_find_and_get_read_it_back(hs):
    first = hs.contacts.upsert(user_id="u_ada", email="Ada@Example.com",
                               properties={"plan": "pro", "trial": True}, timezone="Europe/Berlin")
    assert (first["created"], first["linked"]) == (True, False)
    again = hs.contacts.upsert(user_id="u_ada", properties={"trial": None, "seats": 3})
    assert again == {"id": first["id"], "created": False, "linked": False}

    [found] = hs.contacts.find(user_id="u_ada")
    assert found["id"] == first["id"] and found["email"] == "ada@example.com"
    assert found["properties"] == {"plan": "pro", "seats": 3}
    assert found["timezone"] == "Europe/Berlin" and found["externalId"] == "u_ada"
    assert hs.contacts.get(email="ada@example.com")["id"] == first["id"]
    contact = Contact.objects.get(pk=first["id"])
    assert contact.properties == {"plan": "pro", "seats": 3}


def test_find_of_nobody_is_empty_and_get_of_nobody_is_not_found(hs):
    assert hs.contacts.find(email="nobody@example.com") == []
    with pytest.raises(NotFoundError) as caught:
        hs.contacts.get(user_id="u_nobody")
    assert caught.value.status == 404 and "u_nobody" in caught.value.error


def test_delete_soft_deletes_and_a_second_delete_is_not_found(hs, ada):
    assert hs.contacts.delete(user_id="u_ada") == {"deleted": True}
    ada.refresh_from_db()
    assert ada.deleted_at is not None
    assert hs.contacts.find(user_id="u_ada") == []
    with pytest.raises(NotFoundError) as caught:
        hs.contacts.delete(user_id="u_ada")
    assert caught.value.error == "Contact not found"


def test_a_call_without_an_identity_fails_before_any_request(hs):
    requests = Requests()
    hs._http.event_hooks["request"].append(requests)
    with pytest.raises(ValueError, match="email or user_id"):
        hs.events.send("signup")
    with pytest.raises(ValueError, match="exactly one"):
        hs.contacts.find(email="a@example.com", user_id="u_a")
    assert requests.sent == []


# --- events ---------------------------------------------------------------------------


def test_an_event_is_stored_with_both_property_bags_and_a_generated_key(hs):
    result = hs.events.send("ticket.resolved", user_id="u_ada", email="ada@example.com",
                            event_properties={"ticket_id": "T-9"},
                            contact_properties={"plan": "pro"}, value=12.5, currency="eur")
    assert result == {"stored": True, "exits": [], "contactKey": "u_ada"}
    event = UserEvent.objects.get()
    assert (event.event, event.properties) == ("ticket.resolved", {"ticket_id": "T-9"})
    assert (event.value, event.currency) == (Decimal("12.50"), "EUR")
    assert str(uuid.UUID(event.idempotency_key)) == event.idempotency_key
    assert Contact.objects.get(external_id="u_ada").properties == {"plan": "pro"}


def test_datetimes_are_sent_as_iso_8601_at_the_top_and_inside_properties(hs):
    when = datetime(2026, 6, 1, 9, 30, tzinfo=UTC)
    hs.events.send("trial.started", user_id="u_ada", timestamp=when,
                   event_properties={"ends_at": when + timedelta(days=14)})
    event = UserEvent.objects.get()
    assert event.occurred_at == when
    assert event.properties == {"ends_at": "2026-06-15T09:30:00+00:00"}


def test_two_sends_without_a_key_are_two_events_and_a_repeated_key_is_one(hs):
    hs.events.send("page.viewed", user_id="u_ada")
    hs.events.send("page.viewed", user_id="u_ada")
    assert UserEvent.objects.filter(event="page.viewed").count() == 2

    first = hs.events.send("order.placed", user_id="u_ada", idempotency_key="order:1")
    second = hs.events.send("order.placed", user_id="u_ada", idempotency_key="order:1")
    assert (first["stored"], second["stored"]) == (True, False)
    assert UserEvent.objects.filter(event="order.placed").count() == 1


def test_send_batch_splits_2500_events_into_three_requests_with_results_in_input_order(
        make_client, ingest_key):
    requests = Requests()
    http = httpx.Client(event_hooks={"request": [requests]})
    hs = make_client(ingest_key, http_client=http)
    events = [{"name": "page.viewed", "user_id": f"u_{i % 50}",
               "event_properties": {"n": i}} for i in range(2500)]
    events[1500] = {"name": "page.viewed", "event_properties": {"n": 1500}}  # no identity
    events[2100]["idempotency_key"] = "mine-2100"

    with http:
        results = hs.events.send_batch(events)

    assert [len(json.loads(r.content)["events"]) for r in requests.to("/v1/events/batch")] == [
        1000, 1000, 500]
    assert [r["index"] for r in results] == list(range(2500))
    assert results[1500]["error"] == "email or userId is required"
    assert all(r["stored"] for i, r in enumerate(results) if i != 1500)
    assert results[2100]["idempotencyKey"] == "mine-2100"
    assert len({r["idempotencyKey"] for r in results}) == 2500
    assert UserEvent.objects.count() == 2499
    stored = UserEvent.objects.get(idempotency_key=results[1999]["idempotencyKey"])
    assert stored.properties == {"n": 1999}


def test_send_batch_also_splits_by_size_under_the_servers_body_limit(make_client, ingest_key):
    requests = Requests()
    with httpx.Client(event_hooks={"request": [requests]}) as http:
        hs = make_client(ingest_key, http_client=http)
        results = hs.events.send_batch([
            {"name": "doc.saved", "user_id": "u_ada", "event_properties": {"text": "x" * 8000}}
            for _ in range(300)])
    sizes = [len(request.content) for request in requests.to("/v1/events/batch")]
    assert len(sizes) == 3 and max(sizes) <= 1_000_000 < sum(sizes)
    assert all(result["stored"] for result in results)
    assert UserEvent.objects.count() == 300


def test_send_batch_of_nothing_sends_nothing_and_a_camel_case_key_is_refused(hs):
    assert hs.events.send_batch([]) == []
    with pytest.raises(TypeError, match=r"events\[0\]: unknown field\(s\) userId"):
        hs.events.send_batch([{"name": "x", "userId": "u_ada"}])


# --- emails ---------------------------------------------------------------------------


def test_an_email_is_sent_once_under_a_generated_key(hs, ada, mailoutbox):
    result = hs.emails.send(template="feedback/referral-ask", user_id="u_ada",
                            props={"firstName": "Ada"}, subject="Hello",
                            from_="Team <team@example.com>", reply_to="help@example.com")
    assert result["status"] == "sent"
    row = EmailSend.objects.get(pk=result["emailSendId"])
    assert str(uuid.UUID(row.idempotency_key)) == row.idempotency_key
    [message] = mailoutbox
    assert (message.to, message.subject, message.from_email) == (
        ["ada@example.com"], "Hello", "Team <team@example.com>")


def test_an_unsubscribed_recipient_is_a_result_not_an_error(hs, unsubscribed, mailoutbox):
    result = hs.emails.send(template="feedback/referral-ask", to="gone@example.com")
    assert (result["status"], result["reason"]) == ("unsubscribed", "unsubscribed")
    assert mailoutbox == []


# --- errors ---------------------------------------------------------------------------


def test_a_wrong_key_raises_authentication_error_with_the_servers_text(make_client, db):
    hs = make_client("hsk_not-a-real-key")
    with pytest.raises(AuthenticationError) as caught:
        hs.events.send("signup", user_id="u_ada")
    error = caught.value
    assert isinstance(error, HogsendAPIError) and isinstance(error, HogsendError)
    assert error.status == 401 and error.error and error.body == {"error": error.error}
    assert error.headers["content-type"].startswith("application/json")
    assert str(error).startswith("401 ") and "/v1/events" in str(error)
    assert UserEvent.objects.count() == 0


def test_an_ingest_key_on_the_admin_plane_is_permission_denied(hs):
    with pytest.raises(PermissionDeniedError) as caught:
        hs.admin.journeys.list()
    assert (caught.value.status, caught.value.error) == (403, "Forbidden: insufficient scope")


def test_bad_input_is_a_bad_request_error_naming_the_problem(hs):
    with pytest.raises(BadRequestError) as caught:
        hs.emails.send(template="nope/nothing", to="a@example.com")
    assert (caught.value.status, caught.value.error) == (400, "Unknown template: nope/nothing")
    with pytest.raises(BadRequestError, match="email"):
        hs.contacts.upsert(email="not-an-address")


def lists_served() -> bool:
    return resolve("/v1/lists").url_name == "lists"


@pytest.mark.skipif(not lists_served(), reason="this server has no lists API yet")
def test_lists_read_subscribe_unsubscribe_and_the_account_wide_switch(hs, ada, settings):
    settings.EMAIL_LISTS = [{"id": "beta", "name": "Beta programme", "default_opt_in": False}]
    assert {item["id"]: item["subscribed"] for item in hs.lists.list()}["beta"] is False
    joined = hs.lists.subscribe("beta", user_id="u_ada")
    assert (joined["list"]["id"], joined["subscribed"]) == ("beta", True)
    assert {item["id"]: item["subscribed"]
            for item in hs.lists.list(user_id="u_ada")}["beta"] is True
    left = hs.lists.unsubscribe("beta", email="ada@example.com")
    assert left["subscribed"] is False
    assert hs.lists.preferences(user_id="u_ada", unsubscribed_all=True)["unsubscribedAll"]
    assert EmailPreference.objects.get(email="ada@example.com").unsubscribed_all is True
    with pytest.raises(NotFoundError):
        hs.lists.subscribe("no-such-list", user_id="u_ada")


def test_campaigns_send_read_list_and_cancel_against_the_server(hs, ada, mailoutbox):
    later = hs.campaigns.send(name="June", template="marketing/announcement", list_id="digest",
                              subject="Saved views are here",
                              send_at=datetime.now(UTC) + timedelta(days=1))
    assert later["status"] == "scheduled" and set(later) == {"campaignId", "status",
                                                             "scheduledAt"}
    now = hs.campaigns.send(name="Now", template="marketing/announcement", list_id="digest",
                            props={"headline": "Saved views"}, idempotency_key="now-1")
    assert hs.campaigns.send(name="Now", template="marketing/announcement", list_id="digest",
                             idempotency_key="now-1") == now  # a retry: the same campaign
    while run_due_once(timezone.now(), dispatch=process_batch):
        pass
    sent = hs.campaigns.get(now["campaignId"])
    assert (sent["status"], sent["totalRecipients"], sent["sentCount"]) == ("sent", 1, 1)
    assert [m.to for m in mailoutbox] == [["ada@example.com"]]
    page = hs.campaigns.list(status=["scheduled", "sent"], limit=1)
    assert [c["id"] for c in page["campaigns"]] == [now["campaignId"]] and page["hasMore"]
    assert hs.campaigns.cancel(later["campaignId"])["status"] == "canceled"
    with pytest.raises(ConflictError) as conflict:
        hs.campaigns.cancel(later["campaignId"])
    assert (conflict.value.status, conflict.value.error) == (409, "Campaign is already canceled")
    with pytest.raises(NotFoundError) as missing:
        hs.campaigns.get("c_1")
    assert (missing.value.status, missing.value.error) == (404, "Campaign not found")
    with pytest.raises(BadRequestError) as bad:
        hs.campaigns.send(name="June", template="marketing/announcement", bucket_id="nope")
    assert bad.value.error == "Unknown bucket: nope"
