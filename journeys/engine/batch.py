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
- waits: one UPDATE registering every new wait on its run row, committed
  before one scan of the events all of them wait for (the order that lets an
  event landing meanwhile find the run and bump its `wake_seq`);
- parks: every run's journal and parked row in one transaction, at the end.

A run whose journey keeps reaching new sends or waits defers once per pass; after
`MAX_PASSES` the rest of the batch executes without deferring (each run doing
its own I/O, as a batch of one would have before).
"""

from __future__ import annotations

from collections import defaultdict
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hogsend_site.bulk import bulk_set
from journeys.engine import conditions
from journeys.models import LIVE_STATUSES, JourneyRun

MAX_PASSES = 8


class Deferred(BaseException):
    """The run asked for I/O its batch does for all runs at once; it executes again.

    A BaseException, so journey code catching `Exception` around a send (a
    best-effort email) cannot swallow it.
    """


@dataclass
class WaitRequest:
    run: JourneyRun
    key: str
    event: str
    deadline: datetime
    timeout: timedelta
    lookback: timedelta | None
    where: list[conditions.Condition]
    register: bool  # a new wait: record it on the run row before the scan

    @property
    def started(self) -> datetime:
        return self.deadline - self.timeout

    @property
    def since(self) -> datetime:
        return self.started - self.lookback if self.lookback else self.started


@dataclass
class WaitAnswer:
    deadline: datetime
    hit: Any  # a WaitResult, or None when nothing matched yet
    registered: bool


@dataclass
class Park:
    ctx: Any  # RunContext
    fields: dict[str, Any]


class Batch:
    def __init__(self) -> None:
        self.deferring = True
        self._sends: list[tuple[JourneyRun, Any]] = []  # (run, PreparedSend)
        self._send_results: dict[str, Any] = {}
        self._waits: list[WaitRequest] = []
        self._wait_answers: dict[tuple[Any, str], WaitAnswer] = {}
        self._parks: list[Park] = []

    # --- sends -------------------------------------------------------------------
    def send_result(self, key: str) -> Any:
        """The outcome of this key's send (a SendResult or the provider's error), or None."""
        return self._send_results.get(key)

    def add_send(self, run: JourneyRun, prepared: Any) -> None:
        self._sends.append((run, prepared))

    # --- waits -------------------------------------------------------------------
    def wait_answer(self, run: JourneyRun, key: str) -> WaitAnswer | None:
        return self._wait_answers.get((run.pk, key))

    def add_wait(self, request: WaitRequest) -> None:
        self._waits.append(request)

    # --- parks -------------------------------------------------------------------
    def add_park(self, ctx: Any, fields: dict[str, Any]) -> None:
        self._parks.append(Park(ctx, fields))

    def has_pending(self) -> bool:
        return bool(self._sends or self._waits)

    # --- doing the I/O ---------------------------------------------------------------
    def flush(self) -> set[Any]:
        """Do the deferred sends, then the deferred waits; returns runs found exited."""
        exited = self._flush_sends()
        self._flush_waits(exited)
        return exited

    def _flush_sends(self) -> set[Any]:
        from tracking.mailer import emails_dispatch, sends_dropped

        sends, self._sends = self._sends, []
        if not sends:
            return set()
        # Before the side effect, the status (an exit that landed meanwhile stops
        # the run's sends): here for all, and again every few messages while they go out.
        run_ids = {run.pk for run, _ in sends}
        live = _live(run_ids)
        todo = [(run, prepared) for run, prepared in sends if run.pk in live]
        sends_dropped([prepared for run, prepared in sends if run.pk not in live])
        run_of = {id(prepared): run.pk for run, prepared in todo}

        def still_wanted(chunk: list[Any]) -> list[Any]:
            senders = {run_of[id(p)] for p in chunk}
            now_live = _live(senders)
            live.difference_update(senders - now_live)  # exited meanwhile
            return [p for p in chunk if run_of[id(p)] in now_live]

        results = emails_dispatch([prepared for _, prepared in todo], still_wanted=still_wanted)
        for (_, prepared), result in zip(todo, results, strict=True):
            self._send_results[prepared.key] = result
        return run_ids - live

    def _flush_waits(self, exited: set[Any]) -> None:
        waits = [w for w in self._waits if w.run.pk not in exited]
        self._waits = []
        if not waits:
            return
        new = [w for w in waits if w.register]
        for w in new:
            w.run.waiting_event, w.run.current_step, w.run.wait_deadline = (
                w.event, w.key, w.deadline)
        if new:
            # Committed before the scan: an ingest committing from now on finds
            # these runs by (contact, waiting_event) and bumps their wake_seq.
            bulk_set(JourneyRun, [w.run for w in new],
                     ["waiting_event", "current_step", "wait_deadline"])
        hits = scan_many(waits)
        for w, hit in zip(waits, hits, strict=True):
            self._wait_answers[(w.run.pk, w.key)] = WaitAnswer(w.deadline, hit, w.register)

    def flush_parks(self) -> dict[Any, str]:
        """Write every parked or finished run and its journal in one transaction.

        The rows are read locked first: a run whose `wake_seq` moved while it
        executed (an awaited event landed) is parked due at once instead of
        sleeping through the wake-up, and a run exited meanwhile stays exited.
        An ingest's wake-up UPDATE blocked on these locks applies after the
        commit, to the parked rows. Returns each run's outcome.
        """
        from journeys.engine.runner import finish_written
        from journeys.models import StepRecord

        parks, self._parks = self._parks, []
        if not parks:
            return {}
        now = timezone.now()
        outcomes: dict[Any, str] = {}
        with transaction.atomic():
            records = [record for park in parks for record in park.ctx.unwritten]
            StepRecord.objects.bulk_create(records, ignore_conflicts=True)
            for park in parks:
                park.ctx.unwritten.clear()
            live = dict(
                JourneyRun.objects.select_for_update()
                .filter(pk__in=[park.ctx.run.pk for park in parks], status=JourneyRun.Status.ACTIVE)
                .values_list("pk", "wake_seq"))
            rows = []
            for park in parks:
                run = park.ctx.run
                if run.pk not in live:
                    outcomes[run.pk] = "exited"
                    continue
                fields = {**park.fields, "updated_at": now}
                completing = fields["status"] == JourneyRun.Status.COMPLETED
                if not completing and live[run.pk] != run.wake_seq:
                    fields["wake_at"] = now  # woken while it ran: due again at once
                    outcomes[run.pk] = "rewoken"
                else:
                    outcomes[run.pk] = "completed" if completing else "waiting"
                for name, value in fields.items():
                    setattr(run, name, value)
                rows.append(run)
            bulk_set(JourneyRun, rows, FINAL_FIELDS)
        for park in parks:
            if outcomes[park.ctx.run.pk] == "completed":
                finish_written(park.ctx, now)
        return outcomes


FINAL_FIELDS = ["status", "wake_at", "current_step", "waiting_event", "wait_deadline",
                "claimed_until", "completed_at", "updated_at"]


def _live(run_ids: set[Any]) -> set[Any]:
    return set(JourneyRun.objects.filter(pk__in=run_ids, status__in=LIVE_STATUSES)
               .values_list("pk", flat=True))


current_batch: ContextVar[Batch | None] = ContextVar("hogsend_run_batch", default=None)


def deferring() -> Batch | None:
    """The batch to defer I/O to, if the current execution may defer."""
    batch = current_batch.get()
    return batch if batch is not None and batch.deferring else None


def scan_many(waits: list[WaitRequest]) -> list[Any]:
    """One query for every wait's events; each wait picks from its own window."""
    from journeys.engine.waits import pick
    from tracking.models import UserEvent

    by_contact = [w for w in waits if w.run.contact_id]
    by_key = [w for w in waits if not w.run.contact_id]
    who = Q(contact_id__in={w.run.contact_id for w in by_contact}) if by_contact else Q()
    if by_key:
        who |= Q(user_key__in={w.run.user_key for w in by_key})
    rows = (
        UserEvent.objects.filter(who)
        .filter(event__in={w.event for w in waits},
                occurred_at__gte=min(w.since for w in waits),
                occurred_at__lte=max(w.deadline for w in waits))
        .order_by("occurred_at", "id")
        .only("id", "event", "properties", "occurred_at", "contact_id", "user_key")
    )
    grouped: dict[tuple[Any, str], list[Any]] = defaultdict(list)
    for row in rows:  # a run with a contact scans by contact, one without by its key
        grouped[(row.contact_id, row.event)].append(row)
        grouped[(row.user_key, row.event)].append(row)
    hits = []
    for w in waits:
        owner = w.run.contact_id or w.run.user_key
        window = [r for r in grouped[(owner, w.event)]
                  if w.since <= r.occurred_at <= w.deadline]
        hits.append(pick(window, w.where, started=w.started, lookback=w.lookback))
    return hits

