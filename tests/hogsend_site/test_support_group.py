"""The "support" staff group: view everything, act through the console, never edit history."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert
from contacts.models import PreferenceChange
from hogsend_site.staff import SUPPORT_APPS, SUPPORT_GROUP, support_group_sync
from journeys.models import JourneyLog, JourneyRun, StepRecord
from tracking.models import EmailSend, LinkClick, TrackedLink, UserEvent

pytestmark = pytest.mark.django_db

HISTORY = (UserEvent, EmailSend, LinkClick, JourneyLog, StepRecord)


def codenames(group: Group) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")}


def test_the_migrations_create_the_group_with_views_and_console_actions_only():
    group = Group.objects.get(name=SUPPORT_GROUP)
    granted = codenames(group)
    for model in apps.get_models():
        if model._meta.app_label in SUPPORT_APPS:
            assert f"{model._meta.app_label}.view_{model._meta.model_name}" in granted
    assert {"journeys.change_journeyrun", "alerts.change_alert",
            "contacts.change_emailpreference", "tracking.replay_userevent"} <= granted
    for model in HISTORY:
        name = f"{model._meta.app_label}.%s_{model._meta.model_name}"
        assert not {name % verb for verb in ("add", "change", "delete")} & granted
    assert not any(code.startswith("auth.") for code in granted)
    assert "campaigns.view_campaign" in granted
    assert not {code for code in granted if code.startswith("campaigns.")
                and not code.startswith("campaigns.view_")}


def test_the_sync_only_adds_and_keeps_an_operators_own_grants():
    group = support_group_sync()
    extra = Permission.objects.get(codename="change_journeyconfig")
    group.permissions.add(extra)
    support_group_sync()
    assert "journeys.change_journeyconfig" in codenames(group)
    assert Group.objects.filter(name=SUPPORT_GROUP).count() == 1


@pytest.fixture
def history(ada) -> dict[str, object]:
    now = timezone.now()
    run = JourneyRun.objects.create(journey_id="support-followup", contact=ada,
                                    user_key=ada.key, status="waiting", wake_at=now)
    send = EmailSend.objects.create(contact=ada, template_key="t", from_email="a@x",
                                    to_email=ada.email, subject="s", journey_run_id=run.pk)
    link = TrackedLink.objects.create(email_send=send, original_url="https://x")
    return {
        "userevent": UserEvent.objects.create(contact=ada, user_key=ada.key, event="e"),
        "emailsend": send,
        "linkclick": LinkClick.objects.create(tracked_link=link),
        "journeylog": JourneyLog.objects.create(run=run, action="entered", created_at=now),
        "steprecord": StepRecord.objects.create(run=run, key="k", kind="sleep", at=now),
        "run": run,
    }


@pytest.mark.parametrize("model", [m._meta.model_name for m in HISTORY])
def test_support_staff_get_403_on_editing_history(support_client, history, model):
    app = {"userevent": "tracking", "emailsend": "tracking", "linkclick": "tracking",
           "journeylog": "journeys", "steprecord": "journeys"}[model]
    obj = history[model]
    change = reverse(f"admin:{app}_{model}_change", args=[obj.pk])
    assert support_client.get(change).status_code == 200  # they may look
    assert b'name="_save"' not in support_client.get(change).content
    assert support_client.post(change, {}).status_code == 403
    assert support_client.get(reverse(f"admin:{app}_{model}_add")).status_code == 403
    assert support_client.post(reverse(f"admin:{app}_{model}_delete", args=[obj.pk]),
                               {"post": "yes"}).status_code == 403
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_support_staff_can_act_exit_acknowledge_and_unsubscribe(support_client, history, ada):
    run = history["run"]
    support_client.post(reverse("admin:journeys_journeyrun_changelist"),
                        {"action": "exit_runs", "_selected_action": [run.pk]})
    alert = Alert.objects.create(kind="lead", title="Lead", dedupe_key="x", contact=ada)
    support_client.post(reverse("admin:alerts_alert_changelist"),
                        {"action": "acknowledge", "_selected_action": [alert.pk]})
    support_client.post(reverse("admin:contacts_contact_preferences", args=[ada.pk]),
                        {"action": "unsubscribe_all"})
    run.refresh_from_db()
    alert.refresh_from_db()
    assert run.status == "exited"
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", "sam")
    assert PreferenceChange.objects.get().actor == "sam"


def test_support_staff_cannot_edit_or_add_raw_rows_elsewhere(support_client, ada, history):
    response = support_client.post(reverse("admin:contacts_contact_change", args=[ada.pk]),
                                   {"email": "evil@example.com"})
    assert response.status_code == 403
    assert support_client.get(reverse("admin:hogsend_site_apikey_add")).status_code == 403
    assert support_client.get(reverse("admin:auth_user_changelist")).status_code == 403


def changelists() -> list[str]:
    return sorted(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
                  for model in admin.site._registry if model._meta.app_label in SUPPORT_APPS)


@pytest.mark.parametrize("name", changelists())
@pytest.mark.parametrize("who", ["admin_client", "support_client"])
def test_every_changelist_renders_for_superusers_and_support_staff(request, who, name, history):
    client = request.getfixturevalue(who)
    assert client.get(reverse(name)).status_code == 200


@pytest.mark.parametrize("who", ["admin_client", "support_client"])
def test_the_admin_index_links_the_support_console(request, who):
    client = request.getfixturevalue(who)
    html = client.get(reverse("admin:index")).content.decode()
    for name in ("journeys_journeyoverview_changelist", "journeys_strandedrun_changelist",
                 "tracking_answer_changelist", "alerts_alert_changelist"):
        assert reverse(f"admin:{name}") in html, name
    assert 'id="support-console"' in html
