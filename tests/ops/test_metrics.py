"""/metrics: Prometheus text behind a bearer token, computed from the tables."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from alerts.models import Alert, HandlerJob
from journeys.models import JourneyRun
from tracking.models import EmailSend, LinkClick, PendingEvent, TrackedLink, UserEvent

pytestmark = pytest.mark.django_db

TOKEN = "metrics-" + "t" * 32


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_without_a_configured_token_metrics_do_not_exist(client, settings):
    settings.METRICS_TOKEN = ""
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything")
    assert response.status_code == 404


@pytest.mark.parametrize("header", ["", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_a_missing_or_wrong_token_is_refused(client, settings, header):
    settings.METRICS_TOKEN = TOKEN
    response = client.get("/metrics", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"hogsend_" not in response.content


def test_the_figures_come_from_the_tables(client, settings, ada):
    settings.METRICS_TOKEN = TOKEN
    now = timezone.now()
    for status in ("waiting", "completed", "completed"):
        JourneyRun.objects.create(journey_id="support-followup", contact=None, user_key=status,
                                  status=status, wake_at=now - timedelta(seconds=90)
                                  if status == "waiting" else None)
    send = EmailSend.objects.create(to_email="a@example.com", template_key="t", subject="s",
                                    from_email="f@example.com", status="sent")
    EmailSend.objects.create(to_email="b@example.com", template_key="t", subject="s",
                             from_email="f@example.com", status="failed")
    event = UserEvent.objects.create(user_key="u", event="support.reopen_requested")
    HandlerJob.objects.create(handler="support-alert", event=event, due_at=now - timedelta(1))
    link = TrackedLink.objects.create(email_send=send, original_url="https://x.test", event="e")
    LinkClick.objects.create(tracked_link=link, confirm_at=now)
    PendingEvent.objects.create(email_send=send, event="email.opened", due_at=now)
    PendingEvent.objects.create(email_send=send, event="email.opened", due_at=None)
    PendingEvent.objects.create(email_send=send, event="email.opened", due_at=None)
    Alert.objects.create(kind="reopen_requested", title="t", dedupe_key="k")

    samples = scrape(client)
    runs = "hogsend_journey_runs"
    assert samples[(runs, (("journey", "support-followup"), ("status", "completed")))] == 2
    assert samples[(runs, (("journey", "support-followup"), ("status", "waiting")))] == 1
    assert samples[("hogsend_due_backlog", ())] == 1
    assert 89 <= samples[("hogsend_due_lateness_seconds", ())] < 150
    assert samples[("hogsend_email_sends_last_minute", (("status", "sent"),))] == 1
    assert samples[("hogsend_email_sends_last_minute", (("status", "failed"),))] == 1
    assert samples[("hogsend_handler_jobs", (("status", "pending"),))] == 1
    assert samples[("hogsend_handler_jobs", (("status", "failed"),))] == 0
    assert samples[("hogsend_handler_jobs_overdue", ())] == 1
    assert samples[("hogsend_semantic_clicks_pending", ())] == 1
    assert samples[("hogsend_tracking_events", (("state", "pending"),))] == 1
    assert samples[("hogsend_tracking_events", (("state", "given_up"),))] == 2
    assert samples[("hogsend_alerts_open", (("kind", "reopen_requested"),))] == 1


def test_webhook_deliveries_are_counted_when_the_table_exists(client, settings):
    from django.apps import apps

    settings.METRICS_TOKEN = TOKEN
    try:
        apps.get_model("alerts", "WebhookDelivery")
    except LookupError:
        pytest.skip("no WebhookDelivery model in this build")
    samples = scrape(client)
    assert not [key for key in samples if key[0] == "hogsend_webhook_deliveries"
                and samples[key] != 0]


def test_an_empty_install_scrapes_cleanly(client, settings):
    settings.METRICS_TOKEN = TOKEN
    samples = scrape(client)
    assert samples[("hogsend_due_backlog", ())] == 0
    assert samples[("hogsend_due_lateness_seconds", ())] == 0
