"""Operator alerts on the admin plane: the queue, acknowledge, resolve."""

from __future__ import annotations

import pytest

from alerts.models import Alert

pytestmark = pytest.mark.django_db


@pytest.fixture
def alerts(ada) -> list[Alert]:
    return [
        Alert.objects.create(kind="support.reopen", title="Reopen T-1", contact=ada,
                             dedupe_key="a1"),
        Alert.objects.create(kind="nps.detractor", title="Detractor", dedupe_key="a2",
                             status="resolved"),
        Alert.objects.create(kind="support.reopen", title="Reopen T-2", dedupe_key="a3"),
    ]


def test_the_queue_is_newest_first_with_status_and_kind_filters(admin_api, alerts):
    body = admin_api.get("/v1/admin/alerts").json()
    assert [a["title"] for a in body["alerts"]] == ["Reopen T-2", "Detractor", "Reopen T-1"]
    assert body["total"] == 3
    open_reopens = admin_api.get("/v1/admin/alerts?status=open&kind=support.reopen").json()
    assert [a["title"] for a in open_reopens["alerts"]] == ["Reopen T-2", "Reopen T-1"]
    assert open_reopens["alerts"][1]["contactId"] == str(alerts[0].contact_id)
    assert admin_api.get("/v1/admin/alerts?status=snoozed").status_code == 400


def test_acknowledge_and_resolve_record_the_key_as_actor(admin_api, alerts):
    alert = alerts[0]
    acked = admin_api.post(f"/v1/admin/alerts/{alert.pk}/acknowledge").json()["alert"]
    assert (acked["status"], acked["acknowledgedBy"]) == ("acknowledged", "admin")
    resolved = admin_api.post(f"/v1/admin/alerts/{alert.pk}/resolve").json()["alert"]
    assert (resolved["status"], resolved["resolvedBy"]) == ("resolved", "admin")
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolved_at is not None


def test_an_unknown_alert_is_a_404(admin_api):
    for action in ("acknowledge", "resolve"):
        response = admin_api.post(f"/v1/admin/alerts/999999/{action}")
        assert response.status_code == 404
        assert response.json() == {"error": "Alert not found"}
