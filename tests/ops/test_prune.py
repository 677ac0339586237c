"""`manage.py prune`: retention per kind, batched, with a dry run."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import Task

from journeys.models import JourneyLog, JourneyRun
from tracking.models import EmailSend, LinkClick, TrackedLink, UserEvent

pytestmark = pytest.mark.django_db

OLD = timedelta(days=400)


@pytest.fixture
def history(ada):
    """Old and fresh rows of every prunable kind, plus rows that must survive."""
    now = timezone.now()
    send = EmailSend.objects.create(to_email="a@example.com", template_key="t", subject="s",
                                    from_email="f@example.com", status="sent")
    link = TrackedLink.objects.create(email_send=send, original_url="https://x.test", event="e")
    LinkClick.objects.create(tracked_link=link, clicked_at=now - OLD, outcome="confirmed")
    LinkClick.objects.create(tracked_link=link, clicked_at=now - OLD)  # plain click
    LinkClick.objects.create(tracked_link=link, clicked_at=now - OLD, confirm_at=now - OLD)
    LinkClick.objects.create(tracked_link=link, clicked_at=now)
    for at in (now - OLD, now - OLD, now):
        UserEvent.objects.create(user_key="u", event="email.opened", occurred_at=at)
    UserEvent.objects.create(user_key="u", event="support.followup_answered",
                             occurred_at=now - OLD)
    done = JourneyRun.objects.create(journey_id="j", user_key="a", status="completed")
    live = JourneyRun.objects.create(journey_id="j", user_key="b", status="waiting")
    for run in (done, live):
        JourneyLog.objects.create(run=run, action="entered", created_at=now - OLD)
        JourneyLog.objects.create(run=run, action="sleep", created_at=now)
    for stopped in (now - OLD, now):
        Task.objects.create(id=f"t{stopped.timestamp()}", name="n", func="f", started=stopped,
                            stopped=stopped, success=True)
    return {"send": send, "live": live}


def prune(*args: str) -> str:
    out = StringIO()
    call_command("prune", *args, stdout=out)
    return out.getvalue()


def test_a_dry_run_counts_and_deletes_nothing(history):
    before = (LinkClick.objects.count(), UserEvent.objects.count(), JourneyLog.objects.count(),
              Task.objects.count())
    out = prune("--dry-run")
    assert "clicks: would delete 2 row(s) older than 180 day(s)" in out
    assert "opens: would delete 2 row(s)" in out
    assert "logs: would delete 1 row(s)" in out
    assert "tasks: would delete 1 row(s)" in out
    assert before == (LinkClick.objects.count(), UserEvent.objects.count(),
                      JourneyLog.objects.count(), Task.objects.count())


def test_prune_deletes_only_what_is_past_retention_and_finished(history):
    out = prune("--batch-size", "1")
    assert "clicks: deleted 2 row(s)" in out
    # The pending confirmation and the fresh click stay.
    assert LinkClick.objects.count() == 2
    assert LinkClick.objects.filter(outcome="", confirm_at__isnull=False).count() == 1
    # Fresh opens and every other event stay.
    assert UserEvent.objects.filter(event="email.opened").count() == 1
    assert UserEvent.objects.filter(event="support.followup_answered").count() == 1
    # A live run keeps its whole timeline.
    assert JourneyLog.objects.filter(run=history["live"]).count() == 2
    assert JourneyLog.objects.count() == 3
    assert Task.objects.count() == 1
    assert EmailSend.objects.count() == 1 and JourneyRun.objects.count() == 2
    assert "deleted 0 row(s)" in prune().splitlines()[0]  # idempotent


def test_a_zero_retention_keeps_that_kind_forever(history, settings):
    settings.PRUNE_OPENS_DAYS = 0
    out = prune("--only", "opens")
    assert out.strip() == "opens: kept forever (retention 0)"
    assert UserEvent.objects.filter(event="email.opened").count() == 3


def test_opens_must_outlive_the_longest_wait(settings):
    settings.PRUNE_OPENS_DAYS = 7
    with pytest.raises(CommandError, match="at least 31 days"):
        prune("--only", "opens")


def test_unknown_kinds_and_bad_batches_are_refused():
    with pytest.raises(CommandError, match="unknown kind"):
        prune("--only", "contacts")
    with pytest.raises(CommandError, match="batch-size"):
        prune("--batch-size", "0")
