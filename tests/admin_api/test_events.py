"""Events on the admin plane: list with filters, detail, and replay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.journeys.conftest import ingest
from tracking.models import UserEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(ada, clock) -> list[UserEvent]:
    """Three events over three days: two of Ada's, one of someone else."""
    now = timezone.now()
    rows = [
        ("u_ada", "ticket.resolved", now - timedelta(days=2)),
        ("u_bob", "ticket.resolved", now - timedelta(days=1)),
        ("u_ada", "app.active", now),
    ]
    return [ingest(name, user_id=user, occurred_at=at).event for user, name, at in rows]


def test_the_list_is_newest_first(admin_api, events):
    body = admin_api.get("/v1/admin/events").json()
    assert [e["id"] for e in body["events"]] == [e.pk for e in reversed(events)]
    assert body["total"] == 3
    first = body["events"][0]
    assert (first["userId"], first["event"], first["source"]) == ("u_ada", "app.active", "api")
    assert first["occurredAt"].endswith("Z")


def test_the_list_filters_by_user_event_and_window(admin_api, events):
    def ids(**params):
        return [e["id"] for e in admin_api.get("/v1/admin/events", params).json()["events"]]

    assert ids(userId="u_ada") == [events[2].pk, events[0].pk]
    assert ids(event="ticket.resolved") == [events[1].pk, events[0].pk]
    assert ids(userId="u_ada", event="ticket.resolved") == [events[0].pk]
    since = (timezone.now() - timedelta(days=1, minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert ids(**{"from": since}) == [events[2].pk, events[1].pk]
    assert ids(**{"from": since, "to": until}) == [events[1].pk]


def test_a_bad_timestamp_filter_is_a_400(admin_api):
    response = admin_api.get("/v1/admin/events?from=yesterday")
    assert response.status_code == 400
    assert response.json()["error"].startswith("from:")


def test_the_list_pages(admin_api, events):
    body = admin_api.get("/v1/admin/events?limit=1&offset=2").json()
    assert [e["id"] for e in body["events"]] == [events[0].pk]
    assert (body["total"], body["limit"], body["offset"]) == (3, 1, 2)


def test_one_event_by_id(admin_api, events):
    body = admin_api.get(f"/v1/admin/events/{events[0].pk}").json()
    assert body["event"]["event"] == "ticket.resolved"
    assert body["event"]["contactId"] is not None


def test_an_unknown_event_is_a_404(admin_api):
    response = admin_api.get("/v1/admin/events/999999")
    assert response.status_code == 404
    assert response.json() == {"error": "Event not found"}


def test_replay_re_ingests_events_and_reports_unknown_ids(admin_api, events):
    response = admin_api.post("/v1/admin/events/replay",
                              {"eventIds": [events[0].pk, 999999]}, format="json")
    assert response.status_code == 200
    assert response.json() == {"replayed": 1,
                               "errors": [{"eventId": 999999, "error": "Event not found"}]}
    replayed = UserEvent.objects.get(source="replay")
    assert (replayed.event, replayed.contact_id) == ("ticket.resolved", events[0].contact_id)
    assert replayed.pk not in {e.pk for e in events}


def test_replay_goes_through_the_journey_guards(admin_api, events):
    """The support follow-up admits one enrolment per 7 days: replaying the
    trigger while the first run is live starts nothing new."""
    from journeys.models import JourneyRun

    assert JourneyRun.objects.filter(journey_id="support-followup").count() == 2
    admin_api.post("/v1/admin/events/replay", {"eventIds": [events[0].pk]}, format="json")
    assert JourneyRun.objects.filter(journey_id="support-followup").count() == 2


@pytest.mark.parametrize("body", [{}, {"eventIds": []}, {"eventIds": ["x"]},
                                  {"eventIds": list(range(1, 1002))}])
def test_replay_rejects_a_bad_body(admin_api, body):
    response = admin_api.post("/v1/admin/events/replay", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("eventIds")
