"""`ctx.wait_for_event`: forward matches, lookback, where, timeouts, exit wins."""

from __future__ import annotations

from datetime import timedelta

import pytest

from journeys.engine import days, define_journey, hours, minutes
from journeys.models import JourneyRun
from tests.journeys.conftest import ingest, run_due
from tracking.models import UserEvent

pytestmark = pytest.mark.django_db

ANSWER_TIMEOUT = days(4)


def make_asker(results: list, *, lookback=None, where=None, timeout=ANSWER_TIMEOUT):
    @define_journey(
        id="asker",
        name="Asker",
        trigger="ticket.resolved",
        exit_on=["ticket.reopened"],
    )
    def asker(user, ctx):
        answer = ctx.wait_for_event(
            event="answered", timeout=timeout, label="await", lookback=lookback, where=where
        )
        results.append(answer)
        if not answer.timed_out:
            ctx.trigger(
                event="branch.taken", properties={"answer": answer.properties.get("answer")}
            )

    return asker


def test_an_answer_wakes_the_waiting_run_and_the_branch_runs(register, clock):
    results: list = []
    register(make_asker(results))
    ingest("ticket.resolved")
    run_due()
    run = JourneyRun.objects.get()
    assert (run.status, run.waiting_event) == ("waiting", "answered")
    clock.shift(timedelta(hours=2))
    ingest("answered", properties={"answer": "no", "nested": {"x": 1}})
    run_due()
    run.refresh_from_db()
    assert run.status == "completed"
    assert results[-1].timed_out is False
    assert results[-1].properties == {"answer": "no"}  # scalars only
    assert UserEvent.objects.get(event="branch.taken").properties == {"answer": "no"}


def test_silence_times_out_at_the_deadline_and_not_before(register, clock):
    results: list = []
    register(make_asker(results))
    ingest("ticket.resolved")
    run_due()
    clock.shift(days(4) - timedelta(seconds=1))
    run_due()
    assert JourneyRun.objects.get().status == "waiting"
    clock.shift(timedelta(seconds=1))
    run_due()
    assert JourneyRun.objects.get().status == "completed"
    assert results[-1].timed_out is True
    assert not UserEvent.objects.filter(event="branch.taken").exists()


def test_an_answer_before_the_wait_is_seen_only_through_lookback(register, clock):
    results: list = []
    ingest("answered", properties={"answer": "yes"})
    clock.shift(minutes(10))
    register(make_asker(results, lookback=minutes(30)))
    ingest("ticket.resolved")
    run_due()
    assert JourneyRun.objects.get().status == "completed"
    assert results[-1].properties == {"answer": "yes"}


def test_without_lookback_an_earlier_answer_is_ignored(register, clock):
    results: list = []
    ingest("answered", properties={"answer": "yes"})
    clock.shift(minutes(10))
    register(make_asker(results))
    ingest("ticket.resolved")
    run_due()
    assert JourneyRun.objects.get().status == "waiting"


def test_lookback_returns_the_most_recent_and_forward_the_earliest(register, clock):
    results: list = []
    ingest("answered", properties={"answer": "old"})
    clock.shift(minutes(1))
    ingest("answered", properties={"answer": "recent"})
    clock.shift(minutes(1))
    register(make_asker(results, lookback=minutes(30)))
    ingest("ticket.resolved")
    run_due()
    assert results[-1].properties["answer"] == "recent"


def test_where_filters_which_event_resolves_the_wait(register, clock):
    results: list = []
    register(make_asker(results, where=lambda b: b.prop("answer").eq("no")))
    ingest("ticket.resolved")
    run_due()
    ingest("answered", properties={"answer": "yes"})
    run_due()
    assert JourneyRun.objects.get().status == "waiting"
    ingest("answered", properties={"answer": "no"})
    run_due()
    assert JourneyRun.objects.get().status == "completed"
    assert results[-1].properties == {"answer": "no"}


def test_another_users_answer_never_resolves_the_wait(register, clock):
    register(make_asker([]))
    ingest("ticket.resolved", user_id="u1")
    run_due()
    ingest("answered", user_id="u2", properties={"answer": "no"})
    run_due()
    assert JourneyRun.objects.get(user_key="u1").status == "waiting"


def test_an_exit_during_the_wait_wins(register, clock):
    results: list = []
    register(make_asker(results))
    ingest("ticket.resolved")
    run_due()
    ingest("ticket.reopened")
    ingest("answered", properties={"answer": "no"})
    run_due()
    assert JourneyRun.objects.get().status == "exited"
    assert results == []


def test_a_timeout_over_720_hours_fails_before_waiting(register, clock):
    register(make_asker([], timeout=hours(721)))
    ingest("ticket.resolved")
    run_due()
    run = JourneyRun.objects.get()
    assert run.status == "failed"
    assert "720 h" in run.error_message


def test_exactly_720_hours_is_allowed(register, clock):
    register(make_asker([], timeout=hours(720)))
    ingest("ticket.resolved")
    run_due()
    assert JourneyRun.objects.get().status == "waiting"


def assert_answer_after_scan_is_seen(register, monkeypatch, module, scan_name: str) -> None:
    """The asker's answer is ingested right after `module.scan_name`'s first scan
    (so the scan cannot have seen it); the run must still take it and complete."""
    results: list = []
    register(make_asker(results))
    real_scan = getattr(module, scan_name)
    landed: list[bool] = []

    def scan_then_answer(*args, **kwargs):
        found = real_scan(*args, **kwargs)
        if not landed:
            landed.append(True)
            ingest("answered", properties={"answer": "no"})
        return found

    monkeypatch.setattr(module, scan_name, scan_then_answer)
    ingest("ticket.resolved")
    run_due()
    assert JourneyRun.objects.get().status == "completed"
    assert results[-1].properties == {"answer": "no"}


def test_an_answer_landing_while_the_run_executes_is_not_slept_through(
    register, clock, monkeypatch
):
    """The wait is registered before its scan; wake_seq catches an answer that
    lands between the scan and the run parking itself."""
    from journeys.engine import batch

    # The batch's one scan for all its waits.
    assert_answer_after_scan_is_seen(register, monkeypatch, batch, "scan_many")


def test_an_answer_landing_after_a_lone_runs_scan_is_not_slept_through(
    register, clock, monkeypatch
):
    """Past the batch's deferring passes a run scans alone; its park scans again
    under the row lock and finds the answer that landed in between."""
    from journeys.engine import runner, waits

    monkeypatch.setattr(runner, "MAX_PASSES", 1)  # no pass defers: every run alone
    assert_answer_after_scan_is_seen(register, monkeypatch, waits, "_scan")


def test_a_wait_is_written_on_the_run_row_with_its_park_only(register, clock, monkeypatch):
    """No UPDATE registers the wait before the scan: one row version less per wait."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    register(make_asker([]))
    ingest("ticket.resolved")
    with CaptureQueriesContext(connection) as captured:
        run_due()
    updates = [q["sql"] for q in captured.captured_queries
               if q["sql"].startswith("UPDATE") and "journeys_journeyrun" in q["sql"]]
    assert len(updates) == 2, updates  # the claim, then the park
    assert '"waiting_event"' not in updates[0]
    run = JourneyRun.objects.get()
    assert (run.status, run.current_step, run.waiting_event) == ("waiting", "await", "answered")
