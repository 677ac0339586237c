"""Membership follows the criteria in real time: an event or a contact upsert
joins or leaves in its own request, and the transition is an ingested event
that journeys trigger and exit on."""

from __future__ import annotations

import pytest
from django.utils import timezone

from buckets import all_, days, define_bucket, event, prop
from buckets.models import BucketMembership
from buckets.services import bucket_membership_add, bucket_membership_remove
from contacts.erasure import contact_erase
from contacts.models import Contact
from hogsend_site.errors import Conflict
from hogsend_site.models import AuditLog
from journeys.engine import define_journey
from journeys.models import JourneyRun
from tests.buckets.conftest import ingest, run_due
from tracking.models import UserEvent

pytestmark = pytest.mark.django_db

TRIAL = {"id": "trial-soon", "name": "Trial expiring soon", "criteria": all_(
    prop("plan").eq("trial"), prop("trial_days_left").lte(3), prop("converted").neq(True))}
ON_TRIAL = {"plan": "trial", "trial_days_left": 3, "converted": False}


def bucket_events(name: str | None = None) -> list[UserEvent]:
    rows = UserEvent.objects.filter(event__startswith="bucket:").order_by("id")
    return list(rows.filter(event=name) if name else rows)


def upsert(api, **properties):
    response = api.put("/v1/contacts", {"userId": "u1", "email": "ada@example.com",
                                        "properties": properties}, format="json")
    assert response.status_code == 200, response.content
    return response


def track(api, name: str, **contact_properties):
    response = api.post("/v1/events", {"name": name, "userId": "u1",
                                       "contactProperties": contact_properties or None},
                        format="json")
    assert response.status_code == 202, response.content
    return response


def test_a_contact_upsert_joins_in_real_time_and_ingests_entered_with_the_snapshot(
        api, add_bucket, clock):
    add_bucket(define_bucket(**TRIAL))
    upsert(api, **ON_TRIAL, company="Acme")
    member = BucketMembership.objects.get()
    contact = Contact.objects.get(external_id="u1")
    assert (member.contact_id, member.bucket_id, member.status, member.source) == (
        contact.pk, "trial-soon", "active", "event")
    assert member.entry_count == 1 and member.left_at is None
    # Only what the criteria read: the snapshot says why they matched.
    assert member.snapshot == ON_TRIAL
    [entered] = bucket_events()
    assert entered.event == "bucket:entered:trial-soon"
    assert entered.contact_id == contact.pk and entered.source == "bucket"
    assert entered.properties == {
        **ON_TRIAL, "bucketId": "trial-soon", "bucketName": "Trial expiring soon",
        "userId": "u1", "transition": "entered", "source": "event", "entryCount": 1,
        "snapshot": ON_TRIAL}


def test_an_event_carrying_contact_properties_leaves_in_real_time(api, add_bucket, clock):
    add_bucket(define_bucket(**TRIAL))
    upsert(api, **ON_TRIAL)
    clock.shift(days(1))
    track(api, "subscription.created", converted=True)
    member = BucketMembership.objects.get()
    assert (member.status, member.leave_reason, member.source) == ("left", "criteria", "event")
    assert member.left_at is not None and member.entry_count == 1
    left = bucket_events("bucket:left:trial-soon")[0]
    assert left.properties["transition"] == "left" and left.properties["reason"] == "criteria"


def test_a_stable_member_re_evaluated_emits_nothing(api, add_bucket, clock):
    add_bucket(define_bucket(**TRIAL))
    upsert(api, **ON_TRIAL)
    upsert(api, plan="trial", trial_days_left=2)
    track(api, "page.viewed", trial_days_left=1)
    assert len(bucket_events()) == 1
    assert BucketMembership.objects.get().entry_count == 1


def test_writes_the_criteria_do_not_read_evaluate_nothing(api, add_bucket, clock):
    add_bucket(define_bucket(**TRIAL))
    # This person would match, but neither write touches a key the bucket reads
    # (the backfill is what finds people who matched before a bucket existed).
    Contact.objects.create(external_id="u1", properties=ON_TRIAL)
    upsert(api, company="Acme")
    track(api, "page.viewed", seats=3)
    assert not BucketMembership.objects.exists()


