"""What a parked run stores: every index is accounted for, and the storage
migration keeps runs parked before it resumable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from journeys.engine import days, define_journey
from journeys.models import JourneyRun, StepRecord
from tests.journeys.conftest import ingest, run_due

STORAGE_DOC = Path(__file__).resolve().parents[2] / "docs" / "storage.md"
BEFORE = ("journeys", "0003_console_proxies_failed_idx")


def index_names(table: str) -> set[str]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return {name for name, info in found.items()
            if (info["index"] or info["unique"]) and not info["primary_key"]}


@pytest.mark.django_db
def test_every_index_of_the_run_and_its_journal_is_in_the_storage_doc():
    doc = STORAGE_DOC.read_text()
    for table in ("journeys_journeyrun", "journeys_steprecord"):
        names = index_names(table)
        assert names, table
        missing = {name for name in names if f"`{name}`" not in doc}
        assert not missing, f"{table}: say in docs/storage.md what {sorted(missing)} are for"


@pytest.mark.django_db
def test_the_wake_up_lookup_and_the_journal_load_keep_an_index():
    run_indexes = index_names("journeys_journeyrun")
    with connection.cursor() as cursor:
        runs = connection.introspection.get_constraints(cursor, "journeys_journeyrun")
        steps = connection.introspection.get_constraints(cursor, "journeys_steprecord")
    leading = {info["columns"][0] for name, info in runs.items() if name in run_indexes}
    assert {"contact_id", "wake_at", "user_key"} <= leading
    assert any(info["columns"][:1] == ["run_id"] and info["unique"]
               for info in steps.values())


def asker():
    @define_journey(id="storage-asker", name="Storage asker",
                    trigger={"event": "ticket.resolved"})
    def journey(user, ctx):
        ctx.sleep(days(1), label="next-morning")
        answer = ctx.wait_for_event(event="answered", timeout=days(4), label="await-answer")
        ctx.trigger(event="branch.taken", properties={"timed_out": answer.timed_out})

    return journey


def migrate(target: list[tuple[str, str]] | None = None) -> None:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate(target or executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_runs_parked_before_the_storage_migration_resume_after_it(register, clock):
    register(asker())
    try:
        migrate([BEFORE])
        ingest("ticket.resolved", user_id="sleeper")
        ingest("ticket.resolved", user_id="waiter")
        run_due()  # both sleep until tomorrow
        clock.shift(days(1) + timedelta(seconds=1))
        JourneyRun.objects.filter(user_key="sleeper").update(wake_at=timezone.now() + days(9))
        run_due()  # the waiter wakes and waits for its answer; the sleeper stays asleep
    finally:
        migrate()
    waiter = JourneyRun.objects.get(user_key="waiter")
    assert (waiter.status, waiter.current_step) == ("waiting", "await-answer")
    assert set(StepRecord.objects.filter(run=waiter).values_list("key", flat=True)) >= {
        "next-morning"}

    ingest("answered", user_id="waiter")
    JourneyRun.objects.filter(user_key="sleeper").update(wake_at=timezone.now())
    run_due()
    waiter.refresh_from_db()
    assert waiter.status == "completed"
    sleeper = JourneyRun.objects.get(user_key="sleeper")
    assert (sleeper.status, sleeper.current_step) == ("waiting", "await-answer")
    clock.shift(days(5))
    run_due()
    sleeper.refresh_from_db()
    assert sleeper.status == "completed"
    assert StepRecord.objects.filter(run=sleeper, key="await-answer").get().value["result"][
        "timed_out"] is True


@pytest.mark.django_db
def test_pruning_a_trigger_event_never_touches_its_runs(register, clock, admin_client):
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from tracking.models import UserEvent

    register(asker())
    ingest("ticket.resolved", user_id="pruned")
    run_due()
    run = JourneyRun.objects.get()
    with CaptureQueriesContext(connection) as captured:
        UserEvent.objects.filter(pk=run.trigger_event_id).delete()
    assert not [q for q in captured.captured_queries if "journeys_journeyrun" in q["sql"]]
    page = admin_client.get(reverse("admin:journeys_journeyrun_change", args=[run.pk]))
    assert page.status_code == 200
    assert f"#{run.trigger_event_id} (gone)" in page.content.decode()
