"""A batch of runs executed in passes, so its I/O is done once for all of them.

The runner replays each run of a claimed batch from the top, as ever. Where a
run first reaches a send, or a wait that needs the database, it does not do
that I/O alone: it hands a request to the batch and stops (`Deferred`). When
every run of the pass has stopped, the batch does each kind of I/O for all of
them at once, and the runs that deferred execute again, replaying up to where
they stopped and finding their answer:

- sends: one status read (an exited run sends nothing), one transaction for
  every row and its links, one provider connection, one UPDATE marking the
  accepted rows `sent` (tracking.mailer.emails_dispatch);
- waits: one scan of the events all of them wait for;
- parks: every run's journal (one row per run: journeys.engine.journal) and
  parked row in one transaction, at the end, with one more scan for the waits
  they park on, under the rows' locks (an event that landed since the first
  scan makes its run due at once).

A run whose journey keeps reaching new sends or waits defers once per pass; after
`MAX_PASSES` the rest of the batch executes without deferring (each run doing
its own I/O, as a batch of one would have before).

The runner makes one `Batch` per claimed batch and hands it to every execution
explicitly (`Execution.batch`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone

from hogsend_site.bulk import bulk_set
from journeys.engine.execution import Execution
from journeys.engine.send_policy import SendsSeen, live_runs, still_wanted
from journeys.engine.waits import WaitAnswer, WaitRequest, scan_many
from journeys.models import LIVE_STATUSES, JourneyRun, StepRecord
from tracking.send_types import PreparedSend

MAX_PASSES = 8


class Outcome(StrEnum):
    """How one execution of a run ended (a `str`, so counts and logs read as before)."""

    COMPLETED = "completed"
    WAITING = "waiting"  # parked until its wake-up or event
    REWOKEN = "rewoken"  # parked, but an awaited event landed meanwhile: due again at once
    EXITED = "exited"
    FAILED = "failed"
    DEFERRED = "deferred"  # handed I/O to its batch; executes again next pass
    PARKING = "parking"  # its park is queued on the batch, written at the end
    BUSY = "busy"  # left claimed: its lease expires and the clock retries it


@dataclass
class Park:
    execution: Execution
    fields: dict[str, Any]


class Batch:
    def __init__(self, seen: SendsSeen) -> None:
        self.deferring = True
        self.seen = seen  # the journey sends `suppress` checks see (journeys.engine.send_policy)
        self._sends: list[tuple[JourneyRun, Any]] = []  # (run, PreparedSend)
        self._send_results: dict[str, Any] = {}
        self._waits: list[WaitRequest] = []
        self._wait_answers: dict[tuple[Any, str], WaitAnswer] = {}
        self._parks: list[Park] = []

    # --- sends -------------------------------------------------------------------
    def send_result(self, key: str) -> Any:
        """The outcome of this key's send (a SendResult or the provider's error), or None."""
        return self._send_results.get(key)

    def add_send(self, run: JourneyRun, prepared: PreparedSend) -> None:
        self._sends.append((run, prepared))
        self.seen.note(prepared.row, written=False)

    # --- waits -------------------------------------------------------------------
    def wait_answer(self, run: JourneyRun, key: str) -> WaitAnswer | None:
        return self._wait_answers.get((run.pk, key))

    def add_wait(self, request: WaitRequest) -> None:
        self._waits.append(request)

    # --- parks -------------------------------------------------------------------
    def add_park(self, execution: Execution, fields: dict[str, Any]) -> None:
        self._parks.append(Park(execution, fields))

    def has_pending(self) -> bool:
        return bool(self._sends or self._waits)

    # --- doing the I/O ---------------------------------------------------------------
    def flush(self) -> set[Any]:
        """Do the deferred sends, then the deferred waits; returns runs found exited."""
        exited = self._flush_sends()
        self._flush_waits(exited)
        return exited

    def _flush_sends(self) -> set[Any]:
        from tracking.mailer import emails_dispatch

        sends, self._sends = self._sends, []
        if not sends:
            return set()
        # Before the side effect, the status (an exit that landed meanwhile stops
        # the run's sends): here for all, and again every few messages while they go out.
        run_ids = {run.pk for run, _ in sends}
        live = live_runs(run_ids)
        todo = [prepared for run, prepared in sends if run.pk in live]
        for run, prepared in sends:
            if run.pk not in live:
                self.seen.forget(prepared.row)
        run_of = {id(prepared): run.pk for run, prepared in sends}
        results = emails_dispatch(todo, still_wanted=still_wanted(run_of, live))
        self.seen.written(prepared.row for prepared in todo)
        for prepared, result in zip(todo, results, strict=True):
            self._send_results[prepared.key] = result
            if isinstance(result, Exception) or result.reason == "run_exited":
                self.seen.forget(prepared.row)  # a failed or dropped send gaps nobody
        return run_ids - live

    def _flush_waits(self, exited: set[Any]) -> None:
        waits = [w for w in self._waits if w.run.pk not in exited]
        self._waits = []
        if not waits:
            return
        # Nothing is written here: the wait goes on the run row with its park,
        # which scans again for the events that landed in between.
        hits = scan_many(waits)
        for w, hit in zip(waits, hits, strict=True):
            self._wait_answers[(w.run.pk, w.key)] = WaitAnswer(w.deadline, hit, w.new)

    def flush_parks(
        self, *, on_completed: Callable[[Execution, datetime], None]
    ) -> dict[Any, Outcome]:
        """Write every parked or finished run and its journal in one transaction.

        The rows are read locked first, each under the lease it was executed
        with: a run exited meanwhile stays exited, and an execution whose lease
        ran out leaves the run to the one that took it. A run woken while it
        executed is parked due at once instead of sleeping through the wake-up:
        its `wake_seq` moved (an ingest found it already waiting for that
        event), or an event it parks waiting for landed since the pass's scan
        (scanned again here, under the locks: an ingest committing later finds
        the parked row, its wake-up UPDATE blocked on these locks until then).
        `on_completed(execution, at)` follows each committed completion.
        Returns each run's outcome.
        """
        parks, self._parks = self._parks, []
        if not parks:
            return {}
        now = timezone.now()
        with transaction.atomic():
            live, overtaken = _lock_leased(parks)
            # An execution whose lease ran out journals nothing: the one that took
            # the run replays the same calls (their side effects are keyed).
            rows = [park.execution.journal.park_row(now) for park in parks
                    if park.execution.run.pk not in overtaken]
            StepRecord.objects.bulk_create([row for row in rows if row], ignore_conflicts=True)
            woken = _landed_since_scan(parks, live)
            outcomes = {park.execution.run.pk: _settle_park(park, live, woken, now)
                        for park in parks}
            bulk_set(JourneyRun, [park.execution.run for park in parks
                                  if outcomes[park.execution.run.pk] != Outcome.EXITED],
                     FINAL_FIELDS)
        for park in parks:
            if outcomes[park.execution.run.pk] == Outcome.COMPLETED:
                on_completed(park.execution, now)
        return outcomes


FINAL_FIELDS = ["status", "wake_at", "current_step", "waiting_event", "wait_deadline",
                "claimed_until", "completed_at", "updated_at", "timezone"]


def _lock_leased(parks: list[Park]) -> tuple[dict[Any, int], set[Any]]:
    """Lock the parks' runs; returns the `wake_seq` of each still live under the
    lease its execution was loaded with, and the live runs whose lease moved."""
    runs = {park.execution.run.pk: park.execution.run for park in parks}
    rows = (JourneyRun.objects.select_for_update()
            .filter(pk__in=list(runs), status__in=LIVE_STATUSES)
            .values_list("pk", "wake_seq", "claimed_until"))
    live, overtaken = {}, set()
    for pk, seq, lease in rows:
        if lease == runs[pk].claimed_until:
            live[pk] = seq
        else:
            overtaken.add(pk)
    return live, overtaken


def _landed_since_scan(parks: list[Park], live: dict[Any, int]) -> set[Any]:
    """The runs parking on a wait whose event has landed since the pass's scan."""
    waits = [park.execution.suspended_wait for park in parks
             if park.execution.suspended_wait is not None and park.execution.run.pk in live]
    if not waits:
        return set()
    return {wait.run.pk for wait, hit in zip(waits, scan_many(waits), strict=True) if hit}


def _settle_park(park: Park, live: dict[Any, int], woken: set[Any], now: datetime) -> Outcome:
    """Apply a park's fields to its run (unless the run exited meanwhile)."""
    run = park.execution.run
    if run.pk not in live:
        return Outcome.EXITED
    fields = {**park.fields, "updated_at": now}
    completing = fields["status"] == JourneyRun.Status.COMPLETED
    outcome = Outcome.COMPLETED if completing else Outcome.WAITING
    if not completing and (live[run.pk] != run.wake_seq or run.pk in woken):
        fields["wake_at"] = now  # woken while it ran: due again at once
        outcome = Outcome.REWOKEN
    for name, value in fields.items():
        setattr(run, name, value)
    return outcome
