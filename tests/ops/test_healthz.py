"""/healthz: database, broker, cluster heartbeat and how late the clock is."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.utils import timezone

from journeys.models import JourneyRun

pytestmark = pytest.mark.django_db


def health(client):
    response = client.get("/healthz")
    return response.status_code, response.json()


def test_a_quick_start_without_workers_is_healthy(client):
    status, body = health(client)
    assert status == 200
    assert body["status"] == "healthy" and body["failing"] == []
    assert body["database"] == "ok" and body["broker"] == "ok"
    assert body["cluster"] == "no cluster"
    assert body["lateness"] == {"seconds": 0.0, "limit": 300.0}
    assert client.get("/healthz")["Cache-Control"].startswith("max-age=0")


def test_a_missing_cluster_is_unhealthy_when_one_is_required(client, settings):
    settings.HEALTH_REQUIRE_CLUSTER = True
    status, body = health(client)
    assert status == 503
    assert body["status"] == "unhealthy" and body["failing"] == ["cluster"]


def test_a_running_cluster_heartbeat_is_reported(client, settings):
    settings.HEALTH_REQUIRE_CLUSTER = True
    stat = SimpleNamespace(status="Idle", workers=[11, 12])
    with mock.patch("django_q.status.Stat.get_all", return_value=[stat]):
        status, body = health(client)
    assert status == 200
    assert body["cluster"] == {"clusters": 1, "workers": 2}


def test_a_stopped_cluster_does_not_count(client, settings):
    settings.HEALTH_REQUIRE_CLUSTER = True
    with mock.patch("django_q.status.Stat.get_all",
                    return_value=[SimpleNamespace(status="Stopped", workers=[])]):
        assert health(client)[0] == 503


def test_an_unreachable_broker_is_unhealthy(client):
    broker = mock.Mock(**{"ping.side_effect": ConnectionError("refused")})
    with mock.patch("django_q.brokers.get_broker", return_value=broker):
        status, body = health(client)
    assert status == 503
    assert body["broker"] == "error: ConnectionError"
    assert "broker" in body["failing"]


def test_an_unreachable_database_is_unhealthy(client):
    with mock.patch("hogsend_site.health.connection") as conn:
        conn.cursor.side_effect = RuntimeError("gone")
        status, body = health(client)
    assert status == 503
    assert body["database"] == "error: RuntimeError"
    assert set(body["failing"]) >= {"database", "lateness"}


def test_lateness_is_the_oldest_due_wake_up_of_a_live_run(client, settings, ada):
    now = timezone.now()
    JourneyRun.objects.create(journey_id="j", contact=ada, user_key=ada.key, status="waiting",
                              wake_at=now - timedelta(seconds=100))
    JourneyRun.objects.create(journey_id="k", contact=ada, user_key=ada.key, status="waiting",
                              wake_at=now + timedelta(days=1))  # not due: not late
    status, body = health(client)
    assert status == 200 and 99 <= body["lateness"]["seconds"] <= 130
    settings.HEALTH_MAX_LATENESS = 60
    status, body = health(client)
    assert status == 503 and body["failing"] == ["lateness"]


def test_finished_runs_are_never_late(client, ada):
    JourneyRun.objects.create(journey_id="j", contact=ada, user_key=ada.key, status="completed",
                              wake_at=timezone.now() - timedelta(days=3))
    assert health(client) [1]["lateness"]["seconds"] == 0.0


@pytest.mark.skipif(bool(__import__("django.conf").conf.settings.REDIS_URL),
                    reason="with Redis the heartbeat lives in Redis")
def test_without_redis_the_cluster_heartbeat_is_kept_where_every_process_sees_it():
    """A qcluster's heartbeat (django-q2 Stat) goes to the database cache, so the web
    process's /healthz sees a cluster another process runs (not its own memory)."""
    from django.db import connection
    from django_q.brokers import get_broker

    broker = get_broker()
    broker.set_stat("django_q:hogsend:cluster:elsewhere", "heartbeat", 30)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM hogsend_cluster_cache")
        assert cursor.fetchone()[0] >= 1
    assert broker.get_stat("django_q:hogsend:cluster:elsewhere") == "heartbeat"
