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
  wait, a guard verdict, a send's result), all of one park in ONE row: kind
  `park2`, key `__park__#<n>` (the run's n-th), value `{key: entry}` where an
  entry is `[v]` for a memo (`{"v": v}`, at the row's time), else
  `[kind, at, value]`, `at` in microseconds from the row's time and `value`
  left out when it is `{}` (a sleep). One row instead of one per record spares
  each record its row header, run id, id and index entries, and the short
  entries most of the bytes of their kinds and times (docs/storage.md).

Runs parked by older code hold one row per record (`__tz__`, `__send__:...`,
`guard:is-subscribed#1`, ...), or park rows of kind `park` whose entries are
`[kind, value, at]` (an ISO time) or `[kind, v]` for a memo; `load_rows` reads every
shape, and the keys and kinds never change, so those runs replay as they were
written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from journeys.engine.errors import DuplicateLabel, JourneyChanged
from journeys.models import StepRecord

PARK_KIND = "park2"
OLD_PARK_KIND = "park"  # entries [kind, value, at as ISO text] or [kind, v]: read only
PARK_KEY = "__park__#"
MEMO_KIND = "record"
MICROSECOND = timedelta(microseconds=1)


class Journal:
    def __init__(
        self,
        run_id: Any,
        journey_id: str,
        steps: dict[str, StepRecord],
        unwritten: list[StepRecord],
        parks: int = 0,
    ) -> None:
        self.run_id, self.journey_id = run_id, journey_id
        self.steps = steps
        # Shared by the executions of one batch's passes; the runner writes and clears it.
        self.unwritten = unwritten
        self.parks = parks  # the highest n of the run's `__park__#<n>` rows
        self._labels: set[str] = set()
        self._side_effect_keys: set[str] = set()
        self._counts: Counter[str] = Counter()

    # --- keys ---------------------------------------------------------------------
    def key(self, default: str, label: str | None) -> str:
        """The key of a durable call; explicit labels must be unique per execution."""
        if label is not None:
            if not isinstance(label, str) or not label:
                raise TypeError("label must be a non-empty string")
            if label.startswith(PARK_KEY):
                raise ValueError(f"labels starting with {PARK_KEY!r} are the journal's own")
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
        own decisions: guard verdicts, send results)."""
        record = self.get(key, MEMO_KIND)
        if record is None:
            record = self.write_at_park(key, MEMO_KIND, {"v": compute()})
        return record.value["v"]

    def park_row(self, at: datetime) -> StepRecord | None:
        """The row holding every record written since the last park (None if there
        are none); the records count as written from here on."""
        if not self.unwritten:
            return None
        self.parks += 1
        entries = {record.key: _entry(record, at) for record in self.unwritten}
        self.unwritten.clear()
        return StepRecord(run_id=self.run_id, key=f"{PARK_KEY}{self.parks}", kind=PARK_KIND,
                          value=entries, done=True, at=at)


def load_rows(rows: Iterable[StepRecord]) -> tuple[dict[str, StepRecord], int]:
    """A run's records by key from its stored rows, of either shape, and the highest
    n of its park rows. A key is written once; should two rows hold it, the
    record written first wins (a lone row, else the earlier park)."""
    steps: dict[str, StepRecord] = {}
    parks: dict[int, StepRecord] = {}
    for row in rows:
        if row.kind in (PARK_KIND, OLD_PARK_KIND):
            parks[int(row.key.removeprefix(PARK_KEY))] = row
        else:
            steps[row.key] = row
    for number in sorted(parks):
        for record in _records(parks[number]):
            steps.setdefault(record.key, record)
    return steps, max(parks, default=0)


def records_of(rows: Iterable[StepRecord]) -> dict[str, StepRecord]:
    """A run's records by key (the console, the test harness and checks read them)."""
    return load_rows(rows)[0]


def _entry(record: StepRecord, at: datetime) -> list[Any]:
    """A record as its park row's entry: `[v]` for a memo, else `[kind, at, value]`
    with its time as microseconds from the row's (a number, not ISO text) and no
    value when it is `{}`."""
    value = record.value
    if record.kind == MEMO_KIND and isinstance(value, dict) and value.keys() == {"v"}:
        return [value["v"]]
    entry = [record.kind, (record.at - at) // MICROSECOND]
    return entry if value == {} else [*entry, value]


def _records(row: StepRecord) -> Iterator[StepRecord]:
    for key, entry in row.value.items():
        kind, value, at = _decoded(row, entry)
        yield StepRecord(run_id=row.run_id, key=key, kind=kind, value=value, done=True, at=at)


def _decoded(row: StepRecord, entry: list[Any]) -> tuple[str, Any, datetime]:
    """(kind, value, at) of one park row's entry, of either row kind."""
    if row.kind == OLD_PARK_KIND:
        kind, value, *at = entry
        return (kind, value, parse_datetime(at[0])) if at else (kind, {"v": value}, row.at)
    if len(entry) == 1:
        return MEMO_KIND, {"v": entry[0]}, row.at
    kind, offset, *value = entry
    return kind, value[0] if value else {}, row.at + offset * MICROSECOND


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
