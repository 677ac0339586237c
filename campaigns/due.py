"""The clock's view of campaigns: one due-work source on the shared claim/lease
machinery (hogsend_site/due.py), `campaign-chunks`.

Interleaving. The clock claims one batch from every source per pass; this
source's batch is one chunk (CAMPAIGN_CHUNK_SIZE recipients, ~100). So in every
pass a broadcast gets one chunk beside the journeys' batch of due runs: with
`run_due --loop` each is its own task on the queue, which the workers take in
turn, so journey runs due while a 100,000-person broadcast drains wait behind
at most a chunk or two, not behind the broadcast; and when nothing else is due
every worker takes a chunk, so the broadcast goes out at the full send rate.

The code definitions are synced with the database (campaigns_sync) before the
first claim of each process, and again whenever the registry changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import F, Min

from campaigns.models import Campaign, CampaignChunk
from campaigns.registry import registry
from campaigns.services import campaign_chunks_process, campaigns_sync
from hogsend_site.due import DueSource, claim_due

LIVE = (Campaign.Status.SCHEDULED, Campaign.Status.QUEUED, Campaign.Status.SENDING)

_synced_version: int | None = None


def reset() -> None:
    """Forget the sync (tests whose database rows were rolled back)."""
    global _synced_version
    _synced_version = None


def sync_once(now: datetime) -> None:
    global _synced_version
    if _synced_version != registry.version:
        campaigns_sync(now=now)
        _synced_version = registry.version


def _due_chunks() -> Any:
    return CampaignChunk.objects.filter(status=CampaignChunk.Status.PENDING,
                                        campaign__status__in=LIVE)


def claim_chunks(now: datetime, limit: int) -> list[Any]:
    sync_once(now)
    # Every claim counts as an attempt, so a chunk that kills its worker each time
    # (and so never records a failure) still gives up (services.MAX_ATTEMPTS).
    return claim_due(_due_chunks(), due_field="due_at", now=now, limit=limit,
                     extra_update={"attempts": F("attempts") + 1})


def process_chunks(chunk_ids: list[Any]) -> None:
    campaign_chunks_process(chunk_ids=chunk_ids)


def next_chunk() -> datetime | None:
    return _due_chunks().aggregate(at=Min("due_at"))["at"]


CHUNKS = DueSource(name="campaign-chunks", claim=claim_chunks, process=process_chunks,
                   batch_size=1, next_due=next_chunk)
