"""The weekly digest recipe (its cron form): the Monday digest of last week's report activity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django_q.models import Schedule

from alerts.cron import weekly_digest
from contacts.tokens import token_make
from tests.recipes.helpers import identify, mail_to, send_event
from tracking.models import EmailSend

pytestmark = pytest.mark.django_db

MONDAY_9 = datetime(2026, 6, 22, 9, 0, tzinfo=UTC)


@pytest.fixture
def last_week(api, client, mailoutbox) -> None:
    """Three people made reports last week; Cy unsubscribed from everything."""
    for user, email in (
        ("u_ann", "ann@example.com"),
        ("u_bo", "bo@example.com"),
        ("u_cy", "cy@example.com"),
        ("u_old", "old@example.com"),
    ):
        identify(api, user, email)
    with time_machine.travel(MONDAY_9 - timedelta(days=8), tick=False) as clock:
        send_event(api, "report.created", "u_old")  # outside the 7×24 h window
        clock.move_to(MONDAY_9 - timedelta(days=6))
        send_event(api, "report.created", "u_ann", {"projectId": "A"})
        send_event(api, "report.created", "u_ann", {"projectId": "B"})
        send_event(api, "report.shared", "u_ann", {"projectId": "A"})
        send_event(api, "report.created", "u_bo", {"projectId": "A"})
        send_event(api, "report.created", "u_cy", {"projectId": "C"})
        send_event(api, "app.active", "u_bo")  # other activity does not count
        token = token_make(key="u_cy", email="cy@example.com", action="unsubscribe")
        client.post(f"/v1/email/unsubscribe?token={token}", {"List-Unsubscribe": "One-Click"})
    mailoutbox.clear()  # the NPS survey app.active started is not the digest's business


def digests() -> list[EmailSend]:
    return list(EmailSend.objects.filter(template_key="retention-weekly-digest", status="sent"))


def test_monday_digest_mails_each_active_subscriber_once(last_week, mailoutbox):
    with time_machine.travel(MONDAY_9, tick=False):
        result = weekly_digest()
    assert result == {"sent": 2, "skipped": 1, "week": "2026-06-22"}
    assert sorted(m.to[0] for m in mailoutbox) == ["ann@example.com", "bo@example.com"]
    (ann,) = mail_to(mailoutbox, "ann@example.com")
    assert ann.subject == "Your week in reports"
    assert "2 reports created and 1 shared in the week of 2026-06-15" in ann.body
    keys = sorted(send.idempotency_key for send in digests())
    assert keys == ["digest:u_ann:2026-06-22", "digest:u_bo:2026-06-22"]
    assert EmailSend.objects.get(to_email="cy@example.com").status == "suppressed"


def test_a_same_day_retry_sends_nothing_new(last_week, mailoutbox):
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        weekly_digest()
        clock.shift(timedelta(minutes=40))
        again = weekly_digest()
    assert again == {"sent": 2, "skipped": 1, "week": "2026-06-22"}
    assert len(mailoutbox) == 2 and len(digests()) == 2


def test_a_contact_who_opted_out_of_the_digest_list_is_skipped(api, mailoutbox):
    identify(api, "u_ann", "ann@example.com")
    with time_machine.travel(MONDAY_9 - timedelta(days=1), tick=False):
        send_event(api, "report.created", "u_ann")
        response = api.put(
            "/v1/contacts", {"userId": "u_ann", "lists": {"digest": False}}, format="json"
        )
        assert response.status_code == 200
    mailoutbox.clear()
    with time_machine.travel(MONDAY_9, tick=False):
        assert weekly_digest() == {"sent": 0, "skipped": 1, "week": "2026-06-22"}
    assert mailoutbox == []


def test_sync_schedules_installs_the_monday_job():
    with time_machine.travel(datetime(2026, 6, 17, 10, 0, tzinfo=UTC), tick=False):
        call_command("sync_schedules", stdout=StringIO())
    row = Schedule.objects.get(name="hogsend:weekly-digest")
    assert (row.func, row.schedule_type, row.cron) == (
        "alerts.cron.weekly_digest",
        Schedule.CRON,
        "0 9 * * 1",
    )
    assert row.next_run == MONDAY_9


def test_the_django_q_scheduler_runs_the_digest_on_monday_morning(last_week, mailoutbox):
    from django_q.scheduler import scheduler

    with time_machine.travel(datetime(2026, 6, 17, 10, 0, tzinfo=UTC), tick=False) as clock:
        call_command("sync_schedules", stdout=StringIO())
        scheduler()
        assert mailoutbox == []
        clock.move_to(MONDAY_9 + timedelta(seconds=30))  # the cluster's next tick
        scheduler()
    assert sorted(m.to[0] for m in mailoutbox) == ["ann@example.com", "bo@example.com"]
    row = Schedule.objects.get(name="hogsend:weekly-digest")
    assert row.next_run == MONDAY_9 + timedelta(days=7)


def test_a_long_list_is_continued_by_another_task_before_the_time_limit(
    last_week, mailoutbox, monkeypatch
):
    from alerts import cron

    monkeypatch.setattr(cron, "DIGEST_CHUNK", 1)
    monkeypatch.setattr(cron, "_time_budget", lambda: -1.0)  # always past the budget
    with time_machine.travel(MONDAY_9, tick=False) as clock:
        first = weekly_digest()
        clock.shift(timedelta(hours=1))
        again = weekly_digest()  # a retry later that morning: nothing new
    # Each task handled one contact (in contact id order) and handed on the rest.
    assert first["sent"] + first["skipped"] == 1 and first["week"] == "2026-06-22"
    # The continuations (run inline by the test queue) covered everyone else.
    assert sorted(m.to[0] for m in mailoutbox) == ["ann@example.com", "bo@example.com"]
    assert again["sent"] + again["skipped"] == 1 and len(digests()) == 2
