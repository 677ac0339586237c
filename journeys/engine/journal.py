"""A run's step journal: what the engine records, and when each record is written.

Every durable call has a key (its label, or a default from its kind and
arguments such as `wait-event:<event>`, plus `#<n>` for the n-th such call in
one execution, so a loop of unlabelled calls replays the same way). A replay
finds the record under its key and re-executes nothing.

Records are written at one of two moments, and the names say which:

- `write_now` / `memo_now`: an INSERT at once, first writer wins (a value two
  racing executions must agree on: `ctx.once`, a variant arm, a throttle count);
- `write_at_park` / `memo_at_park`: kept in `unwritten` and written by the runner
  with the run's park or end, before the run row moves on (a completed sleep or
  wait, the timezone, a guard verdict, a send's result).

The stored keys and kinds (`__tz__`, `__send__:...`, `guard:is-subscribed#1`, ...)
are read back by runs parked long ago: they never change.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from journeys.engine.errors import DuplicateLabel, JourneyChanged
from journeys.models import StepRecord


class Journal:
    def __init__(
        self,
        run_id: Any,
        journey_id: str,
        steps: dict[str, StepRecord],
        unwritten: list[StepRecord],
    ) -> None:
        self.run_id, self.journey_id = run_id, journey_id
        self.steps = steps
        # Shared by the executions of one batch's passes; the runner writes and clears it.
        self.unwritten = unwritten
        self._labels: set[str] = set()
        self._side_effect_keys: set[str] = set()
        self._counts: Counter[str] = Counter()

    # --- keys ---------------------------------------------------------------------
    def key(self, default: str, label: str | None) -> str:
        """The key of a durable call; explicit labels must be unique per execution."""
        if label is not None:
            if not isinstance(label, str) or not label:
                raise TypeError("label must be a non-empty string")
            if label in self._labels:
                raise DuplicateLabel(
                    f"site label {label!r} used twice in one run of "
                    f"{self.journey_id!r}; give each call its own label"
                )
            self._labels.add(label)
            return label
        self._counts[default] += 1
        key = f"{default}#{self._counts[default]}"
        self._labels.add(key)
        return key

    def side_effect_key(self, key: str) -> str:
        if key in self._side_effect_keys:
            raise DuplicateLabel(
                f"duplicate idempotency key {key!r} in one run: pass a distinct idempotency_label"
            )
        self._side_effect_keys.add(key)
        return key

    # --- reading --------------------------------------------------------------------
    def get(self, key: str, kind: str) -> StepRecord | None:
        """The record under `key`, if any; a record of another kind means the code changed."""
        record = self.steps.get(key)
        if record is not None and record.kind != kind:
            raise JourneyChanged(
                f"journey {self.journey_id!r} changed under a live run: step {key!r} was "
                f"recorded as a {record.kind} but the code now makes it a {kind}"
            )
        return record

    # --- writing ----------------------------------------------------------------------
    def write_at_park(self, key: str, kind: str, value: Any) -> StepRecord:
        """Record a completed step; the runner writes it with the run's park or end."""
        record = StepRecord(run_id=self.run_id, key=key, kind=kind, value=value, done=True,
                            at=timezone.now())
        self.steps[key] = record
        self.unwritten.append(record)
        return record

    def write_now(self, key: str, kind: str, value: Any, *, done: bool = True) -> StepRecord:
        """Insert a record at once; if a concurrent execution wrote the key first, its wins."""
        existing = self.steps.get(key)
        now = timezone.now()
        if existing is not None and existing.pk is not None:
            existing.value, existing.done, existing.at = value, done, now
            existing.save(update_fields=["value", "done", "at"])
            return existing
        record = _insert_or_get(StepRecord(run_id=self.run_id, key=key, kind=kind, value=value,
                                           done=done, at=now))
        self.steps[key] = record
        return record

    def memo_now(self, key: str, compute: Callable[[], Any]) -> Any:
        """`compute()` once per run, written at once; replays (and a racing execution)
        get the first value verbatim."""
        record = self.get(key, "record")
        if record is None:
            record = self.write_now(key, "record", {"v": compute()})
        return record.value["v"]

    def memo_at_park(self, key: str, compute: Callable[[], Any]) -> Any:
        """`compute()` once per run, written with the run's park or end (the engine's
        own decisions: timezone, guard verdicts, send results)."""
        record = self.get(key, "record")
        if record is None:
            record = self.write_at_park(key, "record", {"v": compute()})
        return record.value["v"]


def _insert_or_get(record: StepRecord) -> StepRecord:
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():
                record.save(force_insert=True)
        else:
            record.save(force_insert=True)  # autocommit: a failed INSERT needs no savepoint
    except IntegrityError:
        return StepRecord.objects.get(run_id=record.run_id, key=record.key)
    return record
