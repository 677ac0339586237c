"""The support console's journey pages: overview, run page, stranded runs, enrolment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hogsend_site.errors import NotFound
from journeys.engine.registry import registry
from journeys.models import JourneyConfig, JourneyLog, JourneyRun
from journeys.selectors import stranded_runs
from journeys.services import journey_config_set
from tests.recipes.helpers import (
    answer_page,
    comment,
    email_links,
    identify,
    run_due,
    send_event,
    sent,
)
from tracking.models import EmailSend, TrackedLink

pytestmark = pytest.mark.django_db

RESOLVED = datetime(2026, 6, 16, 14, 40, tzinfo=UTC)
MORNING = datetime(2026, 6, 17, 7, 0, tzinfo=UTC)  # 09:00 in Berlin
OVERVIEW = "admin:journeys_journeyoverview_changelist"


def messages_of(response) -> str:
    return " | ".join(str(m) for m in get_messages(response.wsgi_request))


@pytest.fixture
def clock_start() -> datetime:
    return RESOLVED


@pytest.fixture
def answered_run(api, client, clock, mailoutbox) -> JourneyRun:
    """The support follow-up, end to end: resolved, asked, answered "no", commented."""
    identify(api, "u_ada", "ada@example.com", timezone="Europe/Berlin")
    send_event(api, "ticket.resolved", "u_ada", {"ticket_id": "T-9"})
    clock.move_to(MORNING)
    run_due()
    (email,) = sent("support/followup")
    page = answer_page(client, email_links(email)["No, still broken"])
    comment(client, page, "Still crashes on export.")
    clock.shift(timedelta(seconds=31))
    run_due()
    return JourneyRun.objects.get(journey_id="support-followup")


def make_run(contact, journey_id: str = "support-followup", **fields) -> JourneyRun:
    defaults = {"status": "waiting", "wake_at": timezone.now() + timedelta(days=1)}
    return JourneyRun.objects.create(journey_id=journey_id, contact=contact,
                                     user_key=contact.key, **{**defaults, **fields})


# --- overview -------------------------------------------------------------------------


def test_the_overview_lists_every_journey_in_code_with_counts_and_answer_rates(admin_client, ada):
    make_run(ada, status="waiting")
    make_run(ada, status="completed", wake_at=None)
    make_run(ada, status="failed", wake_at=None)
    make_run(ada, journey_id="nps-survey", status="held_out", wake_at=None)
    for answered in (True, False):
        send = EmailSend.objects.create(journey_id="support-followup", contact=ada,
                                        template_key="support/followup", from_email="a@x",
                                        to_email=ada.email, subject="?", status="sent")
        TrackedLink.objects.create(email_send=send, original_url="https://x", event="a",
                                   semantic_emitted_at=timezone.now() if answered else None)
    response = admin_client.get(reverse(OVERVIEW))
    assert response.status_code == 200
    rows = {row["journey"]["id"]: row for row in response.context["rows"]}
    assert set(rows) == {journey.id for journey in registry}
    followup = rows["support-followup"]
    assert {s: n for s, n, _ in followup["counts"]} == {
        "active": 0, "waiting": 1, "completed": 1, "exited": 0, "failed": 1, "held_out": 0}
    assert (followup["sends"], followup["answers"], followup["rate"]) == (2, 1, "50.0%")
    assert {s: n for s, n, _ in rows["nps-survey"]["counts"]}["held_out"] == 1
    html = response.content.decode()
    assert "?journey_id=support-followup&amp;status__exact=waiting" in html
    assert "Support — resolution follow-up" in html


def test_the_overview_costs_the_same_few_queries_however_many_runs(
        admin_client, ada, django_assert_max_num_queries):
    for status in ("waiting", "completed", "failed", "exited"):
        make_run(ada, status=status)
    with django_assert_max_num_queries(10):
        assert admin_client.get(reverse(OVERVIEW)).status_code == 200


def test_the_switch_turns_a_journey_off_and_on_through_the_service(admin_client):
    switch = reverse("admin:journeys_journeyoverview_switch", args=["nps-survey"])
    response = admin_client.post(switch, {"enabled": "0"})
    assert response.status_code == 302
    assert JourneyConfig.objects.get(journey_id="nps-survey").enabled is False
    page = admin_client.get(reverse(OVERVIEW)).content.decode()
    assert "off (admin)" in page
    admin_client.post(switch, {"enabled": "1"})
    assert JourneyConfig.objects.get(journey_id="nps-survey").enabled is True
    assert admin_client.get(switch).status_code == 405


def test_the_switch_is_csrf_protected(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    switch = reverse("admin:journeys_journeyoverview_switch", args=["nps-survey"])
    assert client.post(switch, {"enabled": "0"}).status_code == 403
    assert not JourneyConfig.objects.exists()


def test_support_staff_see_the_overview_but_do_not_switch_journeys(support_client):
    page = support_client.get(reverse(OVERVIEW))
    assert page.status_code == 200
    assert b"Disable" not in page.content
    switch = reverse("admin:journeys_journeyoverview_switch", args=["nps-survey"])
    assert support_client.post(switch, {"enabled": "0"}).status_code == 403


def test_journey_config_set_validates_and_upserts(db):
    journey_config_set(journey_id="nps-survey", enabled=False, actor="sam")
    journey_config_set(journey_id="nps-survey", enabled=False, actor="sam")
    assert JourneyConfig.objects.get().enabled is False
    with pytest.raises(NotFound):
        journey_config_set(journey_id="nope", enabled=False)


@pytest.mark.parametrize("who", ["admin_client", "support_client"])
def test_a_journey_page_renders_its_definition_and_numbers(request, who):
    client = request.getfixturevalue(who)
    page = client.get(reverse("admin:journeys_journeyoverview_detail", args=["support-followup"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "ticket.resolved" in html and "ticket.reopened" in html and "once_per_period" in html
    missing = reverse("admin:journeys_journeyoverview_detail", args=["nope"])
    assert client.get(missing).status_code == 404


def test_a_config_rows_page_is_its_journeys_page(admin_client):
    config = journey_config_set(journey_id="nps-survey", enabled=True)
    response = admin_client.get(reverse("admin:journeys_journeyoverview_change",
                                        args=[config.pk]))
    assert response.status_code == 302
    assert response["Location"].endswith("/journey/nps-survey/")


# --- the run page ---------------------------------------------------------------------


def test_the_run_page_shows_state_timeline_emails_answer_comment_and_events(
        admin_client, answered_run):
    page = admin_client.get(reverse("admin:journeys_journeyrun_change", args=[answered_run.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert answered_run.status == "completed"
    for text in ("Completed", "next-morning", "await-answer",  # timeline and journal
                 "Did that fix it?", "<iframe sandbox srcdoc=",  # the email, inert
                 "answer: no", "Still crashes on export.",  # answer and comment
                 "ticket.resolved #", "support.followup_answered #"):  # trigger, wake-up
        assert text in html, text
    assert "/v1/t/o/" not in html.split("srcdoc=")[1].split("</iframe>")[0]  # no open pixel


def test_a_waiting_run_page_says_what_it_waits_for_and_offers_exit(admin_client, ada):
    run = make_run(ada, waiting_event="support.followup_answered", current_step="await-answer",
                   wait_deadline=timezone.now() + timedelta(days=1))
    html = admin_client.get(reverse("admin:journeys_journeyrun_change", args=[run.pk])).content
    assert "Waiting for “Answered the support follow-up” until".encode() in html
    assert b'id="exit-run"' in html and b'id="retry-run"' not in html


def test_the_exit_button_exits_the_run_and_logs_who(support_client, ada):
    run = make_run(ada)
    url = reverse("admin:journeys_journeyrun_exit", args=[run.pk])
    assert support_client.get(url).status_code == 405
    response = support_client.post(url)
    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.status, run.exit_reason) == ("exited", "admin:sam")
    again = support_client.post(url, follow=True)
    assert "not exited: Run is already exited" in messages_of(again)


def test_the_retry_button_puts_a_failed_run_back_in_line(admin_client, ada, register):
    from journeys.engine import define_journey, hours

    @define_journey(id="flaky", name="Flaky", trigger="flaky.go")
    def flaky(user, ctx):
        ctx.sleep(hours(1), label="nap")

    register(flaky)
    run = make_run(ada, journey_id="flaky", status="failed", wake_at=None, error_message="boom")
    page = admin_client.get(reverse("admin:journeys_journeyrun_change", args=[run.pk])).content
    assert b'id="retry-run"' in page and b"Failed: boom" in page
    admin_client.post(reverse("admin:journeys_journeyrun_retry", args=[run.pk]))
    run_due()  # the retry is due now (its queued task runs on commit)
    run.refresh_from_db()
    assert (run.status, run.current_step) == ("waiting", "nap")
    assert run.logs.filter(action="resume", detail__source="retry").exists()


def test_staff_without_the_run_permission_get_no_buttons_and_403(ada, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_journeyrun"))
    client = Client()
    client.force_login(viewer)
    run = make_run(ada)
    page = client.get(reverse("admin:journeys_journeyrun_change", args=[run.pk]))
    assert page.status_code == 200 and b'id="exit-run"' not in page.content
    assert client.post(reverse("admin:journeys_journeyrun_exit", args=[run.pk])).status_code == 403
    client.post(reverse("admin:journeys_journeyrun_changelist"),
                {"action": "exit_runs", "_selected_action": [run.pk]})
    run.refresh_from_db()
    assert run.status == "waiting"


# --- stranded runs --------------------------------------------------------------------


@pytest.fixture
def stuck(ada) -> dict[str, JourneyRun]:
    now = timezone.now()
    return {
        "overdue": make_run(ada, wake_at=now - timedelta(minutes=61),
                            waiting_event="support.followup_answered"),
        "lost_wake": make_run(ada, journey_id="nps-survey", wake_at=None,
                              wait_deadline=now - timedelta(hours=2)),
        "failed": make_run(ada, journey_id="setup-offer", status="failed", wake_at=None,
                           error_message="KeyError: 'plan'\nTraceback..."),
        "late_but_fine": make_run(ada, journey_id="review-request",
                                  wake_at=now - timedelta(minutes=59)),
        "done": make_run(ada, journey_id="x", status="completed",
                         wake_at=now - timedelta(days=2)),
    }


def test_stranded_runs_are_an_hour_past_their_deadline_or_failed(stuck):
    found = set(stranded_runs(timezone.now()).values_list("pk", flat=True))
    assert found == {stuck[k].pk for k in ("overdue", "lost_wake", "failed")}


@pytest.mark.parametrize("who", ["admin_client", "support_client"])
def test_the_stranded_page_lists_them_with_the_reason(request, who, stuck):
    client = request.getfixturevalue(who)
    response = client.get(reverse("admin:journeys_strandedrun_changelist"))
    assert response.status_code == 200
    listed = {run.pk for run in response.context["cl"].result_list}
    assert listed == {stuck[k].pk for k in ("overdue", "lost_wake", "failed")}
    html = response.content.decode()
    assert "past its deadline: the clock never woke it" in html
    assert "failed: KeyError: &#x27;plan&#x27;" in html
    page = client.get(reverse("admin:journeys_strandedrun_change", args=[stuck["overdue"].pk]))
    assert page.status_code == 200 and b"Stranded" in page.content


def test_stranded_runs_are_exited_or_retried_from_their_list(support_client, stuck, register):
    changelist = reverse("admin:journeys_strandedrun_changelist")
    support_client.post(changelist, {"action": "exit_runs",
                                     "_selected_action": [stuck["overdue"].pk]})
    stuck["overdue"].refresh_from_db()
    assert stuck["overdue"].status == "exited"
    response = support_client.post(changelist, {"action": "retry_runs",
                                                "_selected_action": [stuck["failed"].pk]},
                                   follow=True)
    assert "1 run(s) retried" in messages_of(response)
    assert JourneyLog.objects.filter(run=stuck["failed"], action="resume").exists()


# --- manual enrolment -----------------------------------------------------------------

ENROL = "admin:journeys_journeyoverview_enrol"


def test_the_enrol_form_enrols_existing_contacts_and_reports_every_skip(
        support_client, ada, unsubscribed, clock):
    page = support_client.get(reverse(ENROL), {"journey": "support-followup",
                                               "people": str(ada.pk)})
    assert page.status_code == 200 and str(ada.pk).encode() in page.content
    people = "\n".join([str(ada.pk), "gone@example.com", "nobody@example.com", "u_missing"])
    response = support_client.post(reverse(ENROL), {
        "journey": "support-followup", "people": people, "properties": '{"ticket_id": "T-1"}',
    }, follow=True)
    text = messages_of(response)
    assert "Enrolled 1 of 4 in support-followup." in text
    assert "Skipped 1 — user_unsubscribed: gone@example.com" in text
    assert "Skipped 2 — no such contact: nobody@example.com, u_missing" in text
    run = JourneyRun.objects.get(journey_id="support-followup", contact=ada)
    assert run.context == {"ticket_id": "T-1"}
    assert run.trigger_event.source == "admin"
    again = support_client.post(reverse(ENROL), {"journey": "support-followup",
                                                 "people": "ADA@example.com"}, follow=True)
    assert "Skipped 1 — period_not_elapsed: ADA@example.com" in messages_of(again)


def test_the_enrol_form_refuses_more_than_500_people(admin_client):
    people = "\n".join(f"user-{n}" for n in range(501))
    response = admin_client.post(reverse(ENROL), {"journey": "support-followup",
                                                  "people": people})
    assert response.status_code == 200
    assert "At most 500 people at once (501 given)." in response.content.decode()


def test_enrolment_needs_the_run_permission(django_user_model):
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    client = Client()
    client.force_login(viewer)
    assert client.get(reverse(ENROL)).status_code == 403
