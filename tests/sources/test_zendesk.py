"""Zendesk: the trigger payload the README recommends, and Zendesk's own ticket events."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from contacts.models import Contact
from tests.sources import vendors
from tests.sources.vendors import post, raw, stored

pytestmark = pytest.mark.django_db


def solved(event: str = "ticket.resolved", **requester: str) -> dict:
    """The README's trigger body, as Zendesk renders its placeholders."""
    return {
        "event": event,
        "ticket": {"id": "35436", "status": "Solved", "updated_at": "2026-06-16T14:40Z"},
        "requester": {"id": "8447388090494", "email": "ada@example.com", "external_id": "u_ada",
                      **requester},
    }


def status_changed(current: str = "SOLVED", previous: str = "OPEN") -> dict:
    """Zendesk's event-subscription envelope for a ticket status change."""
    return {
        "type": "zen:event-type:ticket.status_changed",
        "account_id": 12514403,
        "id": "2b24ef10-19d4-4740-93cf-8f98ec4776c0",
        "time": "2026-06-16T14:40:00Z",
        "zendesk_event_version": "2022-11-06",
        "subject": "zen:ticket:35436",
        "detail": {
            "actor_id": "8447388090495", "assignee_id": "8447388090495",
            "brand_id": "8447346621310",
            "created_at": "2026-06-15T09:12:01Z", "custom_status": "8447346622462",
            "description": "The export button does nothing", "external_id": None,
            "form_id": "8646151517822", "group_id": "8447346622462", "id": "35436",
            "is_public": True, "organization_id": None, "priority": "LOW",
            "requester_id": "8447388090494", "status": current, "subject": "Export broken",
            "submitter_id": "8447388090494", "tags": ["export"], "type": "INCIDENT",
            "updated_at": "2026-06-16T14:40:00Z", "via": {"channel": "web_service"},
        },
        "event": {"current": current, "previous": previous},
    }


def send(client, payload, **sign) -> object:
    body = raw(payload)
    return post(client, "zendesk", body, vendors.zendesk(body, **sign))


def test_a_solved_ticket_from_the_trigger_payload_becomes_ticket_resolved(client):
    response = send(client, solved())

    assert response.status_code == 200, response.content
    assert response.json()["events"] == [
        {"name": "ticket.resolved", "stored": True, "contactKey": "u_ada"}]
    (event,) = stored()
    assert (event.event, event.user_key, event.source) == (
        "ticket.resolved", "u_ada", "webhook:zendesk")
    assert event.properties == {"ticket_id": "35436", "status": "solved"}
    assert event.idempotency_key == "src:zendesk:35436:ticket.resolved:2026-06-16T14:40Z"
    contact = Contact.objects.get()
    assert (contact.email, contact.external_id) == ("ada@example.com", "u_ada")
    assert contact.properties == {"zendesk_user_id": "8447388090494"}


def test_the_reopen_trigger_becomes_ticket_reopened(client):
    response = send(client, solved("ticket.reopened"))

    assert response.status_code == 200
    assert [e.event for e in stored()] == ["ticket.reopened"]


def test_a_requester_known_only_by_email_is_enough(client):
    response = send(client, solved(external_id=""))

    assert response.status_code == 200
    (event,) = stored()
    assert event.contact.email == "ada@example.com"
    assert event.contact.external_id is None


def test_a_retried_delivery_stores_one_event(client):
    first, second = send(client, solved()), send(client, solved())

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["events"][0]["stored"] is False
    assert len(stored()) == 1


def test_a_wrong_signature_is_refused_with_nothing_stored_and_one_log_line(client, caplog):
    body = raw(solved())
    with caplog.at_level(logging.INFO):
        response = post(client, "zendesk", body, vendors.zendesk(body, secret="not-the-secret"))

    assert response.status_code == 401
    assert "error" in response.json()
    assert stored() == [] and not Contact.objects.exists()
    (line,) = caplog.records
    assert "webhook zendesk refused: X-Zendesk-Webhook-Signature does not match" in (
        line.getMessage())


def test_an_unsigned_request_is_refused(client):
    response = post(client, "zendesk", raw(solved()), {})

    assert response.status_code == 401
    assert "X-Zendesk-Webhook-Signature" in response.json()["error"]
    assert stored() == []


def test_a_body_changed_after_signing_is_refused(client):
    body = raw(solved())
    headers = vendors.zendesk(body)

    response = post(client, "zendesk", raw(solved(email="mallory@example.com")), headers)

    assert response.status_code == 401
    assert stored() == []


def test_a_signature_older_than_five_minutes_is_refused(client):
    body = raw(solved())

    response = post(client, "zendesk", body,
                    vendors.zendesk(body, at=vendors.now() - timedelta(minutes=6)))

    assert response.status_code == 401
    assert "tolerance" in response.json()["error"]
    assert stored() == []


def test_zendesks_status_changed_event_finds_the_requester_by_zendesk_user_id(client):
    Contact.objects.create(external_id="u_ada", email="ada@example.com",
                           properties={"zendesk_user_id": "8447388090494"})

    resolved = send(client, status_changed("SOLVED", "OPEN"))
    reopened = send(client, {**status_changed("OPEN", "SOLVED"), "id": "9f0c-second-event"})

    assert (resolved.status_code, reopened.status_code) == (200, 200)
    assert [(e.event, e.user_key, e.properties["ticket_id"]) for e in stored()] == [
        ("ticket.resolved", "u_ada", "35436"), ("ticket.reopened", "u_ada", "35436")]
    assert stored()[0].idempotency_key == "src:zendesk:2b24ef10-19d4-4740-93cf-8f98ec4776c0"


def test_a_status_changed_event_for_an_unknown_requester_is_acknowledged_and_skipped(client):
    response = send(client, status_changed())

    assert response.status_code == 200
    assert "zendesk_user_id" in response.json()["ignored"]
    assert stored() == []


def test_a_solved_ticket_closing_is_not_a_second_resolution(client):
    Contact.objects.create(email="ada@example.com", properties={"zendesk_user_id": "8447388090494"})

    response = send(client, status_changed("CLOSED", "SOLVED"))

    assert response.status_code == 200 and "ignored" in response.json()
    assert stored() == []


@pytest.mark.parametrize("payload", [
    {**status_changed(), "type": "zen:event-type:user.created"},
    {**solved(), "event": "ticket.created"},
    {"ticket": {"id": "1", "status": "Open"}, "requester": {"email": "ada@example.com"}},
])
def test_unmapped_events_are_acknowledged_and_store_nothing(client, payload):
    response = send(client, payload)

    assert response.status_code == 200
    assert response.json()["ok"] is True and response.json()["ignored"]
    assert stored() == []


@pytest.mark.parametrize(("body", "detail"), [
    (b"{not json", "not JSON"),
    (b"", "empty"),
    (b"[1, 2]", "JSON object"),
    (raw({**solved(), "ticket": {"status": "Solved"}}), "ticket.id"),
    (raw({**solved(), "requester": {"email": "", "external_id": ""}}), "requester"),
    (raw(solved(email="{{ticket.requester.email}}", external_id="")), "not an email"),
    (b'{"event": "ticket.resolved", "ticket": {"id": NaN}}', "not JSON"),
])
def test_a_malformed_payload_from_zendesk_is_a_400_with_nothing_stored(client, body, detail):
    response = post(client, "zendesk", body, vendors.zendesk(body))

    assert response.status_code == 400
    assert response.json()["error"] == "Invalid payload"
    assert detail in response.json()["details"]
    assert stored() == [] and not Contact.objects.exists()
