"""Enrolment guards, in their order and with their reason strings: disabled, admin
switch, trigger `where`, entry limit, unsubscribed, held out, already active."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from django.utils import timezone

from contacts.models import Contact
from contacts.preferences import preference_update
from journeys.engine import days, define_journey
from journeys.models import JourneyConfig, JourneyRun
from journeys.services import _enroll_many
from tests.journeys.conftest import ingest
from tracking.models import UserEvent


def journey(**overrides):
    meta = {"id": "guarded", "name": "Guarded", "trigger": "go", **overrides}

    @define_journey(**meta)
    def guarded(user, ctx):
        ctx.sleep(days(1))

    return guarded


def enroll(j, contact, **props):
    event = UserEvent.objects.create(
        contact=contact, user_key=contact.key, event="go", properties=props
    )
    # The ingest hook's own enrolment, for one stored event and one journey.
    item = SimpleNamespace(contact=contact, event=event, reactions={})
    _enroll_many([(item, j)], timezone.now())
    return item.reactions["enrollments"][0]


@pytest.fixture
def person(db) -> Contact:
    return Contact.objects.create(external_id="p1", email="p1@example.com")


def test_a_disabled_journey_skips_before_anything_else(person):
    assert enroll(journey(enabled=False), person).reason == "journey_disabled"


def test_the_admin_switch_disables_a_journey(person):
    JourneyConfig.objects.create(journey_id="guarded", enabled=False)
    assert enroll(journey(), person).reason == "journey_disabled_by_admin"


def test_trigger_where_sees_scalar_properties_strictly(person):
    j = journey(trigger={"event": "go", "where": lambda b: b.prop("plan").eq("enterprise")})
    assert enroll(j, person, plan="pro").reason == "trigger_conditions_not_met"
    assert enroll(j, person, plan={"nested": "enterprise"}).reason == "trigger_conditions_not_met"
    assert enroll(j, person, plan="enterprise").status == "enrolled"


def test_once_blocks_after_any_earlier_run(person):
    j = journey(entry_limit="once")
    first = enroll(j, person)
    JourneyRun.objects.filter(pk=first.run.pk).update(status="completed")
    assert enroll(j, person).reason == "already_entered_once"


def test_once_per_period_blocks_until_exactly_the_period_has_passed(person, time_machine):
    time_machine.move_to("2026-06-15T10:00:00Z", tick=False)
    j = journey(entry_limit="once_per_period", entry_period=days(7))
    first = enroll(j, person)
    JourneyRun.objects.filter(pk=first.run.pk).update(status="completed")
    time_machine.move_to("2026-06-18T10:00:00Z", tick=False)
    assert enroll(j, person).reason == "period_not_elapsed"
    time_machine.move_to("2026-06-22T10:00:00Z", tick=False)  # exactly 7 days
    assert enroll(j, person).status == "enrolled"


def test_a_globally_unsubscribed_contact_is_not_enrolled(person):
    preference_update(contact=person, email=person.email, unsubscribed_all=True, source="api")
    assert enroll(journey(), person).reason == "user_unsubscribed"


def test_unsubscribed_is_reported_before_already_active(person):
    j = journey()
    enroll(j, person)
    preference_update(contact=person, email=person.email, unsubscribed_all=True, source="api")
    assert enroll(j, person).reason == "user_unsubscribed"


def test_a_live_run_absorbs_the_next_trigger(person):
    j = journey()
    enroll(j, person)
    assert enroll(j, person).reason == "already_active"


def test_a_held_out_contact_gets_one_held_out_row_and_one_event(db):
    j = journey(holdout={"percent": 50})
    held = None
    for n in range(40):
        contact = Contact.objects.create(external_id=f"h{n}")
        if enroll(j, contact).reason == "held_out":
            held = contact
            break
    assert held is not None
    assert enroll(j, held).reason == "held_out"
    assert JourneyRun.objects.filter(contact=held, status="held_out").count() == 1
    assert UserEvent.objects.filter(contact=held, event="journey.heldout").count() == 1


def test_reserved_record_namespaces_are_stripped_from_the_context(person):
    run = enroll(journey(), person, ticket_id="T1", __once__={"x": 1}).run
    assert run.context == {"ticket_id": "T1"}


def test_the_api_reports_no_enrolment_but_the_run_exists(register, db):
    register(journey())
    ingest("go", user_id="p9")
    assert JourneyRun.objects.filter(user_key="p9", status="active").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
@pytest.mark.django_db(transaction=True)
def test_once_cannot_be_raced_by_a_run_that_finishes_before_the_other_inserts():
    """Thread A enrols and finishes its run before committing; thread B's guard
    must wait for A (contact row lock) and then see A's run."""
    contact = Contact.objects.create(external_id="racer")
    j = journey(entry_limit="once")
    a_inside, results = threading.Event(), {}

    def thread_a() -> None:
        with transaction.atomic():
            run = enroll(j, contact).run
            JourneyRun.objects.filter(pk=run.pk).update(status="completed")
            a_inside.set()
            time.sleep(0.5)
        connection.close()

    def thread_b() -> None:
        a_inside.wait()
        with transaction.atomic():
            results["b"] = enroll(j, contact).reason
        connection.close()

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results["b"] == "already_entered_once"
    assert JourneyRun.objects.filter(contact=contact).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_triggers_make_one_live_run(register):
    register(journey())
    barrier = threading.Barrier(4)

    def trigger(n: int) -> None:
        barrier.wait()
        ingest("go", user_id="same-person", idempotency_key=f"k{n}")
        connection.close()

    Contact.objects.create(external_id="same-person")
    threads = [threading.Thread(target=trigger, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert JourneyRun.objects.filter(user_key="same-person").count() == 1
    assert UserEvent.objects.filter(event="go").count() == 4


def test_manual_enrolment_goes_through_ingest_and_reports_each_guard(register, db):
    from journeys.services import journey_enroll_manual

    register(journey(entry_limit="once"))
    first = journey_enroll_manual(journey_id="guarded", users=[
        {"user_id": "m1", "email": "m1@example.com", "properties": {"plan": "pro"}},
        {"email": "m2@example.com"},
        {"properties": {}},
    ])
    assert [r.status for r in first] == ["enrolled", "enrolled", "error"], [r.reason for r in first]
    assert first[2].reason == "email or userId is required"
    again = journey_enroll_manual(journey_id="guarded", users=[{"user_id": "m1"}])
    assert again[0].reason in ("already_active", "already_entered_once")
    assert UserEvent.objects.filter(event="go", source="admin").count() == 3


def test_manual_enrolment_refuses_more_than_500_users(register, db):
    from hogsend_site.errors import HogsendError
    from journeys.services import journey_enroll_manual

    register(journey())
    with pytest.raises(HogsendError):
        journey_enroll_manual(journey_id="guarded",
                              users=[{"user_id": f"u{n}"} for n in range(501)])


def test_replaying_an_event_runs_the_whole_pipeline_again(register, db):
    from tracking.ingest import events_replay

    register(journey(entry_limit="unlimited"))
    ingest("go", user_id="r1", idempotency_key="once-only")
    JourneyRun.objects.update(status="completed")
    original = UserEvent.objects.get(event="go")
    (replayed,) = events_replay(event_ids=[original.pk])
    assert replayed.stored and replayed.event.source == "replay"
    assert JourneyRun.objects.filter(user_key="r1").count() == 2
