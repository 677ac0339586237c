"""API callers cannot state bucket transitions: `bucket:*` events come from the engine only."""

from __future__ import annotations

import pytest

from tracking.models import UserEvent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["bucket:entered:dormant-30d", "bucket:left:trial-expiring-soon",
                                  "BUCKET:entered:x"])
def test_a_bucket_event_posted_by_a_caller_is_refused_and_nothing_is_stored(api, name):
    response = api.post("/v1/events", {"name": name, "userId": "u_1"}, format="json")
    assert response.status_code == 400 and "reserved" in response.json()["error"]
    assert UserEvent.objects.count() == 0


def test_in_a_batch_the_bucket_event_fails_alone(api):
    body = {"events": [{"name": "bucket:entered:dormant-30d", "userId": "u_1"},
                       {"name": "app.active", "userId": "u_1"}]}
    results = api.post("/v1/events/batch", body, format="json").json()["results"]
    assert "reserved" in results[0]["error"] and results[1]["stored"] is True
    assert list(UserEvent.objects.values_list("event", flat=True)) == ["app.active"]


def test_an_event_merely_mentioning_buckets_is_fine(api):
    response = api.post("/v1/events", {"name": "buckets.viewed", "userId": "u_1"}, format="json")
    assert response.status_code == 202
