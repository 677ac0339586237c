"""Ingest settles a (bucket, person) pair from its new events alone when it can,
without reading the person's history; memberships stay what a full evaluation
gives, and the pairs those events cannot settle are still evaluated."""

from __future__ import annotations

from datetime import timedelta

import pytest

from buckets import all_, any_, days, define_bucket, event, not_, prop, services
from buckets.models import BucketCheck, BucketMembership
from buckets.services import bucket_membership_add
from contacts.identity import contact_upsert
from contacts.models import Contact
from tests.buckets.conftest import START, ingest, run_due

pytestmark = pytest.mark.django_db


@pytest.fixture
def evaluated(monkeypatch) -> list[set]:
    """The contact ids each full evaluation read the facts of."""
    calls: list[set] = []
    real = services.people_facts

    def spy(*, contact_ids, **kwargs):
        calls.append(set(contact_ids))
        return real(contact_ids=contact_ids, **kwargs)

    monkeypatch.setattr(services, "people_facts", spy)
    return calls


def status(bucket_id: str) -> str | None:
    row = BucketMembership.objects.filter(bucket_id=bucket_id).first()
    return row.status if row else None


def test_an_event_that_keeps_a_member_of_a_recent_activity_bucket_is_settled_without_facts(
        add_bucket, clock, evaluated):
    add_bucket(define_bucket(id="active", name="Active",
                             criteria=event("app.active").within(days(7)).at_least(1)))
    ingest("app.active")
    assert status("active") == "active" and len(evaluated) == 1
    clock.shift(timedelta(days=2))
    ingest("app.active")
    assert len(evaluated) == 1
    # The check stays on the first event's window: the sweep then finds the
    # second one and keeps them in until its own window closes.
    assert BucketCheck.objects.get().due_at == START + days(7)
    clock.shift(timedelta(days=5))
    run_due()
    assert status("active") == "active"
    clock.shift(timedelta(days=2))
    run_due()
    assert status("active") == "left"


def test_activity_settles_a_dormant_bucket_as_not_a_member_and_the_sweep_joins_later(
        add_bucket, clock, evaluated):
    add_bucket(define_bucket(id="dormant", name="Dormant", criteria=all_(
        event("app.active"), not_(event("app.active").within(days(30))))))
    ingest("app.active")
    clock.shift(timedelta(days=1))
    ingest("app.active")
    assert len(evaluated) == 1 and status("dormant") is None
    clock.shift(timedelta(days=29))
    run_due()
    assert status("dormant") is None
    clock.shift(timedelta(days=1))
    run_due()
    assert status("dormant") == "active"


def test_a_count_member_stays_on_another_event_but_a_manual_member_is_evaluated(
        add_bucket, clock, evaluated):
    add_bucket(define_bucket(id="reporters", name="Reporters", criteria=any_(
        prop("plan").eq("pro"), event("report.created").at_least(2))))
    ingest("report.created")
    ingest("report.created")
    assert status("reporters") == "active" and len(evaluated) == 2
    ingest("report.created")
    assert len(evaluated) == 2
    # Put in by hand, the criteria never confirmed it: the next event they read
    # evaluates, and one report is not enough.
    ingest("page.viewed", user_id="u2")
    bucket_membership_add(bucket_id="reporters",
                          contact_id=Contact.objects.get(external_id="u2").pk, actor="staff")
    ingest("report.created", user_id="u2")
    row = BucketMembership.objects.get(contact__external_id="u2")
    assert row.status == "left" and row.leave_reason == "criteria"


def test_properties_written_with_the_event_are_evaluated(add_bucket, clock, evaluated):
    add_bucket(define_bucket(id="pro-reporters", name="Pro reporters", criteria=all_(
        prop("plan").eq("pro"), event("report.created").at_least(1))))
    ingest("report.created", contact_properties={"plan": "pro"})
    assert status("pro-reporters") == "active"
    # The event alone could only keep them in; the plan it carries takes them out.
    ingest("report.created", contact_properties={"plan": "free"})
    assert status("pro-reporters") == "left"


def test_a_member_whose_window_closed_before_the_sweep_came_is_evaluated(
        add_bucket, clock, evaluated):
    add_bucket(define_bucket(id="busy", name="Busy",
                             criteria=event("app.active").within(days(7)).at_least(2)))
    ingest("app.active")
    clock.shift(timedelta(days=1))
    ingest("app.active")
    assert status("busy") == "active"
    # The sweep is late: both events left the window, and the new one alone is
    # one, not two.
    clock.shift(timedelta(days=9))
    ingest("app.active")
    assert status("busy") == "left"


def test_properties_sent_again_with_their_values_are_not_evaluated(add_bucket, clock, evaluated):
    add_bucket(define_bucket(id="pro", name="Pro", criteria=prop("plan").eq("pro")))
    ingest("page.viewed", contact_properties={"plan": "pro"})
    ingest("page.viewed", user_id="u2", contact_properties={"plan": "free"})
    assert status("pro") == "active" and len(evaluated) == 2
    # SDKs send the person's properties with every event: unchanged, they change
    # no answer, member or not.
    ingest("page.viewed", contact_properties={"plan": "pro"})
    ingest("page.viewed", user_id="u2", contact_properties={"plan": "free"})
    contact_upsert(user_id="u1", properties={"plan": "pro"})
    assert len(evaluated) == 2
    ingest("page.viewed", user_id="u2", contact_properties={"plan": "pro"})
    assert len(evaluated) == 3
    assert BucketMembership.objects.filter(status="active").count() == 2


def test_a_manual_member_is_evaluated_when_a_property_is_sent_again(add_bucket, clock,
                                                                      evaluated):
    add_bucket(define_bucket(id="pro", name="Pro", criteria=prop("plan").eq("pro")))
    ingest("page.viewed", contact_properties={"plan": "free"})
    bucket_membership_add(bucket_id="pro", contact_id=Contact.objects.get().pk, actor="staff")
    # The criteria never confirmed the entry: the value sent again takes them out.
    ingest("page.viewed", contact_properties={"plan": "free"})
    row = BucketMembership.objects.get()
    assert row.status == "left" and row.leave_reason == "criteria"
