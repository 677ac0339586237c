"""Retention: delete what has outlived its use, in small batches.

What goes (each kind has a setting in days; 0 keeps it forever):

- `PRUNE_CLICKS_DAYS`: raw `LinkClick` rows, except confirmations still pending
  (the answers they produced are events and stay); and per-hit events the
  clock gave up ingesting (`PendingEvent` rows without a due time: ingested
  rows are deleted at once, pending ones are never pruned);
- `PRUNE_OPENS_DAYS`: `email.opened` events (one per pixel hit: the bulk of
  the events table). At least 31 days, so no wait (720 h at most) can miss one;
- `PRUNE_LOGS_DAYS`: `JourneyLog` timeline rows of runs that have finished
  (live runs keep their whole timeline);
- `PRUNE_TASKS_DAYS`: django-q2 task results (`Success` / `Failure` rows).

Deletes run in batches of primary keys, each its own short transaction, so a
big first prune never holds locks for long or builds one huge transaction.
`sync_schedules` installs a daily run (`prune_scheduled`, 03:15 UTC) that does
nothing while `PRUNE_SCHEDULE_ENABLED` is off (say, when cron runs
`manage.py prune` instead). A run stopped by the task timeout keeps what it
deleted; the next one carries on.
Sends, contacts, runs, answers and alerts are never pruned here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

DEFAULT_BATCH = 1000
MIN_OPENS_DAYS = 31


@dataclass(frozen=True)
class Rule:
    name: str
    setting: str
    # (cutoff) -> the queryset of rows to delete
    rows: Callable[[datetime], models.QuerySet]
    min_days: int = 1


def _clicks(cutoff: datetime) -> models.QuerySet:
    from tracking.models import LinkClick

    pending = models.Q(outcome="", confirm_at__isnull=False)
    return LinkClick.objects.filter(clicked_at__lt=cutoff).exclude(pending)


def _failed_events(cutoff: datetime) -> models.QuerySet:
    from tracking.models import PendingEvent

    return PendingEvent.objects.filter(due_at__isnull=True, created_at__lt=cutoff)


def _opens(cutoff: datetime) -> models.QuerySet:
    from tracking.models import UserEvent

    return UserEvent.objects.filter(event="email.opened", occurred_at__lt=cutoff)


def _logs(cutoff: datetime) -> models.QuerySet:
    from journeys.models import LIVE_STATUSES, JourneyLog

    return JourneyLog.objects.filter(created_at__lt=cutoff).exclude(
        run__status__in=LIVE_STATUSES)


def _tasks(cutoff: datetime) -> models.QuerySet:
    from django_q.models import Task

    return Task.objects.filter(stopped__lt=cutoff)


RULES = (
    Rule("clicks", "PRUNE_CLICKS_DAYS", _clicks),
    Rule("opens", "PRUNE_OPENS_DAYS", _opens, min_days=MIN_OPENS_DAYS),
    Rule("logs", "PRUNE_LOGS_DAYS", _logs),
    Rule("tasks", "PRUNE_TASKS_DAYS", _tasks),
    Rule("failed-events", "PRUNE_CLICKS_DAYS", _failed_events),
)


def retention_days(rule: Rule) -> int:
    days = int(getattr(settings, rule.setting, 0) or 0)
    if days and days < rule.min_days:
        raise ValueError(f"{rule.setting}={days}: at least {rule.min_days} days")
    return days


def _delete_batched(queryset: models.QuerySet, batch: int) -> int:
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.values_list("pk", flat=True).order_by("pk")[:batch])
            if not ids:
                return deleted
            # Delete by primary key through the model's own manager: cascades
            # (e.g. an event's handler jobs) still apply.
            queryset.model._base_manager.filter(pk__in=ids).delete()
        deleted += len(ids)


def prune(*, dry_run: bool = False, batch: int = DEFAULT_BATCH,
          now: datetime | None = None, only: list[str] | None = None) -> dict[str, Any]:
    """Prune every kind whose retention is set; {name: {"days", "rows"}} (rows
    counted, not deleted, under `dry_run`). Idempotent: a second call finds nothing."""
    now = now or timezone.now()
    report: dict[str, Any] = {}
    for rule in RULES:
        if only and rule.name not in only:
            continue
        days = retention_days(rule)
        if not days:
            report[rule.name] = {"days": 0, "rows": 0}
            continue
        rows = rule.rows(now - timedelta(days=days))
        count = rows.count() if dry_run else _delete_batched(rows, batch)
        report[rule.name] = {"days": days, "rows": count}
    return report


def prune_scheduled() -> dict[str, Any]:
    """The daily django-q2 schedule (hogsend_site/schedules.py): `prune()`, unless
    `PRUNE_SCHEDULE_ENABLED` is off. The path is a stable API (Schedule.func)."""
    if not getattr(settings, "PRUNE_SCHEDULE_ENABLED", True):
        return {"skipped": "PRUNE_SCHEDULE_ENABLED is off"}
    return prune()
