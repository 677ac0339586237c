"""The journeys admin: runs with their timeline and emails, stranded runs, config."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from journeys.models import JourneyConfig, JourneyLog, JourneyRun, StepRecord
from tracking.models import EmailSend

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(ada) -> JourneyRun:
    now = timezone.now()
    run = JourneyRun.objects.create(
        journey_id="support-followup",
        contact=ada,
        user_key=ada.key,
        user_email=ada.email,
        status="waiting",
        current_step="wait-event:support.reopen_requested",
        wake_at=now + timedelta(days=3),
        waiting_event="support.reopen_requested",
        context={"ticket_id": "T-9"},
    )
    JourneyLog.objects.create(run=run, action="entered", to_step="start", created_at=now)
    JourneyLog.objects.create(
        run=run, action="send", from_step="start", to_step="send:support/followup", created_at=now
    )
    StepRecord.objects.create(
        run=run, key="send:support/followup#1", kind="send", value={"status": "sent"}, at=now
    )
    EmailSend.objects.create(
        journey_run_id=run.pk,
        journey_id=run.journey_id,
        contact=ada,
        template_key="support/followup",
        from_email="a@x",
        to_email=ada.email,
        subject="Is your ticket sorted?",
    )
    return run


def test_run_changelist_and_change_page_show_timeline_journal_and_emails(admin_client, run):
    listing = admin_client.get(reverse("admin:journeys_journeyrun_changelist"))
    assert listing.status_code == 200
    assert b"support-followup" in listing.content
    # The journey filter offers the journeys in code (no DISTINCT over all runs).
    assert b"?journey_id=support-followup" in listing.content
    page = admin_client.get(reverse("admin:journeys_journeyrun_change", args=[run.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    for text in (
        "entered",
        "send:support/followup#1",
        "Is your ticket sorted?",
        "T-9",
        "support.reopen_requested",
    ):
        assert text in html, text
    assert 'name="_save"' not in html  # read-only


def test_runs_filter_by_journey_and_status(admin_client, run, ada):
    JourneyRun.objects.create(journey_id="nps", contact=ada, user_key=ada.key, status="completed")
    changelist = reverse("admin:journeys_journeyrun_changelist")
    by_journey = admin_client.get(changelist, {"journey_id": "nps"}).context["cl"].result_list
    by_status = admin_client.get(changelist, {"status__exact": "waiting"}).context["cl"]
    assert [r.journey_id for r in by_journey] == ["nps"]
    assert list(by_status.result_list) == [run]


def test_the_stranded_filter_lists_live_runs_an_hour_past_their_wake_time(admin_client, run, ada):
    now = timezone.now()
    stranded = JourneyRun.objects.create(
        journey_id="nps",
        contact=ada,
        user_key=ada.key,
        status="waiting",
        wake_at=now - timedelta(minutes=61),
    )
    JourneyRun.objects.create(
        journey_id="late-but-fine",
        contact=ada,
        user_key=ada.key,
        status="waiting",
        wake_at=now - timedelta(minutes=59),
    )
    JourneyRun.objects.create(
        journey_id="done",
        contact=ada,
        user_key=ada.key,
        status="completed",
        wake_at=now - timedelta(days=2),
    )
    response = admin_client.get(
        reverse("admin:journeys_journeyrun_changelist"), {"stranded": "yes"}
    )
    assert list(response.context["cl"].result_list) == [stranded]


@pytest.mark.parametrize("term", ["ada@example.com", "u_ada", "{run}"])
def test_runs_are_found_by_the_contacts_keys_or_the_run_id(admin_client, run, term):
    response = admin_client.get(
        reverse("admin:journeys_journeyrun_changelist"), {"q": term.format(run=run.pk)}
    )
    assert list(response.context["cl"].result_list) == [run]


def test_the_exit_action_exits_live_runs_through_the_service(admin_client, run):
    admin_client.post(
        reverse("admin:journeys_journeyrun_changelist"),
        {"action": "exit_runs", "_selected_action": [run.pk]},
    )
    run.refresh_from_db()
    assert run.status == "exited"
    assert run.logs.filter(action="exited").exists()


def test_journey_log_and_step_record_admins_render_read_only(admin_client, run):
    log = run.logs.first()
    step = run.steps.get()
    for model, obj in (("journeylog", log), ("steprecord", step)):
        listing = admin_client.get(reverse(f"admin:journeys_{model}_changelist"))
        page = admin_client.get(reverse(f"admin:journeys_{model}_change", args=[obj.pk]))
        assert listing.status_code == page.status_code == 200
        assert admin_client.get(reverse(f"admin:journeys_{model}_add")).status_code == 403
    found = admin_client.get(reverse("admin:journeys_steprecord_changelist"), {"q": str(run.pk)})
    assert list(found.context["cl"].result_list) == [step]


def test_journey_config_is_editable(admin_client, db):
    response = admin_client.post(
        reverse("admin:journeys_journeyconfig_add"), {"journey_id": "nps-survey", "enabled": ""}
    )
    assert response.status_code == 302
    config = JourneyConfig.objects.get(journey_id="nps-survey")
    assert config.enabled is False
    assert admin_client.get(reverse("admin:journeys_journeyconfig_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:journeys_journeyconfig_change", args=[config.pk]))
    assert page.status_code == 200


def test_journey_config_only_accepts_journeys_in_code(admin_client, db):
    response = admin_client.post(
        reverse("admin:journeys_journeyconfig_add"), {"journey_id": "nps", "enabled": ""}
    )
    assert response.status_code == 200
    assert "journey_id" in response.context["adminform"].form.errors
    assert not JourneyConfig.objects.exists()
