"""Per-hit tracking events are durable: a `PendingEvent` row written with the hit,
ingested by the on-commit task or, when that never runs, by the clock; once."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from contacts.erasure import contact_erase
from hogsend_site.prune import prune
from tests.tracking.conftest import answer_link
from tracking import events_due
from tracking.ingest import events_ingest
from tracking.models import PendingEvent, TrackedLink, UserEvent
from tracking.tasks import send_event_ingest

NOON = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)
HUMAN = {"HTTP_USER_AGENT": "Mozilla/5.0"}


@pytest.fixture
def clock_start() -> datetime:
    return NOON


def run_due() -> None:
    call_command("run_due", "--inline", stdout=io.StringIO())


def broker_down(*args, **kwargs):
    raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def clicked() -> list[UserEvent]:
    return list(UserEvent.objects.filter(event="email.link_clicked"))


def test_a_click_without_any_broker_is_ingested_once_by_the_clock(client, clock, followup):
    link = answer_link(followup, "no")
    # Not even the on-commit hint runs: no qcluster, the message lost.
    assert client.get(f"/v1/t/c/{link.pk}", **HUMAN).status_code == 302
    clock.shift(timedelta(seconds=5))
    assert clicked() == []
    pending = PendingEvent.objects.get()
    assert (pending.event, pending.email_send_id, pending.due_at) == (
        "email.link_clicked", followup.pk, NOON)
    run_due()
    run_due()  # a second drain finds nothing
    [event] = clicked()
    assert event.contact_id == followup.contact_id and event.source == "tracking"
    assert event.occurred_at == NOON  # when the hit happened, not when it was ingested
    assert event.properties == {"emailSendId": str(followup.pk), "templateKey": "support/followup",
                                "journeyId": "support-followup", "linkUrl": link.original_url,
                                "linkId": str(link.pk)}
    assert not PendingEvent.objects.exists()


def test_with_the_broker_refusing_the_hint_the_clock_still_ingests(
    client, clock, followup, django_capture_on_commit_callbacks,
):
    link = answer_link(followup, "yes")
    with mock.patch("tracking.services.async_task", side_effect=broker_down), \
            django_capture_on_commit_callbacks(execute=True):
        assert client.get(f"/v1/t/c/{link.pk}", **HUMAN).status_code == 302
    assert clicked() == [] and PendingEvent.objects.count() == 1
    run_due()
    assert len(clicked()) == 1 and not PendingEvent.objects.exists()


def test_the_on_commit_task_ingests_at_once_and_the_clock_then_finds_nothing(
    client, clock, followup, django_capture_on_commit_callbacks,
):
    link = answer_link(followup, "no")
    with django_capture_on_commit_callbacks(execute=True):
        client.get(f"/v1/t/c/{link.pk}", **HUMAN)
    assert len(clicked()) == 1 and not PendingEvent.objects.exists()
    run_due()
    assert len(clicked()) == 1


def test_a_late_hint_after_the_clock_took_the_row_ingests_nothing(
    client, clock, followup, django_capture_on_commit_callbacks,
):
    link = answer_link(followup, "no")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.get(f"/v1/t/c/{link.pk}", **HUMAN)
    run_due()
    for callback in callbacks:  # the broker message arrives after all
        callback()
    assert len(clicked()) == 1


def test_a_row_claimed_by_the_clock_is_not_taken_by_the_hint(client, clock, followup):
    link = answer_link(followup, "no")
    client.get(f"/v1/t/c/{link.pk}", **HUMAN)
    pending = PendingEvent.objects.get()
    assert events_due.claim(NOON, 10) == [pending.pk]  # a clock claimed it (worker slow)
    events_due.ingest_now([pending.pk])
    assert clicked() == []
    events_due.process([pending.pk])  # the clock's worker
    assert len(clicked()) == 1


def test_a_failed_ingest_leaves_the_row_for_a_retry(client, clock, followup):
    link = answer_link(followup, "no")
    client.get(f"/v1/t/c/{link.pk}", **HUMAN)
    with mock.patch("tracking.events_due.events_ingest", side_effect=RuntimeError("db hiccup")):
        run_due()
    assert clicked() == []
    pending = PendingEvent.objects.get()
    assert pending.attempts == 1 and "db hiccup" in pending.last_error
    assert pending.due_at == NOON + timedelta(seconds=30) and pending.claimed_until is None
    run_due()
    assert clicked() == []  # not before its backoff
    clock.shift(timedelta(seconds=30))
    run_due()
    assert len(clicked()) == 1 and not PendingEvent.objects.exists()
    assert clicked()[0].occurred_at == NOON


def test_a_batch_is_one_ingest_call(client, clock, followup):
    for answer in ("yes", "no", "yes"):
        client.get(f"/v1/t/c/{answer_link(followup, answer).pk}", **HUMAN)
    client.get(f"/v1/t/o/{followup.pk}")
    with mock.patch("tracking.events_due.events_ingest", wraps=events_ingest) as ingest:
        run_due()
    assert ingest.call_count == 1 and len(ingest.call_args.args[0]) == 4
    assert len(clicked()) == 3
    assert UserEvent.objects.filter(event="email.opened").count() == 1


def test_one_bad_row_does_not_hold_back_its_batch(client, clock, followup):
    yes, no = answer_link(followup, "yes"), answer_link(followup, "no")
    client.get(f"/v1/t/c/{yes.pk}", **HUMAN)
    client.get(f"/v1/t/c/{no.pk}", **HUMAN)

    def poisoned(items):
        if any(item.properties.get("linkId") == str(no.pk) for item in items):
            raise RuntimeError("hook bug")
        return events_ingest(items)

    with mock.patch("tracking.events_due.events_ingest", side_effect=poisoned):
        run_due()
    [event] = clicked()
    assert event.properties["linkId"] == str(yes.pk)
    bad = PendingEvent.objects.get()
    assert bad.properties["linkId"] == str(no.pk) and bad.attempts == 1


def test_a_row_that_keeps_failing_is_kept_after_its_last_attempt_then_pruned(
    client, clock, followup, settings,
):
    client.get(f"/v1/t/c/{answer_link(followup, 'no').pk}", **HUMAN)
    with mock.patch("tracking.events_due.events_ingest", side_effect=RuntimeError("bad")):
        for _ in range(events_due.MAX_ATTEMPTS):
            run_due()
            clock.shift(events_due.RETRY_CAP)
    pending = PendingEvent.objects.get()
    assert (pending.attempts, pending.due_at) == (events_due.MAX_ATTEMPTS, None)
    assert events_due.next_due() is None
    run_due()
    assert clicked() == []
    settings.PRUNE_CLICKS_DAYS = 30
    clock.shift(timedelta(days=31))
    assert prune(only=["failed-events"])["failed-events"]["rows"] == 1
    assert not PendingEvent.objects.exists()


def test_a_pixel_hit_yields_one_opened_event(client, clock, followup):
    assert client.get(f"/v1/t/o/{followup.pk}").status_code == 200
    clock.shift(timedelta(seconds=2))
    run_due()
    run_due()
    [event] = UserEvent.objects.filter(event="email.opened")
    assert event.contact_id == followup.contact_id and event.occurred_at == NOON
    assert event.properties == {"emailSendId": str(followup.pk),
                                "templateKey": "support/followup",
                                "journeyId": "support-followup"}


@pytest.mark.parametrize("method", ["get_bot", "head"])
def test_bots_and_head_requests_queue_no_event(client, clock, followup, method):
    link = answer_link(followup, "no")
    if method == "head":
        client.head(f"/v1/t/c/{link.pk}", **HUMAN)
    else:
        client.get(f"/v1/t/c/{link.pk}", HTTP_USER_AGENT="Mozilla/5.0 (compatible; Googlebot/2.1)")
    assert not PendingEvent.objects.exists()
    run_due()
    assert clicked() == []


def test_the_next_due_time_lets_the_harness_jump_to_it(client, clock, followup):
    assert events_due.next_due() is None
    client.get(f"/v1/t/o/{followup.pk}")
    assert events_due.next_due() == NOON


def test_erasure_deletes_the_contacts_pending_events(client, clock, followup):
    client.get(f"/v1/t/c/{answer_link(followup, 'no').pk}", **HUMAN)
    client.get(f"/v1/t/o/{followup.pk}")
    record = contact_erase(contact_id=followup.contact_id, actor="dpo@example.com")
    assert record.counts["pending_events"] == 2
    assert not PendingEvent.objects.exists()
    run_due()
    assert not UserEvent.objects.filter(event__startswith="email.").exists()


def test_a_message_queued_by_an_older_version_still_ingests(followup):
    link = TrackedLink.objects.filter(email_send=followup).first()
    send_event_ingest(str(followup.pk), "email.link_clicked",
                      {"emailSendId": str(followup.pk), "linkId": str(link.pk)})
    assert len(clicked()) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_batch_ingest_it_once(followup):
    """A lease that expired mid-ingest: the second worker skips the locked rows."""
    if not connection.features.has_select_for_update_skip_locked:
        pytest.skip("row locks: PostgreSQL (SQLite serialises the two writers)")
    ids = [PendingEvent.objects.create(email_send=followup, event="email.opened",
                                       properties={"n": n}, due_at=timezone.now()).pk
           for n in range(3)]
    holding, second_done = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow_ingest(items):
        calls.append(len(items))
        holding.set()
        second_done.wait(10)
        return events_ingest(items)

    def first_worker():
        try:
            events_due.process(ids)
        finally:
            connection.close()

    with mock.patch("tracking.events_due.events_ingest", side_effect=slow_ingest):
        worker = threading.Thread(target=first_worker)
        worker.start()
        assert holding.wait(10)
        events_due.process(ids)  # the second worker, while the first holds the rows
        second_done.set()
        worker.join(10)
    assert calls == [3]
    assert UserEvent.objects.filter(event="email.opened").count() == 3
    assert not PendingEvent.objects.exists()
