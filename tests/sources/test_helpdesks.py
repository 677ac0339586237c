"""Intercom, Help Scout and Freshdesk: closed and reopened conversations as ticket events."""

from __future__ import annotations

import base64

import pytest

from contacts.models import Contact
from tests.sources import vendors
from tests.sources.vendors import SECRETS, post, raw, stored

pytestmark = pytest.mark.django_db


# --- Intercom ------------------------------------------------------------------------


def intercom_notification(topic: str = "conversation.admin.closed",
                          notification: str = "notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3") -> dict:
    """A notification envelope as Intercom's webhook models document it."""
    return {
        "type": "notification_event",
        "app_id": "a86dr8yl",
        "data": {
            "type": "notification_event_data",
            "item": {
                "type": "conversation",
                "id": "147",
                "created_at": 1718540000,
                "updated_at": 1718548800,
                "source": {
                    "type": "conversation", "id": "403918330", "delivered_as": "customer_initiated",
                    "subject": "", "body": "<p>The export button does nothing</p>",
                    "author": {"type": "user", "id": "5ba682d23d7cf92bef87bfd4", "name": "Ada",
                               "email": "ada@example.com"},
                },
                "contacts": {"type": "contact.list", "contacts": [
                    {"type": "contact", "id": "5ba682d23d7cf92bef87bfd4", "external_id": "u_ada"}]},
                "admin_assignee_id": 814860,
                "team_assignee_id": None,
                "open": topic != "conversation.admin.closed",
                "state": "closed" if topic == "conversation.admin.closed" else "open",
            },
        },
        "links": {},
        "id": notification,
        "topic": topic,
        "delivery_status": "pending",
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": 1718548800,
        "created_at": 1718548800,
        "self": None,
    }


def test_an_intercom_conversation_closed_by_an_admin_becomes_ticket_resolved(client):
    body = raw(intercom_notification())

    response = post(client, "intercom", body, vendors.intercom(body))

    assert response.status_code == 200, response.content
    (event,) = stored()
    assert (event.event, event.user_key, event.properties) == (
        "ticket.resolved", "u_ada", {"ticket_id": "147", "conversation_id": "147"})
    assert event.idempotency_key == "src:intercom:notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3"
    contact = Contact.objects.get()
    assert contact.email == "ada@example.com"
    assert contact.properties == {"intercom_contact_id": "5ba682d23d7cf92bef87bfd4"}


def test_an_intercom_conversation_opened_again_becomes_ticket_reopened(client):
    body = raw(intercom_notification("conversation.admin.opened", "notif_2"))

    response = post(client, "intercom", body, vendors.intercom(body))

    assert response.status_code == 200
    assert [e.event for e in stored()] == ["ticket.reopened"]


def test_intercom_retrying_a_notification_stores_it_once(client):
    body = raw(intercom_notification())
    for _ in range(2):
        assert post(client, "intercom", body, vendors.intercom(body)).status_code == 200

    assert len(stored()) == 1


@pytest.mark.parametrize("headers", [
    {},
    {"X-Hub-Signature": "sha1=0000000000000000000000000000000000000000"},
    {"X-Hub-Signature": "sha256=deadbeef"},
])
def test_intercom_without_the_right_signature_is_refused(client, headers):
    response = post(client, "intercom", raw(intercom_notification()), headers)

    assert response.status_code == 401
    assert stored() == []


def test_intercom_signed_with_another_apps_secret_is_refused(client):
    body = raw(intercom_notification())

    response = post(client, "intercom", body, vendors.intercom(body, secret="other-app"))

    assert response.status_code == 401
    assert stored() == []


def test_intercoms_ping_and_other_topics_are_acknowledged(client):
    for topic in ("ping", "conversation.user.replied"):
        body = raw(intercom_notification(topic, f"notif_{topic}"))
        response = post(client, "intercom", body, vendors.intercom(body))
        assert response.status_code == 200 and response.json()["ignored"]

    assert stored() == []


def test_an_intercom_notification_without_a_conversation_is_a_400(client):
    payload = intercom_notification()
    payload["data"] = {"type": "notification_event_data"}
    body = raw(payload)

    response = post(client, "intercom", body, vendors.intercom(body))

    assert response.status_code == 400
    assert stored() == []


# --- Help Scout ----------------------------------------------------------------------


def helpscout_conversation(status: str = "closed") -> dict:
    """A Mailbox API 2.0 conversation object, the body of a convo.status webhook."""
    return {
        "id": 2391938111, "number": 349, "threads": 2, "type": "email", "folderId": 1234,
        "status": status, "state": "published", "subject": "Export broken",
        "preview": "The export button does nothing", "mailboxId": 85,
        "assignee": {"id": 256, "type": "user", "first": "Sam", "last": "Agent",
                     "email": "sam@example.com"},
        "createdBy": {"id": 238123, "type": "customer", "email": "ada@example.com"},
        "createdAt": "2026-06-15T09:12:01Z", "closedBy": 256,
        "closedAt": "2026-06-16T14:40:00Z", "userUpdatedAt": "2026-06-16T14:40:00Z",
        "source": {"type": "email", "via": "customer"}, "tags": [], "cc": [], "bcc": [],
        "primaryCustomer": {"id": 238123, "type": "customer", "first": "Ada",
                            "last": "Lovelace", "email": "ada@example.com"},
        "customFields": [],
    }


