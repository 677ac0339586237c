"""The reconcile sweep: what only time changes (absence, closing windows,
max_dwell boxes) happens when `run_due` finds the pair's check due."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from buckets import all_, days, define_bucket, event, not_, prop
from buckets.due import CHECKS
from buckets.models import BucketCheck, BucketMembership
from contacts.identity import contact_upsert
from hogsend_site import due as due_module
from journeys.engine import define_journey
from journeys.models import JourneyRun
from tests.buckets.conftest import START, ingest, run_due
from tracking.models import UserEvent

pytestmark = pytest.mark.django_db

DORMANT = {"id": "dormant-30d", "name": "Dormant for 30 days", "time_based": True,
           "criteria": all_(event("app.active"), not_(event("app.active").within(days(30))))}


def events(prefix: str = "bucket:") -> list[str]:
    return list(UserEvent.objects.filter(event__startswith=prefix).order_by("id")
                .values_list("event", flat=True))


def test_a_person_turns_dormant_when_the_sweep_runs_after_30_days(add_bucket, clock):
    add_bucket(define_bucket(**DORMANT))
    ingest("app.active")
    run_due()
    assert BucketCheck.objects.get().due_at == START + days(30)
    clock.move_to(START + days(30) - timedelta(seconds=1))
    run_due()
    assert not BucketMembership.objects.exists()
    clock.move_to(START + days(30))
    run_due()
    member = BucketMembership.objects.get()
    assert (member.status, member.source, member.entered_at) == (
        "active", "reconcile", START + days(30))
    assert events() == ["bucket:entered:dormant-30d"]
    # Nothing left for time to change: no check until the person is active again.
    assert not BucketCheck.objects.exists()


def test_coming_back_leaves_in_real_time_and_exits_the_win_back_run(
        add_bucket, add_journey, clock):
    add_bucket(define_bucket(**DORMANT))

    @define_journey(id="winback", name="Win-back", trigger="bucket:entered:dormant-30d",
                    exit_on=["bucket:left:dormant-30d"])
    def winback(user, ctx):
        ctx.sleep(days(7), label="post-winback")

    add_journey(winback)
    ingest("app.active")
    clock.move_to(START + days(31))
    run_due()
    run = JourneyRun.objects.get()
    assert run.status == "waiting"
    clock.shift(days(3))
    ingest("app.active")  # no sweep: the event itself leaves the bucket
    member = BucketMembership.objects.get()
    assert (member.status, member.source, member.leave_reason) == ("left", "event", "criteria")
    run.refresh_from_db()
    assert run.status == "exited"
    assert events() == ["bucket:entered:dormant-30d", "bucket:left:dormant-30d"]
    # And the next dormancy is scheduled from this activity.
    assert BucketCheck.objects.get().due_at == START + days(34) + days(30)


def test_a_person_never_active_never_joins(add_bucket, clock):
    add_bucket(define_bucket(**DORMANT))
    ingest("signed.up", contact_properties={"plan": "free"})
    run_due()
    clock.move_to(START + days(90))
    run_due()
    assert not BucketMembership.objects.exists()
    assert not BucketCheck.objects.exists()


def test_a_late_sweep_only_delays_a_join_and_never_makes_a_wrong_one(add_bucket, clock):
    add_bucket(define_bucket(**DORMANT))
    ingest("app.active", user_id="late")
    ingest("app.active", user_id="back")
    run_due()
    # No sweep ran for 45 days; "back" was active again on day 40.
    clock.move_to(START + days(40))
    ingest("app.active", user_id="back")
    clock.move_to(START + days(45))
    run_due()
    member = BucketMembership.objects.get()
    assert member.contact.external_id == "late" and member.entered_at == START + days(45)
    back_check = BucketCheck.objects.get(contact__external_id="back")
    assert back_check.due_at == START + days(70)


def test_a_closing_window_leaves_by_the_sweep(add_bucket, clock):
    add_bucket(define_bucket(id="power-users", name="Power users",
                             criteria=event("report.created").within(days(7)).at_least(2)))
    ingest("report.created")
    clock.shift(days(2))
    ingest("report.created")
    assert BucketMembership.objects.get().status == "active"
    # The first report leaves the window 7 days after it happened.
    clock.move_to(START + days(7))
    run_due()
    member = BucketMembership.objects.get()
    assert (member.status, member.source, member.leave_reason) == (
        "left", "reconcile", "criteria")
    assert events() == ["bucket:entered:power-users", "bucket:left:power-users"]


def test_max_dwell_removes_a_member_who_still_matches_and_once_keeps_re_entry_quiet(
        add_bucket, clock):
    add_bucket(define_bucket(id="trial-soon", name="Trial expiring soon", entry_limit="once",
                             max_dwell=days(14), criteria=all_(prop("plan").eq("trial"),
                                                               prop("trial_days_left").lte(3))))
    contact_upsert(user_id="u1", properties={"plan": "trial", "trial_days_left": 3})
    member = BucketMembership.objects.get()
    assert member.max_dwell_at == START + days(14)
    clock.move_to(START + days(14))
    run_due()
    member.refresh_from_db()
    assert (member.status, member.leave_reason, member.source) == (
        "left", "max_dwell", "reconcile")
    assert member.max_dwell_at is None
    assert events() == ["bucket:entered:trial-soon", "bucket:left:trial-soon"]
    assert UserEvent.objects.get(event="bucket:left:trial-soon").properties["reason"] == (
        "max_dwell")
    # Still matching, they stay out: the box holds until they stop matching.
    clock.shift(days(1))
    contact_upsert(user_id="u1", properties={"trial_days_left": 2})
    member.refresh_from_db()
    assert (member.status, member.held_out) == ("left", True)
    contact_upsert(user_id="u1", properties={"plan": "pro"})
    member.refresh_from_db()
    assert (member.status, member.held_out) == ("left", False)
    # A new trial joins again, silently (entry_limit once).
    contact_upsert(user_id="u1", properties={"plan": "trial"})
    member.refresh_from_db()
    assert (member.status, member.entry_count) == ("active", 2)
    assert events() == ["bucket:entered:trial-soon", "bucket:left:trial-soon"]


def test_the_sweep_works_through_many_checks_in_pages(add_bucket, clock, monkeypatch):
    monkeypatch.setitem(due_module._sources, CHECKS.name, dataclasses.replace(CHECKS,
                                                                              batch_size=2))
    add_bucket(define_bucket(**DORMANT))
    for n in range(5):
        ingest("app.active", user_id=f"p{n}")
    run_due()  # the deploy's backfill: nobody is dormant yet
    clock.move_to(datetime(2026, 4, 1, tzinfo=UTC))
    run_due()
    assert BucketMembership.objects.filter(status="active").count() == 5
    assert events().count("bucket:entered:dormant-30d") == 5


def test_checks_of_a_bucket_no_longer_defined_are_dropped(add_bucket, clock):
    add_bucket(define_bucket(**DORMANT))
    add_bucket(define_bucket(id="weekly", name="Weekly", criteria=event("x").within(days(7))))
    ingest("app.active")
    ingest("x")
    assert BucketCheck.objects.count() == 2
    from buckets.registry import registry

    registry.remove("weekly")
    clock.move_to(START + days(31))
    run_due()
    assert list(BucketCheck.objects.values_list("bucket_id", flat=True)) == []
    assert BucketMembership.objects.get(bucket_id="weekly").status == "active"  # frozen
    assert BucketMembership.objects.get(bucket_id="dormant-30d").status == "active"


def test_a_drain_at_one_instant_asks_for_due_checks_once(add_bucket, clock):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    add_bucket(define_bucket(**DORMANT))
    ingest("app.active")
    run_due()
    clock.shift(days(1))

    def claims() -> int:
        with CaptureQueriesContext(connection) as captured:
            run_due()
            run_due()
        return sum(q["sql"].startswith('SELECT "buckets_bucketcheck"."id" AS "pk"')
                   and "claimed_until" in q["sql"] for q in captured.captured_queries)

    # Nothing is due and the clock stands still: the second drain does not ask.
    assert claims() == 1
    clock.move_to(START + days(30))
    assert claims() == 1
    assert BucketMembership.objects.get().status == "active"
