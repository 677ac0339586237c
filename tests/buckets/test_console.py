"""The bucket pages of the support console: counts, the daily joined/left chart,
members paged, manual add/remove (audited), and a person's memberships on the
contact page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from buckets.models import BucketMembership
from contacts.models import Contact
from hogsend_site.models import AuditLog
from tracking.models import UserEvent

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 17, 10, 0, tzinfo=UTC)  # a Wednesday
OVERVIEW = reverse("admin:buckets_bucketoverview_changelist")


def detail(bucket_id: str = "dormant-30d") -> str:
    return reverse("admin:buckets_bucketoverview_detail", args=[bucket_id])


@pytest.fixture
def clock_start() -> datetime:
    return NOW


def person(n: int) -> Contact:
    return Contact.objects.create(external_id=f"u_{n}", email=f"p{n}@example.com")


def member(contact: Contact, bucket_id: str = "dormant-30d", *, status: str = "active",
           entered: datetime = NOW, left: datetime | None = None, **fields) -> BucketMembership:
    return BucketMembership.objects.create(contact=contact, bucket_id=bucket_id, status=status,
                                           entered_at=entered, left_at=left,
                                           source=fields.pop("source", "reconcile"), **fields)


def bar(page: str, series: str, label: str) -> str | None:
    found = re.search(rf'data-series="{series}" data-label="{label}" data-value="([^"]+)"', page)
    return found.group(1) if found else None


def test_the_overview_lists_each_bucket_with_members_now_and_joins_and_leaves(
        support_client, clock):
    member(person(1))
    member(person(2), entered=NOW - timedelta(days=2))
    member(person(3), status="left", entered=NOW - timedelta(days=40), left=NOW)

    page = support_client.get(OVERVIEW)

    assert page.status_code == 200
    html = page.content.decode()
    row = html[html.index('data-bucket="dormant-30d"'):]
    row = row[:row.index("</tr>")]
    numbers = re.findall(r'<td class="num[^"]*">(?:<a [^>]+>)?(\d+)', row)
    assert numbers == ["2", "1", "2", "1", "1", "1"]
    assert "Dormant for 30 days" in row and "Retention — win-back and sunset" in row
    assert 'data-bucket="trial-expiring-soon"' in html


def test_the_bucket_page_draws_joined_and_left_per_day_for_30_days(support_client, clock):
    member(person(1))
    member(person(2))
    member(person(3), entered=NOW - timedelta(days=3))
    member(person(4), status="left", entered=NOW - timedelta(days=60),
           left=NOW - timedelta(days=1))
    member(person(5), entered=NOW - timedelta(days=45))  # before the chart's window

    html = support_client.get(detail()).content.decode()

    assert 'class="chart"' in html and 'role="img"' in html
    assert bar(html, "Joined", "17 Jun") == "2"
    assert bar(html, "Joined", "14 Jun") == "1"
    assert bar(html, "Left", "16 Jun") == "1"
    assert bar(html, "Joined", "19 May") == "0"  # the first of the 30 days
    assert bar(html, "Joined", "18 May") is None
    assert "app.active happened ever" in html
    assert "app.active did not happen in the last 30 days" in html


def test_the_chart_and_counts_cost_the_same_queries_for_3_or_300_members(
        support_client, clock):
    for n in range(3):
        member(person(n), entered=NOW - timedelta(days=n))

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert support_client.get(detail()).status_code == 200
        return len(captured)

    few = queries()
    for n in range(3, 300):
        member(person(n), entered=NOW - timedelta(days=n % 40),
               status="left" if n % 3 else "active", left=NOW - timedelta(days=n % 20))
    assert queries() == few


def test_members_are_listed_newest_first_fifty_a_page_and_filtered_by_status(
        support_client, clock):
    for n in range(55):
        member(person(n), entered=NOW - timedelta(minutes=n))
    member(person(99), status="left", entered=NOW - timedelta(days=9),
           left=NOW - timedelta(days=2), leave_reason="max_dwell")

    first = support_client.get(detail()).content.decode()
    assert first.count('class="row1 member-active"') + first.count(
        'class="row2 member-active"') == 50
    assert "u_0" in first and "u_54" not in first and "page 1 of 2" in first
    second = support_client.get(detail(), {"p": 2}).content.decode()
    assert "u_54" in second and "u_0<" not in second
    left = support_client.get(detail(), {"status": "left"}).content.decode()
    assert "u_99" in left and "left (Max Dwell)" in left


def test_an_unknown_bucket_page_is_a_404(support_client):
    assert support_client.get(detail("nope")).status_code == 404


def test_support_staff_add_a_person_by_hand_audited_and_the_journeys_hear_of_it(
        support_client, ada, clock):
    response = support_client.post(reverse("admin:buckets_bucketoverview_add_member",
                                           args=["dormant-30d"]), {"person": "ada@example.com"})

    assert response.status_code == 302
    row = BucketMembership.objects.get()
    assert (row.contact, row.status, row.source) == (ada, "active", "manual")
    assert UserEvent.objects.filter(event="bucket:entered:dormant-30d", contact=ada).exists()
    (audit,) = AuditLog.objects.all()
    assert (audit.actor, audit.action, audit.resource_id) == ("sam", "bucket.member_added",
                                                              "dormant-30d")
    page = support_client.get(detail()).content.decode()
    assert "added to Dormant for 30 days" in page and "u_ada" in page


def test_an_unknown_person_or_a_second_add_changes_nothing_and_says_why(
        support_client, ada, clock):
    url = reverse("admin:buckets_bucketoverview_add_member", args=["dormant-30d"])
    support_client.post(url, {"person": "nobody@example.com"})
    assert not BucketMembership.objects.exists()
    member(ada)
    support_client.post(url, {"person": "u_ada"})
    assert BucketMembership.objects.get().entry_count == 1
    assert not AuditLog.objects.exists() and not UserEvent.objects.exists()
    page = support_client.get(detail()).content.decode()
    assert "no contact &#x27;nobody@example.com&#x27;" in page
    assert "already a member" in page


def test_support_staff_remove_a_member_by_hand_and_it_is_audited(support_client, ada, clock):
    member(ada, entered=NOW - timedelta(days=3))
    response = support_client.post(reverse("admin:buckets_bucketoverview_remove_member",
                                           args=["dormant-30d"]), {"contact": str(ada.pk)})
    assert response.status_code == 302
    row = BucketMembership.objects.get()
    assert (row.status, row.source, row.leave_reason) == ("left", "manual", "manual")
    assert UserEvent.objects.filter(event="bucket:left:dormant-30d", contact=ada).exists()
    assert AuditLog.objects.get().action == "bucket.member_removed"


def test_a_view_only_login_sees_the_pages_without_the_add_and_remove_buttons(
        django_user_model, ada, clock):
    viewer = django_user_model.objects.create_user("vera", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_bucketoverview"),
                                Permission.objects.get(codename="view_contact"))
    client = Client()
    client.force_login(viewer)
    member(ada)
    page = client.get(detail()).content.decode()
    assert "u_ada" in page
    assert 'id="bucket-add-member"' not in page and ">Remove</button>" not in page
    add = client.post(reverse("admin:buckets_bucketoverview_add_member",
                              args=["dormant-30d"]), {"person": "u_ada"})
    assert add.status_code == 403


def test_the_contact_page_lists_the_persons_memberships_with_status_since_and_how(
        support_client, ada, clock):
    member(ada, "trial-expiring-soon", status="left", entered=NOW - timedelta(days=20),
           left=NOW - timedelta(days=6), leave_reason="max_dwell", held_out=True)
    member(ada, entered=NOW - timedelta(days=1), source="manual", entry_count=2)

    html = support_client.get(reverse("admin:contacts_contact_change",
                                      args=[ada.pk])).content.decode()

    section = html[html.index('id="contact-buckets"'):]
    section = section[:section.index("</table>")]
    rows = re.findall(r'<tr class="bucket-membership member-(\w+)" data-bucket="([^"]+)"',
                      section)
    assert rows == [("active", "dormant-30d"), ("left", "trial-expiring-soon")]
    assert "Dormant for 30 days" in section and "Trial expiring soon" in section
    assert "left (Max Dwell) · held out while matching" in section
    assert "Manual" in section
    assert detail() in section


def test_the_contact_page_says_when_the_person_is_in_no_bucket(support_client, ada):
    html = support_client.get(reverse("admin:contacts_contact_change",
                                      args=[ada.pk])).content.decode()
    assert "In no bucket" in html
