"""The journeys app's part of a contact erasure (see contacts/erasure.py)."""

from __future__ import annotations

from contacts.erasure import Erasure, eraser
from hogsend_site.errors import Conflict
from journeys.models import LIVE_STATUSES, JourneyRun, StepRecord
from journeys.services import journey_run_exit


@eraser("journeys")
def erase_journeys(erasure: Erasure) -> dict[str, int]:
    """Exit live runs (nothing more is sent to an erased person), then clear each
    run's address, trigger context and journal values."""
    runs = JourneyRun.objects.filter(erasure.owned())
    exited = 0
    for run_id in runs.filter(status__in=LIVE_STATUSES).values_list("pk", flat=True):
        try:
            journey_run_exit(run_id=run_id, reason="contact erased", source="erasure")
            exited += 1
        except Conflict:
            pass  # finished meanwhile
    run_ids = list(runs.values_list("pk", flat=True))
    erased = JourneyRun.objects.filter(pk__in=run_ids).update(
        user_email="", context={}, user_key=erasure.new_key, updated_at=erasure.now)
    steps = StepRecord.objects.filter(run_id__in=run_ids).update(value={"erased": True})
    return {"runs": erased, "runs_exited": exited, "steps": steps}
