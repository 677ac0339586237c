"""The run lifecycle (enrol, wait as a row, resume, complete, exit, fail) and the
durability laws: a replay repeats no side effect, an exit beats a later completion,
a changed step kind or a reused label fails loudly."""

from __future__ import annotations

from datetime import timedelta

import pytest

from journeys.engine import define_journey, hours, minutes
from journeys.models import JourneyLog, JourneyRun, StepRecord
from tests.journeys.conftest import ingest, run_due
from tracking.models import UserEvent

pytestmark = pytest.mark.django_db


def clock_now(clock):
    from django.utils import timezone

    return timezone.now()


def make_sleeper(calls: list[str]):
    @define_journey(
        id="sleeper",
        name="Sleeper",
        trigger="signed.up",
        exit_on=["account.closed"],
    )
    def sleeper(user, ctx):
        calls.append("start")
        ctx.sleep(hours(2), label="nap")
        calls.append("after-nap")
        ctx.trigger(event="nap.done", properties={"at": ctx.now().isoformat()})

    return sleeper


def test_a_trigger_event_enrolls_and_the_run_waits_as_a_row(register, clock):
    register(make_sleeper([]))
    ingest("signed.up")
    run_due()
    run = JourneyRun.objects.get()
    assert run.status == "waiting"
    assert run.current_step == "nap"
    assert run.wake_at == clock_now(clock) + timedelta(hours=2)
    assert [log.action for log in JourneyLog.objects.order_by("id")] == ["entered", "sleep"]


def test_the_run_resumes_when_its_time_comes_and_completes(register, clock):
    calls: list[str] = []
    register(make_sleeper(calls))
    ingest("signed.up")
    run_due()
    clock.shift(timedelta(hours=2))
    run_due()
    run = JourneyRun.objects.get()
    assert run.status == "completed"
    assert calls == ["start", "start", "after-nap"]
    trigger = UserEvent.objects.get(event="nap.done")
    assert trigger.idempotency_key == f"journeyTrigger:{run.pk}:nap:nap.done"
    assert trigger.source == "journey"


def test_replaying_a_completed_step_does_not_repeat_its_side_effect(register, clock):
    register(make_sleeper([]))
    ingest("signed.up")
    run_due()
    clock.shift(timedelta(hours=2))
    run_due()
    run = JourneyRun.objects.get()
    # Force a replay of the whole run: the trigger is absorbed by its key.
    JourneyRun.objects.filter(pk=run.pk).update(status="active", wake_at=run.completed_at)
    run_due()
    assert UserEvent.objects.filter(event="nap.done").count() == 1


def test_an_exit_event_mid_sleep_ends_the_run_before_anything_else(register, clock):
    calls: list[str] = []
    register(make_sleeper(calls))
    ingest("signed.up")
    run_due()
    response = ingest("account.closed")
    run = JourneyRun.objects.get()
    assert response.exits == [{"journeyId": "sleeper", "stateId": str(run.pk), "exited": True}]
    assert run.status == "exited"
    clock.shift(timedelta(hours=3))
    run_due()
    assert calls == ["start"]
    assert not UserEvent.objects.filter(event="nap.done").exists()


def test_a_second_trigger_while_live_is_absorbed(register, clock):
    register(make_sleeper([]))
    ingest("signed.up")
    ingest("signed.up")
    assert JourneyRun.objects.count() == 1


def test_a_raising_journey_fails_with_its_error_and_no_longer_blocks_entry(register, clock):
    @define_journey(id="broken", name="Broken", trigger="go")
    def broken(user, ctx):
        raise RuntimeError("boom")

    register(broken)
    ingest("go")
    run_due()
    run = JourneyRun.objects.get()
    assert run.status == "failed"
    assert "RuntimeError: boom" in run.error_message
    ingest("go")
    assert JourneyRun.objects.count() == 2


def test_a_relabelled_step_kind_fails_the_run_with_a_clear_message(register, clock):
    @define_journey(id="changing", name="Changing", trigger="go")
    def changing(user, ctx):
        ctx.sleep(minutes(5), label="step")
        ctx.sleep(minutes(5), label="later")

    register(changing)
    ingest("go")
    run_due()
    clock.shift(timedelta(minutes=5))
    run_due()  # "step" is journaled; the run is parked at "later"
    # A deploy turned the journaled sleep into a wait under the same label.
    park = StepRecord.objects.get(kind="park2")
    park.value["step"][0] = "wait"
    park.save()
    clock.shift(timedelta(minutes=5))
    run_due()
    run = JourneyRun.objects.get()
    assert run.status == "failed"
    assert "changed under a live run" in run.error_message


def test_an_explicit_label_used_twice_fails_loudly(register, clock):
    @define_journey(id="twice", name="Twice", trigger="go")
    def twice(user, ctx):
        ctx.sleep(minutes(1), label="same")
        ctx.sleep(minutes(1), label="same")

    register(twice)
    ingest("go")
    run_due()
    clock.shift(timedelta(minutes=1))
    run_due()
    run = JourneyRun.objects.get()
    assert run.status == "failed"
    assert "site label 'same' used twice" in run.error_message