def test_an_event_the_criteria_count_joins_on_the_event_that_reaches_the_count(
        add_bucket, clock):
    add_bucket(define_bucket(id="power-users", name="Power users",
                             criteria=event("report.created").within(days(7)).at_least(3)))
    ingest("report.created")
    ingest("report.created")
    assert not BucketMembership.objects.exists()
    ingest("report.created")
    assert BucketMembership.objects.get().status == "active"
    assert [e.event for e in bucket_events()] == ["bucket:entered:power-users"]


def test_one_batch_joins_many_people_and_their_events_once_each(add_bucket, clock):
    from tracking.ingest import EventInput, events_ingest

    add_bucket(define_bucket(**TRIAL))
    events_ingest([EventInput(name="signed.up", user_id=f"p{n}", contact_properties=ON_TRIAL)
                   for n in range(30)] + [EventInput(name="signed.up", user_id="p0",
                                                     contact_properties={"plan": "trial"})])
    assert BucketMembership.objects.filter(status="active").count() == 30
    assert len(bucket_events("bucket:entered:trial-soon")) == 30


def test_a_journey_triggers_on_entered_sees_the_snapshot_and_exits_on_left(
        api, add_bucket, add_journey, clock):
    add_bucket(define_bucket(**TRIAL))
    seen: list[int] = []

    @define_journey(id="trial-reminder", name="Trial reminder",
                    trigger="bucket:entered:trial-soon",
                    exit_on=["bucket:left:trial-soon"])
    def reminder(user, ctx):
        seen.append(user.properties.get("trial_days_left"))
        ctx.wait_for_event(event="subscription.created", timeout=days(2), label="await-upgrade")

    add_journey(reminder)
    upsert(api, **ON_TRIAL)
    run_due()
    run = JourneyRun.objects.get(journey_id="trial-reminder")
    assert run.status == "waiting" and set(seen) == {3}  # each replay sees the same
    assert run.trigger_event.event == "bucket:entered:trial-soon"
    clock.shift(days(1))
    response = track(api, "app.active", converted=True)
    run.refresh_from_db()
    assert run.status == "exited"
    # The leave happened inside that request, so the run exited with it.
    assert response.json()["stored"] is True


def test_once_per_period_suppresses_entered_while_the_membership_advances(api, add_bucket, clock):
    add_bucket(define_bucket(**TRIAL, entry_limit="once_per_period", entry_period=days(30)))
    upsert(api, **ON_TRIAL)
    clock.shift(days(1))
    upsert(api, plan="pro")
    clock.shift(days(10))
    upsert(api, plan="trial")  # back within 30 days of leaving: silent
    member = BucketMembership.objects.get()
    assert (member.status, member.entry_count) == ("active", 2)
    assert [e.event for e in bucket_events()] == [
        "bucket:entered:trial-soon", "bucket:left:trial-soon"]
    clock.shift(days(1))
    upsert(api, plan="pro")
    clock.shift(days(30))
    upsert(api, plan="trial")  # 30 days after the last leave: announced again
    member.refresh_from_db()
    assert (member.status, member.entry_count) == ("active", 3)
    assert [e.event for e in bucket_events()][-1] == "bucket:entered:trial-soon"
    assert len(bucket_events("bucket:entered:trial-soon")) == 2
    assert bucket_events("bucket:entered:trial-soon")[-1].properties["entryCount"] == 3


def test_once_emits_entered_on_the_first_entry_only(api, add_bucket, clock):
    add_bucket(define_bucket(**TRIAL, entry_limit="once"))
    for plan in ("trial", "pro", "trial", "pro", "trial"):
        clock.shift(days(1))
        upsert(api, **{**ON_TRIAL, "plan": plan})
    assert BucketMembership.objects.get().entry_count == 3
    assert len(bucket_events("bucket:entered:trial-soon")) == 1
    # Leaves are always announced: they end whatever an entry started.
    assert len(bucket_events("bucket:left:trial-soon")) == 2


