"""The backfill: a bucket deployed for the first time, or with changed criteria,
evaluates every existing contact in pages (silently unless it asks otherwise),
picked up by `run_due` or run to the end by `manage.py buckets_backfill`."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from buckets import all_, days, define_bucket, event, not_, prop
from buckets import services as bucket_services
from buckets.models import BucketCheck, BucketMembership, BucketState
from buckets.registry import registry
from contacts.models import Contact
from journeys.engine import define_journey
from journeys.models import JourneyRun
from tests.buckets.conftest import START, ingest, run_due
from tracking.models import UserEvent

pytestmark = pytest.mark.django_db

TRIAL = all_(prop("plan").eq("trial"), prop("trial_days_left").lte(3))


def trial_bucket(**options):
    return define_bucket(id="trial-soon", name="Trial expiring soon",
                         criteria=options.pop("criteria", TRIAL), **options)


def people(*plans: str) -> list[Contact]:
    return [Contact.objects.create(external_id=f"p{n}", properties={
        "plan": plan, "trial_days_left": 2}) for n, plan in enumerate(plans)]


def bucket_events() -> list[str]:
    return list(UserEvent.objects.filter(event__startswith="bucket:").values_list(
        "event", flat=True))


def test_a_new_bucket_joins_the_people_who_already_match_silently(
        add_bucket, add_journey, clock):
    people("trial", "pro", "trial")

    @define_journey(id="reminder", name="Reminder", trigger="bucket:entered:trial-soon")
    def reminder(user, ctx):
        pass

    add_journey(reminder)
    add_bucket(trial_bucket())
    run_due()
    members = BucketMembership.objects.order_by("contact__external_id")
    assert [(m.contact.external_id, m.status, m.source) for m in members] == [
        ("p0", "active", "backfill"), ("p2", "active", "backfill")]
    # No entered storm: no events, so no journey starts.
    assert bucket_events() == [] and not JourneyRun.objects.exists()
    state = BucketState.objects.get(pk="trial-soon")
    assert state.due_at is None and state.backfilled_hash == registry.get(
        "trial-soon").criteria_hash
    assert state.backfill_seen == 3


def test_a_bucket_that_asks_for_it_announces_the_backfill(add_bucket, clock):
    people("trial", "pro")
    add_bucket(trial_bucket(backfill_emits=True))
    run_due()
    assert bucket_events() == ["bucket:entered:trial-soon"]
    assert UserEvent.objects.get().properties["source"] == "backfill"


def test_changed_criteria_backfill_again_and_members_who_no_longer_match_leave(
        add_bucket, clock):
    people("trial", "free")
    add_bucket(trial_bucket())
    run_due()
    registry.remove("trial-soon")
    add_bucket(trial_bucket(criteria=all_(prop("plan").in_(["free"]))))
    clock.shift(days(1))
    run_due()
    members = {m.contact.external_id: (m.status, m.source)
               for m in BucketMembership.objects.select_related("contact")}
    assert members == {"p0": ("left", "backfill"), "p1": ("active", "backfill")}
    assert bucket_events() == []


def test_the_backfill_works_in_pages_until_every_contact_is_seen(add_bucket, clock, monkeypatch):
    monkeypatch.setattr(bucket_services, "BACKFILL_PAGE", 2)
    people("trial", "trial", "pro", "trial", "trial")
    add_bucket(trial_bucket())
    run_due()
    assert BucketMembership.objects.filter(status="active").count() == 4
    assert BucketState.objects.get().backfill_seen == 5


def test_the_backfill_schedules_the_sweep_for_time_based_buckets(add_bucket, clock):
    ingest("app.active", user_id="recent")
    clock.shift(days(40))
    ingest("app.active", user_id="recent2")
    add_bucket(define_bucket(id="dormant-30d", name="Dormant", criteria=all_(
        event("app.active"), not_(event("app.active").within(days(30))))))
    run_due()
    # The one active 40 days ago is dormant already (silently); the other gets a check.
    assert list(BucketMembership.objects.values_list("contact__external_id", "source")) == [
        ("recent", "backfill")]
    assert BucketCheck.objects.get().due_at == START + days(70)
    clock.move_to(START + days(70))
    run_due()
    assert BucketMembership.objects.get(contact__external_id="recent2").source == "reconcile"
    assert bucket_events() == ["bucket:entered:dormant-30d"]


def test_a_bucket_switched_off_and_on_again_is_backfilled_again(add_bucket, clock):
    add_bucket(trial_bucket())
    add_bucket(define_bucket(id="other", name="Other", criteria=prop("x").exists()))
    run_due()
    registry.remove("trial-soon")
    run_due()  # the clock sees the bucket gone
    assert BucketState.objects.get(pk="trial-soon").criteria_hash == ""
    people("trial")
    add_bucket(trial_bucket())
    run_due()
    assert BucketMembership.objects.get().source == "backfill"


def test_the_command_runs_the_backfill_to_the_end(add_bucket, clock, monkeypatch):
    monkeypatch.setattr(bucket_services, "BACKFILL_PAGE", 2)
    people("trial", "trial", "trial")
    add_bucket(trial_bucket())
    out = io.StringIO()
    call_command("buckets_backfill", stdout=out)
    assert "bucket trial-soon: backfilled 3 contact(s)" in out.getvalue()
    assert BucketMembership.objects.filter(status="active", source="backfill").count() == 3
    assert BucketState.objects.get().due_at is None
    # --restart goes over everyone again (nothing changes for stable members).
    call_command("buckets_backfill", "trial-soon", "--restart", stdout=out)
    assert BucketMembership.objects.filter(status="active").count() == 3
    assert bucket_events() == []


def test_the_command_refuses_an_unknown_bucket(add_bucket):
    add_bucket(trial_bucket())
    with pytest.raises(CommandError, match="unknown bucket 'trial-son'"):
        call_command("buckets_backfill", "trial-son")
