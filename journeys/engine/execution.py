"""One execution of a run: the engine's state behind `ctx`, kept off the author's surface.

The waits, sends and primitives take an `Execution`; the `ctx` facade
(journeys.engine.context) holds one and forwards the author's calls to them.
`now()` is the recorded time of the last completed step, so everything
computed from it is the same on every replay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from journeys.engine import conditions
from journeys.engine.errors import RunExited
from journeys.engine.journal import Journal
from journeys.engine.when import is_valid_zone
from journeys.models import LIVE_STATUSES, JourneyRun, StepRecord

if TYPE_CHECKING:
    from journeys.engine.batch import Batch
    from journeys.engine.definition import Journey
    from journeys.engine.waits import WaitRequest

logger = logging.getLogger("journeys.engine")

# Where runs parked by older code recorded their timezone (now `JourneyRun.timezone`).
LEGACY_ZONE_KEY = "__tz__"

# Where a run was parked when its batch loaded it: (current_step, waiting_event, deadline).
Parked = tuple[str, str, datetime | None]


@dataclass(slots=True)
class LogRow:
    """A `JourneyLog` line about to be written: plain values, not a model instance
    (a wave writes a few per run; tracking.rows.rows_insert COPYs them)."""

    run_id: Any
    action: str
    from_step: str
    to_step: str
    detail: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class User:
    """What a journey function receives as `user`."""

    id: str
    email: str
    properties: dict[str, Any]
    state_id: str
    journey_id: str
    journey_name: str
    contact_id: str | None


class Execution:
    def __init__(
        self,
        run: JourneyRun,
        journey: Journey,
        journal: Journal,
        *,
        batch: Batch,
        parked: Parked,
        logs: list[LogRow],
    ) -> None:
        self.run, self.journey, self.journal, self.batch = run, journey, journal, batch
        self.clock: datetime = run.created_at
        # The site of the last wait or checkpoint: sends and triggers without a
        # label are keyed by it.
        self.label: str | None = None
        self.logs = logs
        # A pending sleep or wait lives on the run row, not in the journal.
        self.parked_step, self.parked_event, self.parked_deadline = parked
        # The wait this execution parks on, if any: its park scans for it once more.
        self.suspended_wait: WaitRequest | None = None

    @property
    def deferring(self) -> Batch | None:
        """The batch to hand I/O to, if this pass may still defer."""
        return self.batch if self.batch.deferring else None

    def user(self) -> User:
        run = self.run
        email = (run.contact.email if run.contact and run.contact.email else run.user_email) or ""
        return User(
            id=run.user_key,
            email=email,
            properties=conditions.scalars(run.context),
            state_id=str(run.pk),
            journey_id=run.journey_id,
            journey_name=self.journey.name,
            contact_id=str(run.contact_id) if run.contact_id else None,
        )

    # --- steps ------------------------------------------------------------------------
    def step_done(self, key: str, kind: str, value: Any) -> StepRecord:
        """A sleep, wait or digest completed: journal it (written at park) and move on."""
        record = self.journal.write_at_park(key, kind, value)
        self.replay(record)
        return record

    def replay(self, record: StepRecord) -> None:
        self.clock = record.at
        self.label = record.key

    def parked_at(self, key: str, event: str = "") -> datetime | None:
        """The deadline of this call if the run was parked at it, else None."""
        if self.parked_step == key and self.parked_event == event and self.parked_deadline:
            return self.parked_deadline
        return None

    def log(self, action: str, to_step: str = "", **detail: Any) -> None:
        self.logs.append(LogRow(self.run.pk, action, self.run.current_step, to_step, detail,
                                timezone.now()))
        if to_step:
            self.run.current_step = to_step

    def ensure_live(self) -> None:
        """Re-read the status before a side effect: an exited run does nothing more."""
        status = JourneyRun.objects.filter(pk=self.run.pk).values_list("status", flat=True).first()
        if status not in LIVE_STATUSES:
            raise RunExited(status or "deleted")

    # --- the run's timezone -----------------------------------------------------------
    def timezone_name(self) -> str:
        """The run's timezone, resolved at first use and recorded on the run row with
        its park: a contact whose zone changes mid-sleep must not give a replay a
        new instant, key and second send. Runs parked by older code recorded it in
        the journal, under `__tz__`."""
        run = self.run
        if not run.timezone:
            recorded = self.journal.get(LEGACY_ZONE_KEY, "record")
            run.timezone = recorded.value["v"] if recorded else self._resolve_timezone()
        return run.timezone

    def _resolve_timezone(self) -> str:
        from journeys.posthog import contact_timezone  # PostHog first, cached on the contact

        contact = self.run.contact
        candidates = []
        if contact is not None:
            candidates += [contact_timezone(contact), contact.timezone,
                           (contact.properties or {}).get("timezone")]
        candidates += [getattr(settings, "DEFAULT_TIMEZONE", "UTC"), "UTC"]
        for candidate in candidates:
            if candidate and is_valid_zone(candidate):
                return candidate
            if candidate:
                logger.warning("run %s: skipping invalid timezone %r", self.run.pk, candidate)
        return "UTC"
