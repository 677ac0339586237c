"""bulk_set writes each row's own values in one statement, like bulk_update."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hogsend_site.bulk import bulk_set
from journeys.models import JourneyRun

pytestmark = pytest.mark.django_db
T = datetime(2026, 6, 17, 9, tzinfo=UTC)


def test_each_row_gets_its_own_values_in_one_statement():
    runs = [JourneyRun.objects.create(journey_id="j", user_key=f"u{n}") for n in range(3)]
    for n, run in enumerate(runs):
        run.wake_at = T + timedelta(minutes=n)
        run.current_step = f"step-{n}"
        run.wait_deadline = None if n == 1 else T + timedelta(days=n)
        run.status = "waiting"  # the same on every row
    with CaptureQueriesContext(connection) as queries:
        assert bulk_set(JourneyRun, runs, ["wake_at", "current_step", "wait_deadline",
                                           "status"]) == 3
    assert len([q for q in queries if "SAVEPOINT" not in q["sql"]]) == 1
    stored = {run.user_key: run for run in JourneyRun.objects.all()}
    for n in range(3):
        run = stored[f"u{n}"]
        assert run.wake_at == T + timedelta(minutes=n)
        assert run.current_step == f"step-{n}"
        assert run.wait_deadline == (None if n == 1 else T + timedelta(days=n))
        assert run.status == "waiting"


def test_rows_not_named_are_untouched_and_nothing_is_a_no_op():
    kept, changed = (JourneyRun.objects.create(journey_id="j", user_key=k) for k in "ab")
    changed.current_step = "moved"
    bulk_set(JourneyRun, [changed], ["current_step"])
    assert JourneyRun.objects.get(pk=kept.pk).current_step == "start"
    assert JourneyRun.objects.get(pk=changed.pk).current_step == "moved"
    assert bulk_set(JourneyRun, [], ["current_step"]) == 0