def test_staff_add_and_remove_a_member_by_hand_with_an_audit_row(add_bucket, clock):
    add_bucket(define_bucket(**TRIAL))
    contact = Contact.objects.create(external_id="u1", properties={"plan": "pro"})
    bucket_membership_add(bucket_id="trial-soon", contact_id=str(contact.pk), actor="sam")
    member = BucketMembership.objects.get()
    assert (member.status, member.source) == ("active", "manual")
    with pytest.raises(Conflict):
        bucket_membership_add(bucket_id="trial-soon", contact_id=contact.pk, actor="sam")
    bucket_membership_remove(bucket_id="trial-soon", contact_id=contact.pk, actor="sam")
    member.refresh_from_db()
    # They did not match (plan pro), so nothing holds them out of a later entry.
    assert (member.status, member.leave_reason, member.held_out) == ("left", "manual", False)
    assert [e.event for e in bucket_events()] == [
        "bucket:entered:trial-soon", "bucket:left:trial-soon"]
    assert list(AuditLog.objects.order_by("id").values_list("action", "actor")) == [
        ("bucket.member_added", "sam"), ("bucket.member_removed", "sam")]


def test_erasure_clears_the_membership_snapshot(api, add_bucket, clock):
    add_bucket(define_bucket(**TRIAL))
    upsert(api, **ON_TRIAL)
    contact = Contact.objects.get(external_id="u1")
    contact_erase(contact_id=contact.pk, actor="dpo")
    member = BucketMembership.objects.get()
    assert member.snapshot == {} and member.status == "active"


def test_a_person_removed_by_hand_while_matching_stays_out_until_they_stop_matching(
        api, add_bucket, clock):
    add_bucket(define_bucket(**TRIAL))
    upsert(api, **ON_TRIAL)
    contact = Contact.objects.get(external_id="u1")
    bucket_membership_remove(bucket_id="trial-soon", contact_id=contact.pk, actor="sam")
    upsert(api, trial_days_left=2)
    assert BucketMembership.objects.get().status == "left"
    upsert(api, plan="pro")
    upsert(api, plan="trial")
    member = BucketMembership.objects.get()
    assert (member.status, member.entry_count, member.source) == ("active", 2, "event")


def test_a_leave_a_concurrent_evaluation_already_made_is_not_made_twice(
        api, add_bucket, clock, monkeypatch):
    from buckets import services

    add_bucket(define_bucket(**TRIAL))
    upsert(api, **ON_TRIAL)
    contact = Contact.objects.get(external_id="u1")
    # This evaluation read the row while it was still active; another request
    # made the person leave before this one wrote.
    stale = services._states([("trial-soon", [contact.pk.int])], set(),
                             {contact.pk.int: contact.pk})
    clock.shift(days(1))
    upsert(api, plan="pro")
    left_at = BucketMembership.objects.get().left_at
    clock.shift(days(1))
    monkeypatch.setattr(services, "_states", lambda *args: stale)
    services.memberships_evaluate(pairs={"trial-soon": [contact.pk]}, now=timezone.now(),
                                  source="event")
    assert [e.event for e in bucket_events()] == [
        "bucket:entered:trial-soon", "bucket:left:trial-soon"]
    member = BucketMembership.objects.get()
    assert (member.entry_count, member.left_at) == (1, left_at)


def test_merging_two_members_of_one_bucket_keeps_one_membership_each(api, add_bucket, clock):
    add_bucket(define_bucket(**TRIAL))
    for user_id, email in (("u1", "ada@example.com"), ("u2", "ada.work@example.com")):
        response = api.put("/v1/contacts", {"userId": user_id, "email": email,
                                            "properties": ON_TRIAL}, format="json")
        assert response.status_code == 200
    survivor_id = api.put("/v1/contacts", {"userId": "u1", "email": "ada.work@example.com"},
                          format="json").json()["id"]
    live = BucketMembership.objects.filter(contact__deleted_at__isnull=True)
    assert [str(m.contact_id) for m in live] == [survivor_id]
    assert BucketMembership.objects.count() == 2  # the merged-away one keeps its row
