"""Site-wide writes: recurring schedules and the audit log."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from croniter import croniter
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django_q.models import Schedule

from hogsend_site.errors import HogsendError
from hogsend_site.models import AuditLog

# Marks the rows sync_schedules owns; anything else in the table is left alone.
SCHEDULE_PREFIX = "hogsend:"
_MAX_NAME = 100 - len(SCHEDULE_PREFIX)  # Schedule.name is a varchar(100)


@dataclass
class ScheduleSyncResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def _validated(declared: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Check every entry before any row is written (all or nothing)."""
    entries: dict[str, dict[str, Any]] = {}
    for entry in declared:
        name, func, cron = entry.get("name"), entry.get("func"), entry.get("cron")
        if not name or not isinstance(name, str) or len(name) > _MAX_NAME:
            raise HogsendError(f"schedule {entry!r}: name must be 1-{_MAX_NAME} characters")
        if name in entries:
            raise HogsendError(f"schedule {name!r} is declared twice")
        if not cron or not croniter.is_valid(cron):
            raise HogsendError(f"schedule {name!r}: invalid cron expression {cron!r}")
        try:
            import_string(func)
        except (ImportError, TypeError, ValueError) as exc:
            raise HogsendError(f"schedule {name!r}: cannot import func {func!r}") from exc
        entries[name] = {"func": func, "cron": cron, "kwargs": entry.get("kwargs") or {}}
    return entries


def _next_run(cron: str, now: datetime) -> datetime:
    # The first run is the next cron instant, not "now": a deploy must not fire
    # every weekly job on the spot.
    return croniter(cron, now).get_next(datetime)


def schedules_sync(*, declared: list[dict[str, Any]]) -> ScheduleSyncResult:
    """Upsert django-q2 `Schedule` rows by name from `declared`; delete the
    `hogsend:` rows no longer declared. Idempotent."""
    entries = _validated(declared)
    now = timezone.now()
    result = ScheduleSyncResult()
    with transaction.atomic():
        existing: dict[str, Schedule] = {}
        for row in Schedule.objects.filter(name__startswith=SCHEDULE_PREFIX).order_by("pk"):
            if row.name in existing:
                row.delete()  # a stray duplicate of a managed name
            else:
                existing[row.name] = row
        for name, entry in entries.items():
            row = existing.pop(SCHEDULE_PREFIX + name, None)
            _upsert(row, SCHEDULE_PREFIX + name, entry, now, result)
        for name, row in existing.items():
            row.delete()
            result.deleted.append(name.removeprefix(SCHEDULE_PREFIX))
    return result


def _upsert(row: Schedule | None, full_name: str, entry: dict[str, Any], now: datetime,
            result: ScheduleSyncResult) -> None:
    name = full_name.removeprefix(SCHEDULE_PREFIX)
    kwargs = repr(entry["kwargs"]) if entry["kwargs"] else None
    if row is None:
        Schedule.objects.create(
            name=full_name, func=entry["func"], kwargs=kwargs, schedule_type=Schedule.CRON,
            cron=entry["cron"], repeats=-1, next_run=_next_run(entry["cron"], now),
        )
        result.created.append(name)
        return
    wanted = {"func": entry["func"], "kwargs": kwargs, "schedule_type": Schedule.CRON,
              "cron": entry["cron"], "repeats": -1}
    changed = {k: v for k, v in wanted.items() if getattr(row, k) != v}
    if not changed:
        result.unchanged.append(name)
        return
    if "cron" in changed or "schedule_type" in changed:
        changed["next_run"] = _next_run(entry["cron"], now)
    Schedule.objects.filter(pk=row.pk).update(**changed)
    result.updated.append(name)


# --- Audit log ---------------------------------------------------------------------

# A detail larger than this (serialised) keeps only its top-level keys.
AUDIT_DETAIL_MAX_CHARS = 8000


def audit_log_record(
    *, actor: str, action: str, resource: str, resource_id: str = "",
    detail: dict[str, Any] | None = None, ip: str = "",
) -> AuditLog:
    """Append one audit row (admin API writes, staff actions). Never updates a row."""
    detail = dict(detail or {})
    if len(json.dumps(detail, default=str)) > AUDIT_DETAIL_MAX_CHARS:
        detail = {"truncated": True, "keys": sorted(map(str, detail))}
    return AuditLog.objects.create(
        actor=actor[:255], action=action[:120], resource=resource[:60],
        resource_id=str(resource_id)[:255], detail=json.loads(json.dumps(detail, default=str)),
        ip=ip[:64],
    )
