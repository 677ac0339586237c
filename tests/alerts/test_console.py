"""The operator queue in the support console, and the scheduled stranded-runs check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from alerts.cron import stranded_runs_check
from alerts.models import Alert
from hogsend_site.schedules import SCHEDULES
from journeys.models import JourneyRun

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:alerts_alert_changelist"


@pytest.fixture
def queue(ada) -> dict[str, Alert]:
    run = JourneyRun.objects.create(journey_id="support-followup", contact=ada,
                                    user_key=ada.key, status="completed")
    older = Alert.objects.create(kind="reopen_requested", title="Old open", contact=ada,
                                 journey_run=run, dedupe_key="a")
    resolved = Alert.objects.create(kind="lead", title="Resolved lead", dedupe_key="b",
                                    status="resolved")
    newer = Alert.objects.create(kind="nps_detractor", title="New open", contact=ada,
                                 dedupe_key="c")
    acked = Alert.objects.create(kind="lead", title="Acked lead", dedupe_key="d",
                                 status="acknowledged")
    Alert.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(hours=3))
    return {"older": older, "resolved": resolved, "newer": newer, "acked": acked, "run": run}


@pytest.mark.parametrize("who", ["admin_client", "support_client"])
def test_the_queue_shows_open_alerts_first_with_links_and_age(request, who, queue):
    client = request.getfixturevalue(who)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 200
    titles = [alert.title for alert in response.context["cl"].result_list]
    assert titles == ["New open", "Old open", "Acked lead", "Resolved lead"]
    html = response.content.decode()
    assert reverse("admin:contacts_contact_change", args=[queue["older"].contact_id]) in html
    assert reverse("admin:journeys_journeyrun_change", args=[queue["run"].pk]) in html
    assert "3\xa0hours" in html  # age
    page = client.get(reverse("admin:alerts_alert_change", args=[queue["older"].pk]))
    assert page.status_code == 200 and b'id="acknowledge-alert"' in page.content


def test_the_buttons_acknowledge_then_resolve_and_record_who(support_client, queue):
    alert = queue["newer"]
    acknowledge = reverse("admin:alerts_alert_acknowledge", args=[alert.pk])
    assert support_client.get(acknowledge).status_code == 405
    assert support_client.post(acknowledge).status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", "sam")
    page = support_client.get(reverse("admin:alerts_alert_change", args=[alert.pk])).content
    assert b'id="acknowledge-alert"' not in page and b'id="resolve-alert"' in page
    support_client.post(reverse("admin:alerts_alert_resolve", args=[alert.pk]))
    alert.refresh_from_db()
    assert (alert.status, alert.resolved_by) == ("resolved", "sam")


def test_staff_who_may_only_look_cannot_handle_alerts(queue, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_alert"))
    client = Client()
    client.force_login(viewer)
    alert = queue["newer"]
    listing = client.get(reverse(CHANGELIST))
    assert listing.status_code == 200
    assert listing.context["action_form"] is None  # no action is offered
    button = reverse("admin:alerts_alert_acknowledge", args=[alert.pk])
    assert client.post(button).status_code == 403
    client.post(reverse(CHANGELIST), {"action": "acknowledge", "_selected_action": [alert.pk]})
    alert.refresh_from_db()
    assert alert.status == "open"


# --- the stranded-runs check ----------------------------------------------------------

NOW = datetime(2026, 6, 16, 10, 20, tzinfo=UTC)


def stranded(ada, n: int, **fields) -> list[JourneyRun]:
    defaults = {"status": "waiting", "wake_at": NOW - timedelta(hours=2),
                "waiting_event": "support.followup_answered"}
    return [JourneyRun.objects.create(journey_id=f"j{i}", contact=ada, user_key=ada.key,
                                      **{**defaults, **fields}) for i in range(n)]


def test_no_stranded_runs_raise_nothing(time_machine, ada):
    time_machine.move_to(NOW, tick=False)
    stranded(ada, 1, wake_at=NOW - timedelta(minutes=59))
    assert stranded_runs_check() == {"stranded": 0, "alert": None}
    assert not Alert.objects.exists()


def test_stranded_runs_raise_one_alert_an_hour_listing_them(time_machine, ada):
    time_machine.move_to(NOW, tick=False)
    runs = stranded(ada, 2)
    failed = JourneyRun.objects.create(journey_id="f", contact=ada, user_key=ada.key,
                                       status="failed", error_message="ValueError: x")
    result = stranded_runs_check()
    alert = Alert.objects.get()
    assert result == {"stranded": 3, "alert": alert.pk}
    assert (alert.kind, alert.status, alert.dedupe_key) == (
        "stranded_runs", "open", "stranded_runs:2026-06-16T10")
    assert alert.title == "3 stranded journey run(s)"
    listed = {item["id"]: item for item in alert.payload["runs"]}
    assert set(listed) == {str(run.pk) for run in [*runs, failed]}
    assert listed[str(failed.pk)]["reason"] == "failed: ValueError: x"
    assert "past its deadline" in listed[str(runs[0].pk)]["reason"]

    time_machine.move_to(NOW + timedelta(minutes=35), tick=False)  # 10:55, same hour
    stranded_runs_check()
    assert Alert.objects.count() == 1
    time_machine.move_to(NOW + timedelta(minutes=45), tick=False)  # 11:05, next hour
    stranded_runs_check()
    assert Alert.objects.count() == 2


def test_the_alert_lists_at_most_fifty_runs_and_counts_them_all(time_machine, ada):
    time_machine.move_to(NOW, tick=False)
    stranded(ada, 53)
    stranded_runs_check()
    alert = Alert.objects.get()
    assert (alert.payload["total"], len(alert.payload["runs"])) == (53, 50)


def test_the_alert_page_links_every_listed_run(time_machine, admin_client, ada):
    time_machine.move_to(NOW, tick=False)
    (run,) = stranded(ada, 1)
    stranded_runs_check()
    page = admin_client.get(reverse("admin:alerts_alert_change", args=[Alert.objects.get().pk]))
    assert reverse("admin:journeys_journeyrun_change", args=[run.pk]) in page.content.decode()


def test_the_check_is_scheduled_every_five_minutes():
    (entry,) = [item for item in SCHEDULES if item["name"] == "stranded-runs"]
    assert (entry["func"], entry["cron"]) == ("alerts.cron.stranded_runs_check", "*/5 * * * *")
    call_command("sync_schedules", stdout=StringIO())
    schedule = Schedule.objects.get(name="hogsend:stranded-runs")
    assert schedule.func == "alerts.cron.stranded_runs_check"
