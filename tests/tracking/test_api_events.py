from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from contacts.models import Contact
from tracking.models import UserEvent


def test_it_stores_an_event_and_answers_202(api):
    response = api.post("/v1/events", {"name": "ticket.resolved", "userId": "u1",
                                       "eventProperties": {"ticket_id": "T-9"}}, format="json")
    assert response.status_code == 202, response.content
    assert response.json() == {"stored": True, "exits": [], "contactKey": "u1"}
    event = UserEvent.objects.get()
    assert event.event == "ticket.resolved"
    assert event.properties == {"ticket_id": "T-9"}


def test_a_duplicate_idempotency_key_is_stored_once(api):
    body = {"name": "ticket.resolved", "userId": "u1", "idempotencyKey": "k1"}
    assert api.post("/v1/events", body, format="json").json()["stored"] is True
    second = api.post("/v1/events", body, format="json")
    assert second.status_code == 202
    assert second.json()["stored"] is False
    assert UserEvent.objects.count() == 1


def test_the_header_idempotency_key_wins_over_the_body(api):
    body = {"name": "x.y", "userId": "u1", "idempotencyKey": "body-key"}
    api.post("/v1/events", body, format="json", HTTP_IDEMPOTENCY_KEY="header-key")
    assert UserEvent.objects.get().idempotency_key == "header-key"


def test_an_event_without_identity_is_a_400(api):
    response = api.post("/v1/events", {"name": "x"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "email or userId is required"}


def test_a_missing_key_is_401(client, db):
    response = client.post("/v1/events", {"name": "x", "userId": "u"},
                           content_type="application/json")
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}


def test_a_batch_with_one_bad_event_stores_the_others(api):
    response = api.post("/v1/events/batch", {"events": [
        {"name": "a", "userId": "u1"},
        {"name": "b"},
        "nonsense",
        {"name": "c", "email": "c@example.com"},
    ]}, format="json")
    assert response.status_code == 202
    results = response.json()["results"]
    assert results[0] == {"index": 0, "stored": True, "contactKey": "u1"}
    assert results[1]["index"] == 1 and "email or userId" in results[1]["error"]
    assert "error" in results[2]
    assert results[3]["stored"] is True
    assert sorted(UserEvent.objects.values_list("event", flat=True)) == ["a", "c"]


# --- single events ----------------------------------------------------------------


def test_contact_properties_go_to_the_contact_and_event_properties_to_the_event(api):
    response = api.post("/v1/events", {
        "name": "subscription.created", "userId": "u1",
        "eventProperties": {"amount": 4900, "interval": "month"},
        "contactProperties": {"plan": "pro"},
    }, format="json")
    assert response.status_code == 202
    event = UserEvent.objects.get()
    assert event.properties == {"amount": 4900, "interval": "month"}
    assert event.contact.properties == {"plan": "pro"}
    assert event.user_key == "u1"


def test_the_same_idempotency_key_header_twice_stores_once(api):
    body = {"name": "subscription.created", "userId": "u1"}
    first = api.post("/v1/events", body, format="json", HTTP_IDEMPOTENCY_KEY="sub_created_123")
    second = api.post("/v1/events", body, format="json", HTTP_IDEMPOTENCY_KEY="sub_created_123")
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["stored"] is True
    assert second.json()["stored"] is False and second.json()["exits"] == []
    assert UserEvent.objects.count() == 1


def test_a_duplicate_touches_nothing_not_even_the_contact(api):
    api.post("/v1/events", {"name": "a", "userId": "u1", "idempotencyKey": "k"}, format="json")
    api.post("/v1/events", {"name": "a", "userId": "u1", "idempotencyKey": "k",
                            "contactProperties": {"plan": "pro"}}, format="json")
    assert Contact.objects.get().properties == {}


def test_an_event_for_an_email_only_contact_is_keyed_by_the_contacts_uuid(api):
    response = api.post("/v1/events", {"name": "a", "email": "Ada@Example.com"}, format="json")
    contact = Contact.objects.get()
    assert contact.email == "ada@example.com"
    assert response.json()["contactKey"] == str(contact.pk)


