"""sync_schedules: the declared list becomes django-q2 Schedule rows, by name."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_q.models import Schedule

from hogsend_site import schedules

pytestmark = pytest.mark.django_db

DIGEST = {"name": "weekly-digest", "func": "hogsend_site.views.healthz", "cron": "0 9 * * 1"}
REAPER = {"name": "reaper", "func": "hogsend_site.views.home", "cron": "*/5 * * * *",
          "kwargs": {"limit": 10}}


def sync(declared, monkeypatch) -> str:
    monkeypatch.setattr(schedules, "SCHEDULES", declared)
    out = StringIO()
    call_command("sync_schedules", stdout=out)
    return out.getvalue()


@pytest.fixture
def wednesday_morning(time_machine):
    # Wednesday 2026-06-17 10:00 UTC: the next "0 9 * * 1" is Monday the 22nd.
    time_machine.move_to(datetime(2026, 6, 17, 10, 0, tzinfo=UTC), tick=False)


def test_it_creates_cron_schedules_that_first_run_at_the_next_cron_instant(
    monkeypatch, wednesday_morning
):
    out = sync([DIGEST, REAPER], monkeypatch)
    assert out.strip().endswith("2 created, 0 updated, 0 unchanged, 0 deleted")
    digest = Schedule.objects.get(name="hogsend:weekly-digest")
    assert (digest.func, digest.schedule_type, digest.cron) == (
        "hogsend_site.views.healthz", Schedule.CRON, "0 9 * * 1")
    assert digest.repeats == -1
    assert digest.next_run == datetime(2026, 6, 22, 9, 0, tzinfo=UTC)
    assert Schedule.objects.get(name="hogsend:reaper").kwargs == "{'limit': 10}"


def test_a_rerun_changes_nothing(monkeypatch, wednesday_morning):
    sync([DIGEST], monkeypatch)
    before = list(Schedule.objects.values())
    out = sync([DIGEST], monkeypatch)
    assert out.strip().endswith("0 created, 0 updated, 1 unchanged, 0 deleted")
    assert list(Schedule.objects.values()) == before


def test_a_changed_cron_updates_the_row_in_place_and_its_next_run(monkeypatch, wednesday_morning):
    sync([DIGEST], monkeypatch)
    pk = Schedule.objects.get().pk
    out = sync([{**DIGEST, "cron": "30 8 * * *"}], monkeypatch)
    assert "updated schedule weekly-digest" in out
    row = Schedule.objects.get()
    assert (row.pk, row.cron) == (pk, "30 8 * * *")
    assert row.next_run == datetime(2026, 6, 18, 8, 30, tzinfo=UTC)


def test_removing_an_entry_deletes_only_rows_sync_schedules_made(monkeypatch, wednesday_morning):
    Schedule.objects.create(name="weekly-digest", func="by.hand", schedule_type=Schedule.DAILY)
    sync([DIGEST, REAPER], monkeypatch)
    out = sync([REAPER], monkeypatch)
    assert "deleted schedule weekly-digest" in out
    assert sorted(Schedule.objects.values_list("name", flat=True)) == [
        "hogsend:reaper", "weekly-digest"]


def test_the_shipped_list_syncs_cleanly(db):
    call_command("sync_schedules", stdout=StringIO())
    managed = Schedule.objects.filter(name__startswith="hogsend:")
    assert managed.count() == len(schedules.SCHEDULES)


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({**DIGEST, "cron": "every monday"}, "invalid cron expression"),
        ({**DIGEST, "func": "no.such.module.fn"}, "cannot import func"),
        ({**DIGEST, "name": ""}, "name must be"),
    ],
)
def test_a_bad_entry_fails_the_command_and_writes_nothing(monkeypatch, bad, error):
    with pytest.raises(CommandError, match=error):
        sync([REAPER, bad], monkeypatch)
    assert not Schedule.objects.exists()


def test_a_name_declared_twice_is_refused(monkeypatch):
    with pytest.raises(CommandError, match="declared twice"):
        sync([DIGEST, DIGEST], monkeypatch)


def test_the_shipped_list_installs_a_daily_prune_once(db, wednesday_morning):
    for _ in range(2):  # every deploy runs it: still one row
        call_command("sync_schedules", stdout=StringIO())
    prune = Schedule.objects.get(name="hogsend:prune")
    assert (prune.func, prune.schedule_type, prune.cron, prune.repeats) == (
        "hogsend_site.prune.prune_scheduled", Schedule.CRON, "15 3 * * *", -1)
    assert prune.next_run == datetime(2026, 6, 18, 3, 15, tzinfo=UTC)


def test_the_scheduled_prune_prunes_unless_disabled(db, settings):
    from django_q.models import Task

    from hogsend_site.prune import prune_scheduled

    old = datetime(2020, 1, 1, tzinfo=UTC)
    Task.objects.create(id="old", name="n", func="f", started=old, stopped=old, success=True)
    settings.PRUNE_SCHEDULE_ENABLED = False
    assert prune_scheduled() == {"skipped": "PRUNE_SCHEDULE_ENABLED is off"}
    assert Task.objects.exists()
    settings.PRUNE_SCHEDULE_ENABLED = True
    assert prune_scheduled()["tasks"] == {"days": 14, "rows": 1}
    assert not Task.objects.exists()
