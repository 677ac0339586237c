"""Reads the admin plane reuses: run counts per journey, runs with filters, a
contact's timeline (events, runs and sends interleaved), stranded runs and
answer rates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet

from contacts.models import Contact
from journeys.models import LIVE_STATUSES, JourneyConfig, JourneyRun
from tracking.models import EmailSend, UserEvent

# So that no run waits silently forever: a live run whose deadline (wake_at, or
# wait_deadline when wake_at is lost) passed more than this long ago is
# "stranded": the clock should have woken it within seconds. The admin list and the scheduled check
# (alerts.cron.stranded_runs_check) share it.
STRANDED_AFTER = timedelta(hours=1)


def journey_overrides() -> dict[str, bool]:
    """The admin switch of every journey that has one (journey id -> enabled)."""
    return dict(JourneyConfig.objects.values_list("journey_id", "enabled"))


def journey_run_counts(*, journey_ids: list[str]) -> dict[str, dict[str, int]]:
    """Runs per journey and status (every status present, zero or not), in one
    aggregate query over the (journey_id, status) index."""
    counts = {jid: dict.fromkeys(JourneyRun.Status.values, 0) for jid in journey_ids}
    rows = (JourneyRun.objects.filter(journey_id__in=journey_ids)
            .values_list("journey_id", "status").annotate(n=Count("id")).order_by())
    for journey_id, status, n in rows:
        counts[journey_id][status] = n
    return counts


def journey_run_list(
    *, journey_id: str, status: str = "", user_id: str = ""
) -> QuerySet[JourneyRun]:
    """Runs of one journey, newest first; `user_id` matches the run's key or the
    contact's external id."""
    runs = JourneyRun.objects.filter(journey_id=journey_id)
    if status:
        runs = runs.filter(status=status)
    if user_id:
        runs = runs.filter(Q(user_key=user_id) | Q(contact__external_id=user_id))
    return runs.order_by("-created_at", "-pk")


@dataclass(frozen=True)
class TimelineItem:
    type: str  # "event" | "journey" | "email"
    timestamp: datetime
    row: Any


def _timeline_sources(contact: Contact) -> dict[str, tuple[QuerySet, str]]:
    return {
        "event": (UserEvent.objects.filter(contact=contact), "occurred_at"),
        "journey": (JourneyRun.objects.filter(contact=contact), "created_at"),
        "email": (EmailSend.objects.filter(contact=contact).defer("html", "text"), "created_at"),
    }


def contact_timeline(
    *, contact: Contact, kind: str = "", limit: int = 50, offset: int = 0
) -> tuple[list[TimelineItem], int]:
    """One page of the contact's events (at `occurred_at`), runs (at enrolment) and
    sends (at creation), newest first, and the total across the chosen kinds.

    Each kind contributes at most `offset + limit` rows, so a page costs two
    queries per kind however long the history is.
    """
    sources = _timeline_sources(contact)
    if kind:
        sources = {kind: sources[kind]}
    items: list[TimelineItem] = []
    total = 0
    for name, (rows, field) in sources.items():
        total += rows.count()
        newest = rows.order_by(f"-{field}", "-pk")[: offset + limit]
        items.extend(TimelineItem(name, getattr(row, field), row) for row in newest)
    items.sort(key=lambda item: item.timestamp, reverse=True)
    return items[offset: offset + limit], total


def stranded_q(now: datetime) -> Q:
    """Live runs more than STRANDED_AFTER past their deadline, and failed runs.

    Every branch has an index: run_due_idx (wake_at, partial on live statuses;
    `wake_at IS NULL` too) and run_failed_idx (partial on failed), so the
    scheduled check never scans the runs table.
    """
    cutoff = now - STRANDED_AFTER
    # Three flat branches, so PostgreSQL ORs three index scans (BitmapOr).
    return (Q(status__in=LIVE_STATUSES, wake_at__lt=cutoff)
            | Q(status__in=LIVE_STATUSES, wake_at__isnull=True, wait_deadline__lt=cutoff)
            | Q(status=JourneyRun.Status.FAILED))


def stranded_runs(now: datetime) -> QuerySet[JourneyRun]:
    """The stranded runs (`stranded_q`): the admin's list and the scheduled check."""
    return JourneyRun.objects.filter(stranded_q(now))


def stranded_reason(run: JourneyRun, now: datetime) -> str:
    """Why a run is on the stranded list, in words for support staff."""
    if run.status == JourneyRun.Status.FAILED:
        first_line = (run.error_message or "no error recorded").strip().splitlines()[0]
        return f"failed: {first_line[:200]}"
    deadline = run.wake_at or run.wait_deadline
    if deadline is None:
        return f"{run.status} without a wake time"
    late = _hours(now - deadline)
    # A claim takes the lease and leaves the status: a run never parked is `active`.
    if run.status == JourneyRun.Status.ACTIVE or (run.claimed_until and run.claimed_until > now):
        return f"{run.status} (claimed) {late} past its wake time: a worker died or hangs"
    what = f"waiting for {run.waiting_event}" if run.waiting_event else "sleeping"
    return f"{what}, {late} past its deadline: the clock never woke it"


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def journey_answer_stats(*, journey_ids: list[str], since: datetime | None = None,
                         ) -> dict[str, dict[str, int]]:
    """Per journey: dispatched sends and the confirmed semantic answers to them,
    in one aggregate query (sends since `since`, or all).

    A confirmed answer is a tracked link of the send whose answer was recorded
    (`semantic_emitted_at`): tracking.semantic stamps it when it stores the
    answer event under `sem:<send>:<event>`, first confirmed answer per (send,
    event). The window is served by the sends' created_at index.
    """
    sends = EmailSend.objects.filter(journey_id__in=journey_ids,
                                     status__in=EmailSend.POST_DISPATCH)
    if since is not None:
        sends = sends.filter(created_at__gte=since)
    rows = sends.values("journey_id").annotate(
        sends=Count("id", distinct=True),
        answers=Count("links", filter=Q(links__semantic_emitted_at__isnull=False)),
    ).order_by()
    stats = {jid: {"sends": 0, "answers": 0} for jid in journey_ids}
    for row in rows:
        stats[row["journey_id"]] = {"sends": row["sends"], "answers": row["answers"]}
    return stats