def test_timestamp_backdates_occurred_at(api):
    api.post("/v1/events", {"name": "order.paid", "userId": "u1",
                            "timestamp": "2026-01-02T03:04:05Z"}, format="json")
    assert UserEvent.objects.get().occurred_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "currency", "stored"),
    [
        (12.5, " eur", (Decimal("12.50"), "EUR")),
        (7, "e1r", (Decimal("7.00"), "")),
        (None, "EUR", (None, "")),
    ],
)
def test_money_is_normalised_as_the_reference_does(api, value, currency, stored):
    api.post("/v1/events", {"name": "order.paid", "userId": "u1", "value": value,
                            "currency": currency}, format="json")
    event = UserEvent.objects.get()
    assert (event.value, event.currency) == stored


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"userId": "u1"}, "name: This field is required."),
        ({"name": "", "userId": "u1"}, "name: This field may not be blank."),
        ({"name": "a", "email": "nope"}, "email: Enter a valid email address."),
        ({"name": "a", "userId": "u1", "eventProperties": [1]}, "eventProperties: Expected a"),
        ({"name": "a", "userId": "u1", "timestamp": "yesterday"}, "timestamp: Datetime has"),
        ({"name": "a", "userId": "u1", "value": "lots"}, "value: A valid number is required."),
    ],
)
def test_bad_events_are_a_400_that_says_what_is_wrong(api, body, error):
    response = api.post("/v1/events", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"].startswith(error), response.json()
    assert not UserEvent.objects.exists()
    assert not Contact.objects.exists()


def test_a_body_that_is_not_json_is_a_400(api):
    response = api.post("/v1/events", "{", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid JSON body")


def test_an_admin_key_may_ingest_too(admin_api):
    response = admin_api.post("/v1/events", {"name": "a", "userId": "u1"}, format="json")
    assert response.status_code == 202


# --- batch ------------------------------------------------------------------------


def test_a_batch_answers_one_result_per_event_in_order(api):
    events = [{"name": "page.viewed", "userId": f"u{i % 3}",
               "idempotencyKey": f"view-{i}"} for i in range(6)]
    response = api.post("/v1/events/batch", {"events": events}, format="json")
    assert response.status_code == 202
    assert response.json()["results"] == [
        {"index": i, "stored": True, "contactKey": f"u{i % 3}"} for i in range(6)
    ]
    assert UserEvent.objects.count() == 6
    assert Contact.objects.count() == 3


def test_a_replayed_batch_stores_nothing_new(api):
    events = [{"name": "a", "userId": "u1", "idempotencyKey": "k1"},
              {"name": "a", "userId": "u1", "idempotencyKey": "k1"},
              {"name": "b", "userId": "u1", "idempotencyKey": "k2"}]
    first = api.post("/v1/events/batch", {"events": events}, format="json").json()["results"]
    assert [r["stored"] for r in first] == [True, False, True]
    again = api.post("/v1/events/batch", {"events": events}, format="json").json()["results"]
    assert [r["stored"] for r in again] == [False, False, False]
    assert UserEvent.objects.count() == 2


def test_the_idempotency_key_header_is_not_used_by_a_batch(api):
    events = [{"name": "a", "userId": "u1"}, {"name": "b", "userId": "u1"}]
    response = api.post("/v1/events/batch", {"events": events}, format="json",
                        HTTP_IDEMPOTENCY_KEY="whole-batch")
    assert [r["stored"] for r in response.json()["results"]] == [True, True]
    assert not UserEvent.objects.filter(idempotency_key="whole-batch").exists()


def test_a_batch_of_1000_is_accepted(api):
    events = [{"name": "tick", "userId": "u1"}] * 1000
    response = api.post("/v1/events/batch", {"events": events}, format="json")
    assert response.status_code == 202
    assert len(response.json()["results"]) == 1000
    assert UserEvent.objects.count() == 1000


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"events": [{"name": "a", "userId": "u1"}] * 1001}, "events: Ensure this field has no"),
        ({"events": []}, "events: "),
        ({"events": {"name": "a"}}, "events: Expected a list"),
        ({}, "events: This field is required."),
        ([{"name": "a", "userId": "u1"}], "Invalid data. Expected a dictionary"),
    ],
)
def test_a_bad_envelope_is_a_400_and_stores_nothing(api, body, error):
    response = api.post("/v1/events/batch", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"].startswith(error), response.json()
    assert not UserEvent.objects.exists()


def test_lists_on_an_event_are_applied_after_the_ingest(api):
    from contacts.models import EmailPreference

    response = api.post("/v1/events", {"name": "signed.up", "userId": "l1",
                                       "email": "l1@example.com", "lists": {"digest": False}},
                        format="json")
    assert response.status_code == 202 and "listsError" not in response.json()
    assert EmailPreference.objects.get(email="l1@example.com").categories == {"digest": False}


def test_a_list_error_is_reported_without_failing_the_ingest(api):
    response = api.post("/v1/events", {"name": "signed.up", "userId": "nomail",
                                       "lists": {"digest": True}}, format="json")
    assert response.status_code == 202
    assert response.json()["stored"] is True
    assert response.json()["listsError"] == "lists: the contact has no email address"
