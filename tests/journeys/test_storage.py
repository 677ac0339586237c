"""What a parked run stores: every index is accounted for, its journal is one row
per park, and runs parked by older code still replay."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from journeys.engine import days, define_journey
from journeys.engine.journal import records_of
from journeys.models import JourneyRun, StepRecord
from tests.journeys.conftest import ingest, run_due

STORAGE_DOC = Path(__file__).resolve().parents[2] / "docs" / "storage.md"


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
                    trigger="ticket.resolved")
    def journey(user, ctx):
        ctx.sleep(days(1), label="next-morning")
        answer = ctx.wait_for_event(event="answered", timeout=days(4), label="await-answer")
        ctx.trigger(event="branch.taken", properties={"timed_out": answer.timed_out})

    return journey


@pytest.mark.django_db
def test_a_run_parked_on_its_answer_holds_one_journal_row(clock, mailoutbox):
    """support-followup as shipped: the first park (asleep until 09:00) writes only
    the run row, zone included; the second journals its morning in one row."""
    ingest("ticket.resolved", user_id="one", email="one@example.com")
    run_due()
    assert not StepRecord.objects.exists()
    assert JourneyRun.objects.get().timezone == "UTC"
    clock.shift(days(1))
    run_due()
    run = JourneyRun.objects.get()
    [row] = StepRecord.objects.filter(run=run)
    assert (run.current_step, row.key, row.kind) == ("await-answer", "__park__#1", "park2")
    assert set(row.value) == {
        "next-morning", "guard:is-subscribed#1", "__send__:next-morning:support/followup"}


def rewrite_as_older_code(run: JourneyRun, zone: str) -> None:
    """Leave `run` as the code before one journal row per park left it: a row per
    record with the values it wrote (a sleep's start and wake time, a send's result
    as a dict, the zone under `__tz__`) and no zone on the run row."""
    records = records_of(StepRecord.objects.filter(run=run))
    StepRecord.objects.filter(run=run).delete()
    old = [StepRecord(run=run, key="__tz__", kind="record", value={"v": zone},
                      at=run.created_at)]
    for key, record in records.items():
        value = record.value
        if record.kind == "sleep":
            value = {"slept_at": run.created_at.isoformat(), "wake_at": record.at.isoformat()}
        if key.startswith("__send__:"):
            value = {"v": dict(zip(("id", "status", "reason", "sentAt"), value["v"],
                                   strict=True))}
        old.append(StepRecord(run=run, key=key, kind=record.kind, value=value, done=True,
                              at=record.at))
    StepRecord.objects.bulk_create(old)
    JourneyRun.objects.filter(pk=run.pk).update(timezone="")


@pytest.mark.django_db
def test_runs_parked_by_older_code_replay_their_rows_and_send_nothing_twice(clock, mailoutbox):
    """support-followup as shipped: one run parked on the answer after its email,
    one asleep until 09:00 in the zone it recorded (the person has moved since)."""
    from contacts.models import Contact
    from tracking.models import EmailSend

    for user in ("answered", "asleep"):
        ingest("ticket.resolved", user_id=user, email=f"{user}@example.com",
               properties={"ticket_id": user})
    run_due()  # both asleep until 09:00 in UTC
    asleep = JourneyRun.objects.get(user_key="asleep")
    JourneyRun.objects.filter(pk=asleep.pk).update(wake_at=timezone.now() + days(9))
    clock.shift(days(1))
    run_due()  # "answered" sends its email and parks on the answer
    answered = JourneyRun.objects.get(user_key="answered")
    assert (answered.current_step, len(mailoutbox)) == ("await-answer", 1)
    rewrite_as_older_code(answered, "UTC")
    rewrite_as_older_code(asleep, "Asia/Tokyo")
    Contact.objects.filter(external_id="asleep").update(timezone="America/Los_Angeles")

    ingest("support.followup_answered", user_id="answered", properties={"answer": "yes"})
    JourneyRun.objects.filter(pk=asleep.pk).update(wake_at=timezone.now())
    run_due()
    answered.refresh_from_db()
    assert answered.status == "completed"
    assert len(mailoutbox) == 2 and mailoutbox[1].to == ["asleep@example.com"]
    assert EmailSend.objects.filter(to_email="answered@example.com").count() == 1
    asleep.refresh_from_db()
    assert (asleep.current_step, asleep.timezone) == ("await-answer", "Asia/Tokyo")
    journal = records_of(StepRecord.objects.filter(run=asleep))
    assert {"__tz__", "guard:is-subscribed#1",
            "__send__:next-morning:support/followup"} <= set(journal)


def test_a_park_row_gives_back_every_record_exactly():
    """A memo is its value alone, a record's time microseconds from the row's, and
    a sleep's empty value is left out; each comes back as it was written."""
    from datetime import timedelta

    from journeys.engine.journal import Journal, load_rows

    parked_at = timezone.now()
    journal = Journal("run", "storage", {}, [])
    journal.write_at_park("next-morning", "sleep", {})
    journal.write_at_park("await-answer", "wait", {"result": {"event": "answered"}})
    journal.memo_at_park("guard:is-subscribed#1", lambda: True)
    journal.memo_at_park("__send__:x", lambda: ["id", "sent", "", 1_781_620_800_000_001])
    written = dict(journal.steps)
    written["next-morning"].at = parked_at - timedelta(seconds=90, microseconds=7)
    written["await-answer"].at = parked_at - timedelta(microseconds=250)
    row = journal.park_row(parked_at)
    assert (row.kind, row.key) == ("park2", "__park__#1")
    assert row.value == {
        "next-morning": ["sleep", -90_000_007],
        "await-answer": ["wait", -250, {"result": {"event": "answered"}}],
        "guard:is-subscribed#1": [True],
        "__send__:x": [["id", "sent", "", 1_781_620_800_000_001]],
    }
    steps, parks = load_rows([row])
    assert parks == 1
    assert {key: (r.kind, r.value, r.at) for key, r in steps.items()} == {
        key: (r.kind, r.value, parked_at if r.kind == "record" else r.at)
        for key, r in written.items()}


