"""The buckets app's part of a contact erasure (see contacts/erasure.py): the
membership rows stay (counts and history), their property snapshots go."""

from __future__ import annotations

from buckets.models import BucketMembership
from contacts.erasure import Erasure, eraser


@eraser("buckets")
def erase_buckets(erasure: Erasure) -> dict[str, int]:
    rows = BucketMembership.objects.filter(
        contact_id__in=erasure.contact_ids or [erasure.contact.pk]).exclude(snapshot={})
    return {"bucket_snapshots": rows.update(snapshot={}, updated_at=erasure.now)}
