"""What `/healthz` checks: the database, the broker, a cluster heartbeat, lateness.

Each check answers `(ok, detail)` and never raises. The cluster heartbeat is
django-q2's own (`Stat`, saved by every running cluster every few seconds in
the broker, expiring after 3 s); with the ORM broker it lives in Django's cache,
so it is only visible across processes when that cache is shared (Redis or the
database cache). A missing cluster is unhealthy only when
`HEALTH_REQUIRE_CLUSTER` is set, so the quick start without workers stays green.
Lateness is how far the oldest due wake-up of a live run is behind now; past
`HEALTH_MAX_LATENESS` seconds the clock or the workers are not keeping up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Min
from django.utils import timezone

DEFAULT_MAX_LATENESS = 300


@dataclass
class Check:
    ok: bool
    detail: Any


def _error(exc: BaseException) -> str:
    return f"error: {exc.__class__.__name__}"


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Check(True, "ok")
    except Exception as exc:  # health reports, never raises
        return Check(False, _error(exc))


def check_broker() -> Check:
    try:
        from django_q.brokers import get_broker

        broker = get_broker()
        broker.ping()
        return Check(True, "ok")
    except Exception as exc:
        return Check(False, _error(exc))


def check_cluster() -> Check:
    required = bool(getattr(settings, "HEALTH_REQUIRE_CLUSTER", False))
    try:
        from django_q.brokers import get_broker
        from django_q.status import Stat

        stats = Stat.get_all(broker=get_broker()) or []
    except Exception as exc:
        return Check(not required, _error(exc))
    running = [s for s in stats if str(getattr(s, "status", "")).lower() != "stopped"]
    if not running:
        return Check(not required, "no cluster")
    return Check(True, {"clusters": len(running),
                        "workers": sum(len(getattr(s, "workers", []) or []) for s in running)})


def oldest_due_wake(now: datetime) -> datetime | None:
    """The earliest `wake_at` at or before `now` among live runs (the clock's backlog)."""
    from journeys.models import LIVE_STATUSES, JourneyRun

    due = JourneyRun.objects.filter(status__in=LIVE_STATUSES, wake_at__lte=now)
    return due.aggregate(at=Min("wake_at"))["at"]


def check_lateness(now: datetime | None = None) -> Check:
    now = now or timezone.now()
    limit = float(getattr(settings, "HEALTH_MAX_LATENESS", DEFAULT_MAX_LATENESS))
    try:
        oldest = oldest_due_wake(now)
    except Exception as exc:
        return Check(False, _error(exc))
    lateness = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    return Check(lateness <= limit, {"seconds": round(lateness, 1), "limit": limit})


def health_report() -> tuple[bool, dict[str, Any]]:
    """(healthy?, the JSON body) — every check runs, whatever the others say."""
    database = check_database()
    checks = {"database": database, "broker": check_broker(), "cluster": check_cluster()}
    checks["lateness"] = check_lateness() if database.ok else Check(False, "database down")
    healthy = all(check.ok for check in checks.values())
    body: dict[str, Any] = {"status": "healthy" if healthy else "unhealthy"}
    body.update({name: check.detail for name, check in checks.items()})
    body["failing"] = sorted(name for name, check in checks.items() if not check.ok)
    from tracking import test_mode  # the email layer sits above this module

    body["testMode"] = test_mode.status()
    return healthy, body