def rewrite_as_earlier_park_rows(run: JourneyRun) -> None:
    """Leave `run`'s park rows as the code before `park2` wrote them: kind `park`,
    entries `[kind, value, ISO time]` or `[kind, v]`, a send's time as ISO text."""
    from journeys.engine.sends import _result_from_json

    for row in StepRecord.objects.filter(run=run, kind="park2"):
        entries = {}
        for key, record in records_of([row]).items():
            value = record.value
            if key.startswith("__send__:"):
                result = _result_from_json(value["v"])
                value = {"v": [result.email_send_id, result.status, result.reason,
                               result.sent_at.isoformat()]}
            entries[key] = (["record", value["v"]] if record.kind == "record"
                            else [record.kind, value, record.at.isoformat()])
        StepRecord.objects.filter(pk=row.pk).update(kind="park", value=entries)


@pytest.mark.django_db
def test_runs_parked_with_earlier_park_rows_replay_them_and_send_nothing_twice(clock,
                                                                               mailoutbox):
    from tracking.models import EmailSend

    ingest("ticket.resolved", user_id="earlier", email="earlier@example.com")
    run_due()
    clock.shift(days(1))
    run_due()  # sends its email and parks on the answer
    run = JourneyRun.objects.get()
    written = {key: (r.kind, r.at) for key, r in records_of(run.steps.all()).items()}
    rewrite_as_earlier_park_rows(run)
    assert run.steps.get().kind == "park"
    assert {key: (r.kind, r.at) for key, r in records_of(run.steps.all()).items()} == written

    ingest("support.followup_answered", user_id="earlier", properties={"answer": "yes"})
    run_due()
    run.refresh_from_db()
    assert run.status == "completed"
    assert len(mailoutbox) == 1
    assert EmailSend.objects.filter(to_email="earlier@example.com").count() == 1


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