def test_a_help_scout_conversation_closed_becomes_ticket_resolved(client):
    body = raw(helpscout_conversation())

    response = post(client, "helpscout", body, vendors.helpscout(body))

    assert response.status_code == 200, response.content
    (event,) = stored()
    assert (event.event, event.contact.email) == ("ticket.resolved", "ada@example.com")
    assert event.properties == {"ticket_id": "2391938111", "ticket_number": "349"}
    assert event.contact.properties == {"helpscout_customer_id": "238123"}


def test_a_help_scout_conversation_made_active_again_becomes_ticket_reopened(client):
    body = raw({**helpscout_conversation("active"), "userUpdatedAt": "2026-06-17T08:00:00Z"})

    response = post(client, "helpscout", body, vendors.helpscout(body))

    assert response.status_code == 200
    assert [e.event for e in stored()] == ["ticket.reopened"]


def test_help_scout_retries_store_one_event(client):
    body = raw(helpscout_conversation())
    for _ in range(2):
        assert post(client, "helpscout", body, vendors.helpscout(body)).status_code == 200

    assert len(stored()) == 1


def test_help_scout_signed_with_another_secret_is_refused(client):
    body = raw(helpscout_conversation())

    response = post(client, "helpscout", body, vendors.helpscout(body, secret="wrong"))

    assert response.status_code == 401
    assert stored() == []


def test_other_help_scout_events_and_statuses_are_acknowledged(client):
    tagged = raw(helpscout_conversation())
    pending = raw(helpscout_conversation("pending"))

    first = post(client, "helpscout", tagged, vendors.helpscout(tagged, "convo.tags"))
    second = post(client, "helpscout", pending, vendors.helpscout(pending))

    assert (first.status_code, second.status_code) == (200, 200)
    assert stored() == []


def test_a_help_scout_conversation_without_a_customer_email_is_a_400(client):
    body = raw({**helpscout_conversation(), "primaryCustomer": {"id": 1, "type": "customer"}})

    response = post(client, "helpscout", body, vendors.helpscout(body))

    assert response.status_code == 400
    assert stored() == []


# --- Freshdesk -----------------------------------------------------------------------

SECRET = SECRETS["FRESHDESK_WEBHOOK_SECRET"]


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize("headers", [
    {"X-Hogsend-Secret": SECRET},
    {"Authorization": basic("hogsend", SECRET)},
    {"Authorization": basic(SECRET, "X")},  # Freshdesk's API-key authentication
    {"Authorization": f"Bearer {SECRET}"},
])
def test_freshdesk_proves_itself_with_the_shared_secret_as_it_allows(client, headers):
    body = raw({"event": "ticket.resolved", "ticket_id": "1042", "status": "Resolved",
                "email": "ada@example.com", "external_id": "u_ada"})

    response = post(client, "freshdesk", body, headers)

    assert response.status_code == 200, response.content
    (event,) = stored()
    assert (event.event, event.user_key, event.properties) == (
        "ticket.resolved", "u_ada", {"ticket_id": "1042", "status": "resolved"})


@pytest.mark.parametrize("headers", [
    {},
    {"X-Hogsend-Secret": "guess"},
    {"Authorization": basic("hogsend", "guess")},
    {"Authorization": "Basic not-base64!"},
])
def test_freshdesk_without_the_shared_secret_is_refused(client, headers):
    body = raw({"event": "ticket.resolved", "ticket_id": "1042", "email": "ada@example.com"})

    response = post(client, "freshdesk", body, headers)

    assert response.status_code == 401
    assert stored() == []


def test_freshdesks_simple_payload_and_an_explicit_reopen(client):
    simple = raw({"freshdesk_webhook": {"ticket_id": 1042, "ticket_status": "Closed",
                                        "ticket_contact_email": "ada@example.com"}})
    reopen = raw({"event": "ticket.reopened", "ticket_id": "1042", "status": "Open",
                  "email": "ada@example.com"})

    for body in (simple, reopen):
        assert post(client, "freshdesk", body, {"X-Hogsend-Secret": SECRET}).status_code == 200

    assert [e.event for e in stored()] == ["ticket.resolved", "ticket.reopened"]


def test_a_freshdesk_update_that_is_no_resolution_is_acknowledged(client):
    body = raw({"ticket_id": "1042", "status": "Pending", "email": "ada@example.com"})

    response = post(client, "freshdesk", body, {"X-Hogsend-Secret": SECRET})

    assert response.status_code == 200 and response.json()["ignored"]
    assert stored() == []


def test_a_freshdesk_payload_without_a_ticket_id_is_a_400(client):
    body = raw({"event": "ticket.resolved", "email": "ada@example.com"})

    response = post(client, "freshdesk", body, {"X-Hogsend-Secret": SECRET})

    assert response.status_code == 400
    assert "ticket_id" in response.json()["details"]
    assert stored() == []
