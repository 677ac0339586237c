"""The run task ingest queues: coalesced per burst, and it takes every run due now."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.utils import timezone

from journeys import services
from journeys.due import claim_due_runs
from journeys.engine import days, define_journey
from journeys.models import JourneyRun
from journeys.tasks import runs_execute_now
from tests.journeys.conftest import ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def sleeper(register):
    @define_journey(id="sleeper", name="Sleeper", trigger="nap.go")
    def sleeper(user, ctx):
        ctx.sleep(days(1), label="nap")

    return register(sleeper)


def started_runs(count: int, monkeypatch) -> list[JourneyRun]:
    """`count` runs enrolled and due, none executed (no task queued)."""
    monkeypatch.setattr(services, "_queue_runs", lambda ids: None)
    for n in range(count):
        ingest("nap.go", user_id=f"k{n}")
    runs = list(JourneyRun.objects.filter(journey_id="sleeper").order_by("created_at"))
    assert [run.current_step for run in runs] == ["start"] * count
    return runs


def test_a_run_task_executes_its_runs_and_every_other_run_due_now(sleeper, clock, monkeypatch):
    runs = started_runs(3, monkeypatch)

    assert runs_execute_now([str(runs[0].pk)]) == {"waiting": 3}

    assert {(run.status, run.current_step) for run in JourneyRun.objects.all()} == {
        ("waiting", "nap")}


def test_a_run_task_leaves_a_run_whose_lease_someone_else_holds(sleeper, clock, monkeypatch):
    runs = started_runs(2, monkeypatch)
    held = claim_due_runs(timezone.now(), 1)  # the clock's worker has it

    assert runs_execute_now([str(run.pk) for run in runs]) == {"waiting": 1}

    (busy,) = JourneyRun.objects.filter(pk__in=held)
    assert busy.current_step == "start" and busy.claimed_until is not None


def test_a_run_task_with_nothing_due_does_nothing(sleeper, clock, monkeypatch):
    (run,) = started_runs(1, monkeypatch)
    runs_execute_now([str(run.pk)])

    assert runs_execute_now([str(run.pk)]) == {}  # parked until tomorrow


class Queue:
    def __init__(self, monkeypatch, *, sync: bool) -> None:
        self.calls: list[tuple[tuple, dict]] = []
        self.now = 1000.0
        monkeypatch.setattr("django_q.tasks.async_task",
                            lambda *args, **kwargs: self.calls.append((args, kwargs)))
        monkeypatch.setattr(services, "time", SimpleNamespace(monotonic=lambda: self.now))
        monkeypatch.setattr(services, "_last_kick", -services.KICK_GAP)
        monkeypatch.setitem(services.settings.Q_CLUSTER, "sync", sync)


def test_a_burst_of_ingests_queues_one_run_task_per_gap(monkeypatch):
    queue = Queue(monkeypatch, sync=False)

    services._queue_runs(["a"])
    queue.now += services.KICK_GAP / 2
    services._queue_runs(["b"])  # the task queued moments ago takes it
    queue.now += services.KICK_GAP
    services._queue_runs(["c"])

    assert [args[1] for args, _ in queue.calls] == [["a"], ["c"]]
    # The engine's tasks leave no Success row behind (failures are still stored).
    assert all(kwargs["save"] is False for _, kwargs in queue.calls)


def test_run_tasks_executed_inline_are_never_skipped(monkeypatch):
    queue = Queue(monkeypatch, sync=True)

    services._queue_runs(["a"])
    services._queue_runs(["b"])

    assert [args[1] for args, _ in queue.calls] == [["a"], ["b"]]
