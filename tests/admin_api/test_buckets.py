"""Buckets on the admin plane: the list with counts, one bucket's definition,
its members, and manual add/remove (audited; bad input writes nothing)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from buckets.models import BucketMembership
from contacts.models import Contact
from hogsend_site.models import AuditLog
from tracking.models import UserEvent

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 17, 10, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def clock_start() -> datetime:
    return NOW


def member(contact: Contact, bucket_id: str = "dormant-30d", *, status: str = "active",
           entered: datetime = NOW, left: datetime | None = None) -> BucketMembership:
    return BucketMembership.objects.create(contact=contact, bucket_id=bucket_id, status=status,
                                           entered_at=entered, left_at=left, source="reconcile")


def person(n: int) -> Contact:
    return Contact.objects.create(external_id=f"u_{n}", email=f"p{n}@example.com")


def test_the_list_names_every_shipped_bucket_with_its_counts(admin_api, clock):
    member(person(1))
    member(person(2), entered=NOW - timedelta(days=2))  # Monday: this week, not today
    member(person(3), status="left", entered=NOW - timedelta(days=40), left=NOW)
    member(person(4), "trial-expiring-soon", entered=NOW - timedelta(days=9))

    body = admin_api.get("/v1/admin/buckets").json()

    by_id = {bucket["id"]: bucket for bucket in body["buckets"]}
    assert set(by_id) == {"dormant-30d", "trial-expiring-soon"}
    dormant = by_id["dormant-30d"]
    assert (dormant["name"], dormant["kind"], dormant["enabled"], dormant["timeBased"],
            dormant["entryLimit"]) == ("Dormant for 30 days", "dynamic", True, True, "unlimited")
    assert dormant["counts"] == {"active": 2, "left": 1, "joinedToday": 1,
                                 "joinedThisWeek": 2, "leftToday": 1, "leftThisWeek": 1}
    trial = by_id["trial-expiring-soon"]
    assert trial["entryLimit"] == "once" and trial["timeBased"] is True
    assert trial["counts"]["active"] == 1 and trial["counts"]["joinedThisWeek"] == 0


def test_the_detail_shows_the_definition_and_the_journeys_it_feeds(admin_api, clock):
    member(person(1), "trial-expiring-soon")

    bucket = admin_api.get("/v1/admin/buckets/trial-expiring-soon").json()["bucket"]

    assert bucket["maxDwell"] == 14 * 86400 and bucket["entryPeriod"] is None
    assert bucket["propertyKeys"] == ["converted", "plan", "trial_days_left"]
    assert bucket["criteria"]["type"] == "all"
    assert bucket["feedsJourneys"] == [
        {"id": "trial-expiring", "name": "Lifecycle — trial expiring", "role": "trigger+exit"}]
    (recent,) = bucket["recentMembers"]
    assert (recent["userId"], recent["status"]) == ("u_1", "active")


def test_an_unknown_bucket_is_a_404_everywhere(admin_api, ada):
    for method, path in (("get", "/v1/admin/buckets/nope"),
                         ("get", "/v1/admin/buckets/nope/members"),
                         ("post", "/v1/admin/buckets/nope/members"),
                         ("delete", "/v1/admin/buckets/nope/members/u_ada")):
        response = getattr(admin_api, method)(path, {"userId": "u_ada"}, format="json")
        assert response.status_code == 404, path
        assert response.json() == {"error": "Bucket not found"}
    assert not BucketMembership.objects.exists() and not AuditLog.objects.exists()


def test_members_are_paged_newest_first_and_filtered_by_status_and_user(admin_api, clock):
    for n in range(5):
        member(person(n), entered=NOW - timedelta(hours=n))
    member(person(9), status="left", entered=NOW - timedelta(days=50), left=NOW)

    page = admin_api.get("/v1/admin/buckets/dormant-30d/members",
                         {"limit": 2, "offset": 1}).json()
    assert (page["total"], page["limit"], page["offset"]) == (6, 2, 1)
    assert [m["userId"] for m in page["members"]] == ["u_1", "u_2"]
    left = admin_api.get("/v1/admin/buckets/dormant-30d/members", {"status": "left"}).json()
    assert [m["userId"] for m in left["members"]] == ["u_9"]
    assert left["members"][0]["leftAt"] == "2026-06-17T10:00:00Z"
    mine = admin_api.get("/v1/admin/buckets/dormant-30d/members", {"userId": "u_3"}).json()
    assert [m["userEmail"] for m in mine["members"]] == ["p3@example.com"]
    bad = admin_api.get("/v1/admin/buckets/dormant-30d/members", {"status": "gone"})
    assert bad.status_code == 400 and bad.json()["error"].startswith("status:")


def test_a_manual_add_joins_with_source_manual_emits_entered_and_is_audited(
        admin_api, ada, clock):
    response = admin_api.post("/v1/admin/buckets/dormant-30d/members", {"userId": "u_ada"},
                              format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["emitted"] is True
    assert (body["member"]["status"], body["member"]["source"], body["member"]["userId"]) == (
        "active", "manual", "u_ada")
    row = BucketMembership.objects.get()
    assert (row.contact, row.status, row.source) == (ada, "active", "manual")
    assert UserEvent.objects.filter(event="bucket:entered:dormant-30d", contact=ada).exists()
    actions = set(AuditLog.objects.values_list("action", "resource", "resource_id"))
    assert ("bucket.member_added", "bucket", "dormant-30d") in actions
    assert ("POST bucket-members", "bucket", "dormant-30d") in actions


def test_a_manual_add_finds_people_by_email_or_contact_id(admin_api, ada, clock):
    other = person(7)
    by_email = admin_api.post("/v1/admin/buckets/dormant-30d/members",
                              {"email": "ADA@example.com"}, format="json")
    by_id = admin_api.post("/v1/admin/buckets/dormant-30d/members",
                           {"contactId": str(other.pk)}, format="json")
    assert (by_email.status_code, by_id.status_code) == (201, 201)
    assert set(BucketMembership.objects.values_list("contact_id", flat=True)) == {ada.pk,
                                                                                  other.pk}


@pytest.mark.parametrize(("body", "status", "error"), [
    ({}, 400, "exactly one of userId, email or contactId is required"),
    ({"userId": "u_ada", "email": "ada@example.com"}, 400,
     "exactly one of userId, email or contactId is required"),
    ({"email": "not-an-email"}, 400, "email: Enter a valid email address."),
    ({"contactId": "nope"}, 400, "contactId: Must be a valid UUID."),
    ({"userId": "u_nobody"}, 404, "Contact not found"),
])
def test_a_bad_add_is_refused_with_an_error_and_writes_nothing(admin_api, ada, body, status,
                                                               error):
    response = admin_api.post("/v1/admin/buckets/dormant-30d/members", body, format="json")
    assert response.status_code == status
    assert response.json() == {"error": error}
    assert not BucketMembership.objects.exists()
    assert not UserEvent.objects.exists() and not AuditLog.objects.exists()


def test_adding_a_member_twice_is_a_409_that_writes_nothing(admin_api, ada, clock):
    member(ada)
    response = admin_api.post("/v1/admin/buckets/dormant-30d/members", {"userId": "u_ada"},
                              format="json")
    assert response.status_code == 409
    assert response.json() == {"error": "contact is already a member of 'dormant-30d'"}
    assert BucketMembership.objects.get().entry_count == 1
    assert not AuditLog.objects.exists()


def test_a_manual_remove_leaves_with_reason_manual_emits_left_and_is_audited(
        admin_api, ada, clock):
    member(ada)
    response = admin_api.delete("/v1/admin/buckets/dormant-30d/members/u_ada")
    assert response.status_code == 200, response.content
    assert response.json()["member"]["leaveReason"] == "manual"
    row = BucketMembership.objects.get()
    assert (row.status, row.source, row.leave_reason, row.left_at) == ("left", "manual",
                                                                       "manual", NOW)
    assert UserEvent.objects.filter(event="bucket:left:dormant-30d", contact=ada).exists()
    assert AuditLog.objects.filter(action="bucket.member_removed",
                                   detail__contactId=str(ada.pk)).exists()
    assert AuditLog.objects.filter(action="DELETE bucket-member", resource_id="u_ada").exists()


def test_removing_someone_who_is_not_a_member_writes_nothing(admin_api, ada, clock):
    never = admin_api.delete("/v1/admin/buckets/dormant-30d/members/u_ada")
    assert never.status_code == 404
    assert never.json() == {"error": "Contact is not a member of this bucket"}
    member(ada, status="left", entered=NOW - timedelta(days=3), left=NOW - timedelta(days=1))
    again = admin_api.delete("/v1/admin/buckets/dormant-30d/members/u_ada")
    assert again.status_code == 409
    assert again.json() == {"error": "contact is not a member of 'dormant-30d'"}
    unknown = admin_api.delete("/v1/admin/buckets/dormant-30d/members/u_nobody")
    assert unknown.status_code == 404 and unknown.json() == {"error": "Contact not found"}
    assert not AuditLog.objects.exists() and not UserEvent.objects.exists()