def test_once_computes_a_single_time_across_replays(register, clock):
    computed: list[int] = []

    @define_journey(id="memo", name="Memo", trigger="go")
    def memo(user, ctx):
        value = ctx.once("pick", lambda: computed.append(1) or len(computed))
        ctx.sleep(minutes(1))
        ctx.trigger(event="picked", properties={"value": value})

    register(memo)
    ingest("go")
    run_due()
    clock.shift(timedelta(minutes=1))
    run_due()
    assert computed == [1]
    assert UserEvent.objects.get(event="picked").properties == {"value": 1}


def test_one_event_exiting_several_runs_records_that_event_on_each(register, clock):
    for journey_id in ("first", "second"):
        @define_journey(id=journey_id, trigger="signed.up", exit_on="account.closed")
        def sleeper(user, ctx):
            ctx.sleep(hours(2), label="nap")

        register(sleeper)
    ingest("signed.up")
    run_due()
    ingest("account.closed")
    assert sorted(JourneyRun.objects.values_list("journey_id", "status", "exit_reason")) == [
        ("first", "exited", "event:account.closed"),
        ("second", "exited", "event:account.closed"),
    ]


def test_exit_wins_over_completion_written_later(register, clock):
    @define_journey(
        id="selfexit", name="Self exit", trigger="go", exit_on=["stop"]
    )
    def selfexit(user, ctx):
        ctx.trigger(event="stop")
        ctx.sleep(minutes(1), label="never")

    register(selfexit)
    ingest("go")
    run_due()
    run = JourneyRun.objects.get()
    assert run.status == "exited"
    assert not StepRecord.objects.filter(key="never").exists() or run.status == "exited"


def test_start_up_checks_name_the_journey_and_what_is_wrong(register):
    from journeys.checks import check_journeys

    @define_journey(id="badcat", name="Bad category", trigger="go",
                    category="no-such-list", exit_on=["go"])
    def badcat(user, ctx):
        pass

    register(badcat)
    messages = [e.msg for e in check_journeys(None)]
    assert any("'badcat'" in m and "no-such-list" in m for m in messages)
    assert any("exits on its own trigger" in m for m in messages)


def test_definition_errors_say_what_and_where():
    from journeys.engine import DefinitionError

    with pytest.raises(DefinitionError, match="entry_limit must be one of"):
        @define_journey(id="x", name="X", trigger="go", entry_limit="twice")
        def x(user, ctx):
            pass

    with pytest.raises(DefinitionError, match="unknown operator"):
        @define_journey(id="y", name="Y", trigger={"event": "go", "where": [
            {"property": "a", "operator": "approx", "value": 1}]})
        def y(user, ctx):
            pass


def test_enabled_journeys_naming_an_unknown_id_fails_with_a_suggestion(settings):
    from django.core.exceptions import ImproperlyConfigured

    from journeys.engine.registry import enabled_ids

    settings.ENABLED_JOURNEYS = "support-folowup"
    with pytest.raises(ImproperlyConfigured, match="Did you mean 'support-followup'"):
        enabled_ids(["support-followup", "nps-survey"])
    settings.ENABLED_JOURNEYS = " nps-survey , support-followup"
    assert enabled_ids(["support-followup", "nps-survey"]) == {"nps-survey", "support-followup"}


def test_a_claim_takes_the_lease_and_leaves_the_status_alone(register, clock):
    register(make_sleeper([]))
    ingest("signed.up")
    run_due()
    clock.shift(timedelta(hours=2))
    from journeys.due import claim_due_runs

    [run_id] = claim_due_runs(clock_now(clock), 10)
    run = JourneyRun.objects.get(pk=run_id)
    # Only the lease moves: no indexed column, so the claim is a HOT update.
    assert (run.status, run.current_step) == ("waiting", "nap")
    assert run.claimed_until > clock_now(clock)


def test_an_execution_whose_lease_was_taken_over_does_not_park_the_run(register, clock):
    """A worker that outlived its lease leaves the run to the one that claimed it next."""
    from django.utils import timezone

    @define_journey(id="overtaken", name="Overtaken", trigger="go")
    def overtaken(user, ctx):
        JourneyRun.objects.filter(pk=user.state_id).update(  # another worker's claim
            claimed_until=timezone.now() + timedelta(minutes=9))
        ctx.sleep(hours(2), label="nap")

    register(overtaken)
    ingest("go")
    run_due()
    run = JourneyRun.objects.get()
    assert (run.status, run.current_step) == ("active", "start")
    assert run.claimed_until == clock_now(clock) + timedelta(minutes=9)
    assert not StepRecord.objects.filter(run=run).exists()


def test_a_batch_writes_its_timeline_lines_with_one_statement(register, clock):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    register(make_sleeper([]))
    for n in range(5):
        ingest("signed.up", user_id=f"u{n}")
    with CaptureQueriesContext(connection) as captured:
        run_due()
    writes = [q["sql"] for q in captured.captured_queries
              if q["sql"].startswith(("COPY", "INSERT")) and "journeys_journeylog" in q["sql"]]
    assert len(writes) == 1, writes  # a COPY of plain rows on PostgreSQL
    lines = JourneyLog.objects.filter(action="sleep")
    assert sorted(lines.values_list("run__user_key", "to_step")) == [
        (f"u{n}", "nap") for n in range(5)]
    assert all(line.detail["until"] for line in lines)
