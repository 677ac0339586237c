"""The alerts admin: the support queue and its acknowledge/resolve actions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from alerts.models import Alert, HandlerJob
from tracking.models import UserEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert(ada) -> Alert:
    return Alert.objects.create(kind="support.reopen", title="Ada asked to reopen T-9",
                                contact=ada, dedupe_key="reopen:T-9", payload={"ticket_id": "T-9"})


def test_alert_changelist_and_change_page_render(admin_client, alert):
    listing = admin_client.get(reverse("admin:alerts_alert_changelist"))
    page = admin_client.get(reverse("admin:alerts_alert_change", args=[alert.pk]))
    assert listing.status_code == page.status_code == 200
    assert b"T-9" in page.content


def test_alerts_filter_by_status_and_kind(admin_client, alert):
    Alert.objects.create(kind="lead", title="Lead", dedupe_key="lead:1", status="resolved")
    changelist = reverse("admin:alerts_alert_changelist")
    open_ = admin_client.get(changelist, {"status__exact": "open"}).context["cl"].result_list
    leads = admin_client.get(changelist, {"kind": "lead"}).context["cl"].result_list
    assert list(open_) == [alert]
    assert [a.kind for a in leads] == ["lead"]


def test_acknowledge_then_resolve_record_who_and_when(admin_client, alert):
    changelist = reverse("admin:alerts_alert_changelist")
    admin_client.post(changelist, {"action": "acknowledge", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", "admin")
    assert alert.acknowledged_at is not None and alert.resolved_at is None
    admin_client.post(changelist, {"action": "resolve", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_by) == ("resolved", "admin")
    assert alert.resolved_at is not None


def test_acknowledging_a_resolved_alert_changes_nothing(admin_client, alert):
    Alert.objects.filter(pk=alert.pk).update(status="resolved")
    admin_client.post(reverse("admin:alerts_alert_changelist"),
                      {"action": "acknowledge", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.acknowledged_at is None


def test_alerts_are_not_typed_in(admin_client, db):
    assert admin_client.get(reverse("admin:alerts_alert_add")).status_code == 403


def test_handler_job_admin_renders_read_only(admin_client, ada):
    event = UserEvent.objects.create(contact=ada, user_key=ada.key, event="nps.answered")
    job = HandlerJob.objects.create(handler="nps-detractor", event=event, contact=ada,
                                    due_at=event.occurred_at, result={"alert": 1})
    listing = admin_client.get(reverse("admin:alerts_handlerjob_changelist"))
    page = admin_client.get(reverse("admin:alerts_handlerjob_change", args=[job.pk]))
    assert listing.status_code == page.status_code == 200
    assert b"nps.answered" in page.content
    assert admin_client.get(reverse("admin:alerts_handlerjob_add")).status_code == 403
    assert b'name="_save"' not in page.content
