"""Reads of campaigns: who an audience is, now, and how to cut it into chunks."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Window
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import RowNumber

from buckets.models import BucketMembership
from campaigns.models import Campaign
from contacts.models import Contact, EmailPreference
from tracking.categories import all_lists


def audience_contacts(*, kind: str, audience_id: str) -> QuerySet[Contact]:
    """The live contacts with an address that an audience holds at this moment.

    A bucket: its active members. A list: everyone for an opt-out list (they are
    subscribed unless they said otherwise), only the people who said yes on a
    preference row of theirs for an opt-in list. Opt-outs, unsubscribes and
    suppression are not filtered here: the sender skips and counts those, so the
    console can say how many were left out and why.
    """
    people = Contact.objects.filter(deleted_at__isnull=True, email__isnull=False).exclude(email="")
    if kind == Campaign.AudienceKind.BUCKET:
        return people.filter(Exists(BucketMembership.objects.filter(
            contact_id=OuterRef("pk"), bucket_id=audience_id,
            status=BucketMembership.Status.ACTIVE)))
    item = all_lists().get(audience_id)
    if item is not None and not item.default_opt_in:
        said_yes = (EmailPreference.objects
                    .filter(Q(contact_id=OuterRef("pk")) | Q(email=OuterRef("email")))
                    .annotate(answer=KeyTransform(audience_id, "categories"))
                    .filter(answer=True))
        people = people.filter(Exists(said_yes))
    return people


def audience_in_range(people: QuerySet[Contact], *, after: uuid.UUID | None,
                      until: uuid.UUID | None) -> QuerySet[Contact]:
    """The audience's contacts in one chunk's id range (after, until], in id order."""
    if after is not None:
        people = people.filter(pk__gt=after)
    if until is not None:
        people = people.filter(pk__lte=until)
    return people.order_by("pk")


def audience_cut(people: QuerySet[Contact], *, size: int) -> tuple[int, list[Any]]:
    """How many people, and the id closing every `size`-th of them in id order
    (two statements however large the audience: a count and a numbered scan)."""
    total = people.count()
    if total <= size:
        return total, []
    numbered = people.annotate(n=Window(RowNumber(), order_by=F("pk").asc()))
    ends = numbered.annotate(m=F("n") % size).filter(m=0).order_by("pk")
    return total, list(ends.values_list("pk", flat=True))


def campaigns_page(*, statuses: list[str] | None, limit: int, offset: int
                   ) -> tuple[list[Campaign], bool]:
    """Campaigns newest first, with whether more follow."""
    rows = Campaign.objects.all()
    if statuses:
        rows = rows.filter(status__in=statuses)
    page = list(rows.order_by("-created_at", "-pk")[offset:offset + limit + 1])
    return page[:limit], len(page) > limit
