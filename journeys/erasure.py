"""The journeys app's part of a contact erasure (see contacts/erasure.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from contacts.erasure import Erasure, eraser
from hogsend_site.errors import Conflict
from journeys.models import LIVE_STATUSES, JourneyLog, JourneyRun, StepRecord
from journeys.services import journey_run_exit

# Timeline details that say what happened, not to whom (ids, names from the
# journey's code, times, counts): kept, scrubbed. Anything else (an error and
# its trace, a staff member's exit reason) may quote the person and goes.
LOG_DETAIL_KEPT = frozenset({
    "event", "event_id", "email_send_id", "template", "status", "source", "until", "deadline",
    "timed_out", "count", "attempts", "retry_in", "digest", "key",
})


@eraser("journeys")
def erase_journeys(erasure: Erasure) -> dict[str, int]:
    """Exit live runs (nothing more is sent to an erased person), then clear each
    run's address and trigger context, scrub its error, exit reason and step;
    replace its journal values, and keep of its timeline only the details that
    name no one."""
    runs = JourneyRun.objects.filter(erasure.owned())
    exited = 0
    for run_id in runs.filter(status__in=LIVE_STATUSES).values_list("pk", flat=True):
        try:
            journey_run_exit(run_id=run_id, reason="contact erased", source="erasure")
            exited += 1
        except Conflict:
            pass  # finished meanwhile
    run_ids = list(runs.values_list("pk", flat=True))
    for run in JourneyRun.objects.filter(pk__in=run_ids).only(
            "pk", "error_message", "exit_reason", "current_step"):
        texts = {"error_message": run.error_message, "exit_reason": run.exit_reason,
                 "current_step": run.current_step}
        scrubbed = {name: erasure.scrub(text) for name, text in texts.items()}
        if scrubbed != texts:
            JourneyRun.objects.filter(pk=run.pk).update(**scrubbed)
    erased = JourneyRun.objects.filter(pk__in=run_ids).update(
        user_email="", context={}, user_key=erasure.new_key, updated_at=erasure.now)
    steps = StepRecord.objects.filter(run_id__in=run_ids)
    named = Q()
    for needle in erasure.needles:
        named |= Q(key__icontains=needle)
    for pk, key in (steps.filter(named).values_list("pk", "key") if named else ()):
        if erasure.mentions(key):  # a label built from the person's data
            StepRecord.objects.filter(pk=pk).update(key=erasure.pseudonym(key))
    steps_erased = steps.update(value={"erased": True})
    logs = 0
    for log in JourneyLog.objects.filter(run_id__in=run_ids).only(
            "pk", "from_step", "to_step", "detail"):
        detail = _log_detail(erasure, log.detail)
        from_step, to_step = erasure.scrub(log.from_step), erasure.scrub(log.to_step)
        if (detail, from_step, to_step) != (log.detail, log.from_step, log.to_step):
            JourneyLog.objects.filter(pk=log.pk).update(detail=detail, from_step=from_step,
                                                        to_step=to_step)
            logs += 1
    return {"runs": erased, "runs_exited": exited, "steps": steps_erased, "run_logs": logs}


def _log_detail(erasure: Erasure, detail: Any) -> Any:
    if not isinstance(detail, dict) or detail.get("erased"):
        return detail
    kept = {key: erasure.scrub(value) for key, value in detail.items() if key in LOG_DETAIL_KEPT}
    return {**kept, "erased": True}
