"""`manage.py demo_support_followup`: the support story, told by the production paths."""

from __future__ import annotations

import logging
import logging.config
import re
import sys
import threading
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import OperationalError, connection

from alerts.management.commands.demo_support_followup import Command
from alerts.models import Alert
from contacts.models import Contact
from hogsend_site.due import process_batch, run_due_once
from journeys.models import JourneyRun
from tracking.models import EmailSend, UserEvent

pytestmark = pytest.mark.django_db

# The real clock of these tests: 16:00 in Prague, past the story's morning.
REAL_NOW = datetime(2026, 6, 17, 14, 0, tzinfo=UTC)
# A line of the project's console log format (hogsend_site/logging.py), plain or JSON.
LOG_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ |\"level\": ?\"[A-Z]+\"", re.M
)


def demo() -> str:
    out = StringIO()
    call_command("demo_support_followup", stdout=out)
    return out.getvalue()


class _Stderr:
    """Whatever sys.stderr is when written to (capfd swaps it between phases)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


@pytest.fixture
def console(capfd):
    """The project's console log handler writes to the captured stderr, as it
    would to the terminal the demo runs in (pytest set it up on a stream of its own)."""
    # Another test (in any order) may have reconfigured logging: start from the
    # project's own configuration, as the demo's process does.
    logging.config.dictConfig(settings.LOGGING)
    handlers = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    assert handlers, "the project's LOGGING has a 'console' handler on the root logger"
    streams = [h.stream for h in handlers]
    for handler in handlers:
        handler.stream = _Stderr()  # not setStream: it flushes the old stream, maybe closed
    yield capfd
    for handler, stream in zip(handlers, streams, strict=True):
        handler.stream = stream


def test_it_tells_the_whole_story_and_leaves_it_in_the_database(mailoutbox):
    text = demo()
    contact = Contact.objects.get(external_id__startswith="demo-")
    for line in (
        "ticket.resolved",
        "waits at 'next-morning'",
        'morning email "Did that fix it?"',
        'clicks "No, still broken"',
        "adds a note",
        "answer confirmed",
        "support.reopen_requested",
        "support-alert pages support@example.com",
        "The run is completed",
    ):
        assert line in text, line
    assert re.search(r"09:00:00 CES?T", text)  # the morning, on the customer's clock
    run = JourneyRun.objects.get(contact=contact, journey_id="support-followup")
    assert run.status == "completed"
    assert UserEvent.objects.get(event="support.followup_answered").properties["answer"] == "no"
    alert = Alert.objects.get()
    assert (alert.kind, alert.contact, alert.journey_run) == ("reopen_requested", contact, run)
    assert [m.to for m in mailoutbox] == [[contact.email], ["support@example.com"]]
    assert mailoutbox[1].subject.startswith("[Reopen requested] #T-")
    assert "The export still fails" in mailoutbox[1].body


def test_it_can_be_run_again(mailoutbox):
    demo()
    demo()
    assert Contact.objects.filter(external_id__startswith="demo-").count() == 2
    assert Alert.objects.count() == 2
    assert EmailSend.objects.filter(to_email="support@example.com").count() == 2


def test_it_points_at_the_stored_copies_in_the_local_outbox(settings, tmp_path):
    settings.EMAIL_BACKEND = "hogsend_site.mail.LocalOutboxBackend"
    settings.EMAIL_OUTBOX_DIR = tmp_path
    text = demo()
    paths = re.findall(r"stored copy: (\S+\.eml)", text)
    assert len(paths) == 2
    assert all(Path(p).is_file() and Path(p).parent == tmp_path for p in paths)
    assert "[Reopen requested]" in Path(paths[1]).read_text()


def test_it_says_so_when_the_journey_is_switched_off():
    from django.core.management import CommandError

    from journeys.models import JourneyConfig

    JourneyConfig.objects.create(journey_id="support-followup", enabled=False)
    with pytest.raises(CommandError, match="is the journey enabled"):
        demo()
    # What it did is kept, so the message can be followed up in the admin.
    assert Contact.objects.filter(external_id__startswith="demo-").exists()


def test_the_story_is_dated_today_with_the_morning_email_at_nine_in_prague():
    with time_machine.travel(REAL_NOW, tick=False):
        text = demo()
    assert re.search(r"Tue 16 Jun 16:40:00 CEST +ticket.resolved", text)
    assert "until Wed 17 Jun 09:00:00 CEST (07:00 UTC)" in text
    assert re.search(r"Wed 17 Jun 09:00:00 CEST +morning email", text)
    assert re.search(r"Wed 17 Jun 11:03:30 CEST +support-alert pages", text)
    assert "18 Jun" not in text
    morning = EmailSend.objects.get(template_key="support/followup")
    assert morning.sent_at == datetime(2026, 6, 17, 7, 0, tzinfo=UTC)
    page = Alert.objects.get().email_send
    assert page.sent_at == datetime(2026, 6, 17, 9, 3, 30, tzinfo=UTC)
    assert Contact.objects.get(external_id__startswith="demo-").created_at.date() < REAL_NOW.date()


@pytest.mark.django_db(transaction=True)
def test_only_the_story_is_printed_without_log_lines_between_its_lines(console, monkeypatch):
    # As in the demo's own process: committed steps queue "run this now" hints on
    # the broker, and django-q2 logs each one at INFO.
    monkeypatch.setattr("django_q.conf.Conf.SYNC", False)
    call_command("demo_support_followup")
    out, err = console.readouterr()
    assert 'morning email "Did that fix it?"' in out and "The run is completed" in out
    assert err == ""
    assert not LOG_LINE.search(out)
    assert "INFO" not in out


def test_a_problem_logged_during_the_story_is_printed_after_it(console, monkeypatch):
    click_no = Command._click_no
    seen_during: list[str] = []

    def click_no_and_log(self, email):
        engine = logging.getLogger("journeys.engine")
        engine.info("routine detail")
        engine.error("something really broke")
        seen_during.append(console.readouterr().err)
        return click_no(self, email)

    monkeypatch.setattr(Command, "_click_no", click_no_and_log)
    call_command("demo_support_followup")
    out, err = console.readouterr()
    assert seen_during == [""]
    assert "ERROR journeys.engine something really broke" in err
    assert "routine detail" not in err
    assert "The run is completed" in out
    # The console logs again as before.
    logging.getLogger("journeys.engine").info("after the story")
    assert "INFO journeys.engine after the story" in console.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_a_clock_running_beside_it_takes_none_of_the_story(monkeypatch, mailoutbox):
    """`make demo`'s qcluster and `run_due --loop` work on the real clock, past
    the story's morning: given the first go at every step, they find nothing."""
    taken: list[tuple[str, list]] = []
    locked: list[str] = []

    def other_clock() -> None:
        try:
            if connection.vendor == "sqlite":
                # A real one waits (30 s) for the story to commit; this one cannot.
                connection.cursor().execute("PRAGMA busy_timeout = 200")

            def work(source: str, ids: list) -> None:
                taken.append((source, ids))
                process_batch(source, ids)

            # time-machine moves every thread's clock: this one's is given.
            run_due_once(REAL_NOW, dispatch=work)
        except OperationalError as exc:  # SQLite: the story holds the write lock
            locked.append(str(exc))
        finally:
            connection.close()

    run_due = Command._run_due

    def beside_the_other_clock(self) -> str:
        thread = threading.Thread(target=other_clock)
        thread.start()
        thread.join()
        return run_due(self)

    monkeypatch.setattr(Command, "_run_due", beside_the_other_clock)
    with time_machine.travel(REAL_NOW, tick=False):
        text = demo()
    # Buckets seen for the first time by this database are backfilled by whichever
    # clock gets there first: the deployment's work, not the story's.
    assert [(source, ids) for source, ids in taken if source != "bucket-backfill"] == []
    # PostgreSQL: the story's rows are invisible to it; SQLite: it waits for the write lock.
    assert bool(locked) == (connection.vendor == "sqlite")
    assert "support-alert pages support@example.com" in text
    assert "(with the customer's note)" in text
    assert EmailSend.objects.get(template_key="support/followup").sent_at == datetime(
        2026, 6, 17, 7, 0, tzinfo=UTC)
    assert Alert.objects.get().email_send.sent_at == datetime(2026, 6, 17, 9, 3, 30, tzinfo=UTC)
