from __future__ import annotations

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
    response = client.post("/v1/events", {"name": "x", "userId": "u"}, content_type="application/json")
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
