"""The UPDATEs that compress time for a fault run, and the counts the driver waits on.

PostgreSQL only (the fault runs are). Lease lengths come from the product's own
constants, so "held longer than N seconds" stays right if they change.
"""

from __future__ import annotations

from alerts.handlers import handlers
from alerts.models import HandlerJob
from hogsend_site.due import DEFAULT_LEASE
from journeys.models import LIVE_STATUSES, JourneyRun
from tracking.semantic import LEASE as CLICK_LEASE
from tracking.send_rows import DISPATCH_LEASE


def _seconds(delta) -> int:
    return int(delta.total_seconds())


JOB_LEASE = max((h.timeout for h in handlers.by_name.values()), default=DEFAULT_LEASE)

# Expire leases taken more than %s seconds ago (claimed_until = taken + lease).
LEASES = {
    "runs": f"""UPDATE journeys_journeyrun SET claimed_until = now()
        WHERE status IN ('active', 'waiting') AND claimed_until > now()
          AND claimed_until - interval '{_seconds(DEFAULT_LEASE)} seconds'
              < now() - make_interval(secs => %s)""",
    "clicks": f"""UPDATE tracking_linkclick SET claimed_until = now()
        WHERE outcome = '' AND claimed_until > now()
          AND claimed_until - interval '{_seconds(CLICK_LEASE)} seconds'
              < now() - make_interval(secs => %s)""",
    "handler_jobs": f"""UPDATE alerts_handlerjob SET claimed_until = now()
        WHERE status = 'pending' AND claimed_until > now()
          AND claimed_until - interval '{_seconds(JOB_LEASE)} seconds'
              < now() - make_interval(secs => %s)""",
    "send_dispatch": f"""UPDATE tracking_emailsend SET next_attempt_at = now()
        WHERE status = 'queued' AND next_attempt_at > now()
          AND next_attempt_at - interval '{_seconds(DISPATCH_LEASE)} seconds'
              < now() - make_interval(secs => %s)""",
}

# Retry backoffs run %s times faster (a run parked after a failed send, an
# in-flight send's wait, a handler job's retry).
RUN_BACKOFF = """UPDATE journeys_journeyrun SET wake_at = now()
    WHERE status = 'waiting' AND waiting_event = '' AND wait_deadline IS NULL
      AND wake_at > now() AND now() - updated_at >= (wake_at - updated_at) / %s"""
JOB_BACKOFF = """UPDATE alerts_handlerjob SET due_at = now()
    WHERE status = 'pending' AND attempts > 0 AND claimed_until IS NULL
      AND due_at > now() AND now() - updated_at >= (due_at - updated_at) / %s"""

# The scenario's clock jumps.
MORNING = """UPDATE journeys_journeyrun SET wake_at = now(), wait_deadline = now()
    WHERE status = 'waiting' AND current_step = 'next-morning'
      AND wait_deadline IS NOT NULL AND wake_at > now()"""
CONFIRM = """UPDATE tracking_linkclick SET confirm_at = now()
    WHERE outcome = '' AND confirm_at > now()"""
GRACE = """UPDATE alerts_handlerjob SET due_at = now()
    WHERE status = 'pending' AND attempts = 0 AND due_at > now()"""
TIMEOUT = """UPDATE journeys_journeyrun SET wake_at = now(), wait_deadline = now()
    WHERE status = 'waiting' AND current_step = 'await-answer'
      AND wait_deadline > now() AND user_key = ANY(%s)"""


def count_runs(*, status: str, step: str) -> int:
    return JourneyRun.objects.filter(status=status, current_step=step).count()


def count_live(users: list[str]) -> int:
    return JourneyRun.objects.filter(status__in=LIVE_STATUSES, user_key__in=users).count()


def jobs_pending() -> int:
    return HandlerJob.objects.filter(status=HandlerJob.Status.PENDING).count()
