"""Bucket membership: evaluation, transitions and the events they ingest.

Every path that can change a membership ends in `memberships_evaluate`: ingest
(an event whose name, or a contact property write whose key, the criteria read),
a contact upsert, the reconcile sweep (a window closed, a max_dwell box ended),
and the backfill. It is set-based: for any number of (bucket, contact) pairs it
reads once (contacts with their event aggregates, the memberships, the checks),
decides in memory, writes with one statement per kind, and ingests all the
transitions with one nested `engine_events_ingest` call, in the caller's
transaction.

A transition is ingested as `bucket:entered:<id>` / `bucket:left:<id>` (source
`bucket`), carrying the membership snapshot, so journeys trigger and exit on it
as on any event. Bucket events are never criteria (a definition error), so the
nested ingest finds no bucket to evaluate and the recursion stops there.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from buckets import criteria
from buckets.definition import Bucket
from buckets.evaluation_sql import (
    check_rows,
    checks_upsert,
    contact_keys,
    membership_rows,
    memberships_insert,
)
from buckets.models import BucketCheck, BucketMembership, BucketState
from buckets.registry import registry
from buckets.selectors import Person, parse_instant, people_facts
from contacts.dispatch import PropertiesWritten
from contacts.models import Contact
from hogsend_site.errors import Conflict, NotFound
from hogsend_site.services import audit_log_record

if TYPE_CHECKING:
    from tracking.ingest import Ingested

logger = logging.getLogger(__name__)

Source = BucketMembership.Source
Status = BucketMembership.Status
LeaveReason = BucketMembership.LeaveReason

# Contacts evaluated per backfill page.
BACKFILL_PAGE = 500


class UnknownBucket(NotFound):
    def __init__(self, bucket_id: str) -> None:
        super().__init__(f"unknown bucket {bucket_id!r}")


@dataclass
class Transition:
    """One join or leave; `emitted` says whether its event was ingested."""

    bucket: Bucket
    membership: BucketMembership
    kind: str  # entered | left
    user_key: str
    emitted: bool

    @property
    def event_name(self) -> str:
        return self.bucket.entered_event if self.kind == "entered" else self.bucket.left_event


# --- Entry points ---------------------------------------------------------------------


def buckets_on_ingest(stored: list[Ingested], now: datetime) -> None:
    """The ingest hook: re-evaluate the buckets each stored event can affect (its
    name, or the contact property keys its resolve changed) for its contact.

    A key sent again with the value it had changes no answer: its pairs are only
    rechecked (see `memberships_evaluate`)."""
    if not len(registry):
        return
    pairs: dict[str, set[Any]] = defaultdict(set)
    resent: dict[str, set[Any]] = defaultdict(set)
    written: set[tuple[str, Any]] = set()
    fresh: dict[Any, dict[str, list[datetime]]] = {}
    gone: set[Any] = set()
    for item in stored:
        event = item.event
        contact_id = event.contact_id if event is not None else None
        if contact_id is None:
            continue
        buckets = registry.by_event.get(event.event)
        if buckets:
            for bucket in buckets:
                pairs[bucket.id].add(contact_id)
            fresh.setdefault(contact_id, defaultdict(list))[event.event].append(
                event.occurred_at)
        if item.contact is None or item.contact.deleted_at is not None:
            gone.add(contact_id)
        elif not item.input.contact_properties and not item.changed_properties:
            continue
        sent = item.input.contact_properties or {}
        changed = sent.keys() if item.changed_properties is None else item.changed_properties
        if contact_id in gone:
            changed = sent.keys() | changed  # whatever it sent: a deleted person leaves
        for key in changed:
            for bucket in registry.by_property.get(key, ()):
                pairs[bucket.id].add(contact_id)
                written.add((bucket.id, contact_id))
        for key in sent.keys() - changed:
            for bucket in registry.by_property.get(key, ()):
                resent[bucket.id].add(contact_id)
    for contact_id in gone:
        fresh.pop(contact_id, None)  # never settled from its events alone
    recheck = {bucket_id: ids - pairs.get(bucket_id, set())
               for bucket_id, ids in resent.items()}
    if pairs or resent:
        memberships_evaluate(pairs=pairs, now=now, source=Source.EVENT, fresh=fresh,
                             written=written, recheck=recheck)


def buckets_on_properties(writes: list[PropertiesWritten], now: datetime) -> None:
    """The contacts hook (`contact_upsert`): these contacts' properties were written.
    Buckets reading a changed key are evaluated; those reading only keys sent
    again unchanged are rechecked."""
    if not len(registry):
        return
    pairs: dict[str, set[Any]] = defaultdict(set)
    resent: dict[str, set[Any]] = defaultdict(set)
    for write in writes:
        for key in write.changed:
            for bucket in registry.by_property.get(key, ()):
                pairs[bucket.id].add(write.contact_id)
        for key in write.sent - write.changed:
            for bucket in registry.by_property.get(key, ()):
                resent[bucket.id].add(write.contact_id)
    if pairs or resent:
        recheck = {bucket_id: ids - pairs.get(bucket_id, set())
                   for bucket_id, ids in resent.items()}
        memberships_evaluate(pairs=pairs, now=now, source=Source.EVENT, recheck=recheck)


# --- Evaluation -----------------------------------------------------------------------


def memberships_evaluate(
    *, pairs: Mapping[str, Iterable[Any]], now: datetime, source: str,
    emit: bool = True,
    fresh: Mapping[Any, Mapping[str, list[datetime]]] | None = None,
    written: Collection[tuple[str, Any]] = (),
    recheck: Mapping[str, Iterable[Any]] | None = None,
) -> list[Transition]:
    """Bring the memberships of these (bucket id → contact ids) pairs in line with
    the criteria at `now`; return the transitions made.

    Must run inside a transaction (ingest, the contacts API, the sweep and the
    backfill own one). `emit=False` writes the rows without ingesting events
    (a silent backfill). Unknown bucket ids and unknown contacts are skipped.
    `fresh` gives, for live people whose new events brought pairs, those events'
    occurrences by name: a pair they settle without the rest of the history is
    not read further (see `_settled`), unless it is in `written` (a property
    write the bucket reads). `recheck` names pairs whose facts did not change (a
    property sent again with its value): they are evaluated only where the row
    may not hold the answer those facts give (see `_unconfirmed`).

    Inside, a person is their id's `int` (see `_ref`).
    """
    buckets = {bucket_id: bucket for bucket_id in [*pairs, *(recheck or ())]
               if (bucket := registry.get(bucket_id)) is not None}
    ids: dict[int, uuid.UUID] = {}
    wanted = {bucket_id: _refs(contacts, ids) for bucket_id, contacts in pairs.items()
              if bucket_id in buckets and contacts}
    rechecked = {bucket_id: _refs(contacts, ids)
                 for bucket_id, contacts in (recheck or {}).items()
                 if bucket_id in buckets and contacts}
    if not ids:
        return []
    rows, checks = _states([*wanted.items(), *rechecked.items()],
                           {b for b in buckets if buckets[b].time_based}, ids)
    for bucket_id, refs in rechecked.items():
        bucket = buckets[bucket_id]
        stale = {ref for ref in refs if _unconfirmed(
            bucket, rows.get((ref, bucket_id)), checks.get((ref, bucket_id)), now)}
        if stale:
            wanted.setdefault(bucket_id, set()).update(stale)
    plan = _Plan(now=now, source=source)
    if fresh:
        _settle_fresh(wanted, buckets, {_ref(c): occ for c, occ in fresh.items()},
                      {(b, _ref(c)) for b, c in written}, rows, checks, ids, plan)
    wanted = {bucket_id: refs for bucket_id, refs in wanted.items() if refs}
    if wanted:
        needs = set().union(*(criteria.needs(buckets[b].criteria) for b in wanted))
        people = people_facts(contact_ids=[ids[r] for r in set().union(*wanted.values())],
                              needs=needs, now=now,
                              properties=any(buckets[b].property_keys for b in wanted))
        by_ref = {_ref(contact_id): person for contact_id, person in people.items()}
        for bucket_id, refs in wanted.items():
            bucket = buckets[bucket_id]
            for ref in refs:
                person = by_ref.get(ref)
                if person is not None:
                    plan.consider(bucket, person, rows.get((ref, bucket_id)),
                                  checks.get((ref, bucket_id)))
    plan.resolve()
    return plan.flush(emit=emit)


def _ref(contact_id: Any) -> int:
    """A contact id as a plain int, the key an evaluation uses: hashing a UUID runs
    Python code (`UUID.__hash__`), and a batch hashes each id dozens of times."""
    return (contact_id if isinstance(contact_id, uuid.UUID) else uuid.UUID(str(contact_id))).int


def _refs(contact_ids: Iterable[Any], ids: dict[int, uuid.UUID]) -> set[int]:
    """The refs of these contact ids, noting each id in `ids` (ref -> id)."""
    refs = set()
    for contact_id in contact_ids:
        if not isinstance(contact_id, uuid.UUID):
            contact_id = uuid.UUID(str(contact_id))
        ids[contact_id.int] = contact_id
        refs.add(contact_id.int)
    return refs


def _settle_fresh(wanted: dict[str, set[int]], buckets: dict[str, Bucket],
                  fresh: dict[int, Mapping[str, list[datetime]]], written: set[tuple[str, int]],
                  rows: dict[tuple[int, str], _Row], checks: dict[tuple[int, str], datetime],
                  ids: dict[int, uuid.UUID], plan: _Plan) -> None:
    """Take out of `wanted` the pairs the new events settle (see `_settled`),
    scheduling the checks they ask for."""
    now = plan.now
    # Most people of a batch bring the same few events at the same instant:
    # what those settle of a bucket is worked out once per distinct set.
    signatures: dict[int, tuple] = {}
    outcomes: dict[tuple[str, tuple], tuple[criteria.Settled, datetime | None]] = {}
    for bucket_id, refs in wanted.items():
        bucket = buckets[bucket_id]
        for ref in list(refs):
            occurrences = fresh.get(ref)
            if occurrences is None or (written and (bucket_id, ref) in written):
                continue
            signature = signatures.get(id(occurrences))
            if signature is None:
                signature = signatures[id(occurrences)] = tuple(sorted(
                    (name, tuple(times)) for name, times in occurrences.items()))
            outcome = outcomes.get((bucket_id, signature))
            if outcome is None:
                outcome = outcomes[(bucket_id, signature)] = (
                    bucket.compiled.settle(occurrences, now),
                    bucket.compiled.next_change_from(occurrences, now)
                    if bucket.time_based else None)
            key = (ref, bucket_id)
            settled, due = _settled(bucket, outcome[0], rows.get(key), checks.get(key),
                                    outcome[1], now)
            if settled:
                refs.discard(ref)
                if due is not None:
                    plan.schedule[(ids[ref], bucket_id)] = due


def _settled(bucket: Bucket, result: criteria.Settled, row: _Row | None,
             check_due: datetime | None, next_change: datetime | None,
             now: datetime) -> tuple[bool, datetime | None]:
    """Whether new events alone show a pair needs no change, and if so the check to
    schedule (None: the one there is enough).

    `result` is what the occurrences settle of the criteria (`Compiled.settle`),
    `next_change` the first instant they can change the answer at
    (`Compiled.next_change_from`; time-based buckets).
    The answer is known when the new occurrences decide the criteria (an
    `app.active` makes "active within 7 days" true and "dormant" false), or when
    they can only push it one way and the row says it was already there at the
    last evaluation (a member of "3+ reports" stays one with a 4th). The row
    stands for that last answer only when nothing since can have changed it: no
    manual entry (the criteria have not confirmed it), and for a time-based
    bucket a check still ahead (no window has closed since). Anything that
    would change the row (a join, a leave, a release, an ended max_dwell) is
    left to the full evaluation.
    """
    if bucket.time_based and row is None and check_due is None:
        # Perhaps never evaluated (a backfill under way): no check covers the
        # windows of the older history.
        return False, None
    answer = result.value
    if answer is None:
        before = _answer_before(row)
        if before is None or (check_due is not None and check_due <= now):
            return False, None
        if (before and result.falls) or (not before and result.rises):
            return False, None
        answer = before
    if row is not None and row.active and row.max_dwell_at is not None and row.max_dwell_at <= now:
        return False, None
    if _decide(row, answer, now) is not None:
        return False, None
    if not bucket.time_based:
        return True, None
    # The older history's windows are already covered by the check there is (each
    # evaluation leaves one no later than the next change); only the new
    # occurrences' windows can ask for an earlier one.
    if next_change is not None and (check_due is None or check_due > next_change):
        return True, next_change
    return True, None


def _unconfirmed(bucket: Bucket, row: _Row | None, check_due: datetime | None,
                 now: datetime) -> bool:
    """Whether a pair whose facts did not change may still need a new answer: the
    row was put in by hand (the criteria never confirmed it), its max_dwell box
    has ended, or a time-based bucket's check is overdue or missing (a window
    may have closed since, or the pair was perhaps never evaluated). Otherwise
    the last evaluation saw the same facts and its answer stands; a pair with
    no row was then found not to match."""
    if row is not None and row.active and (
            row.source == Source.MANUAL
            or (row.max_dwell_at is not None and row.max_dwell_at <= now)):
        return True
    if bucket.time_based:
        return check_due <= now if check_due is not None else row is None
    return False


def _answer_before(row: _Row | None) -> bool | None:
    """The answer the last evaluation gave, as the row records it (None: unknown)."""
    if row is None or (row.active and row.source == Source.MANUAL):
        return None
    return row.active or row.held_out


class _Row(NamedTuple):
    """What a decision reads of a membership: read for every pair evaluated, so
    plain values (no model instance, no snapshot JSON) and no lock; a tuple,
    the cheapest record to build thousands of times a batch."""

    pk: int
    status: str
    entry_count: int
    max_dwell_at: datetime | None
    held_out: bool
    source: str

    @property
    def active(self) -> bool:
        return self.status == Status.ACTIVE

    @classmethod
    def of(cls, row: BucketMembership) -> _Row:
        return cls(row.pk, row.status, row.entry_count, row.max_dwell_at, row.held_out,
                   row.source)


# Past this many distinct sets of buckets asked of people, one group asks every
# bucket of everyone (a few more rows beat a long OR).
STATE_GROUPS = 12


def _states(pairs: Iterable[tuple[str, Iterable[int]]], timed: Collection[str],
            ids: Mapping[int, uuid.UUID]
            ) -> tuple[dict[tuple[int, str], _Row], dict[tuple[int, str], datetime]]:
    """The membership rows of these (bucket id, refs) pairs, and the due checks of
    those whose bucket is in `timed`, keyed (ref, bucket id): two statements,
    whatever the number of pairs. `ids` maps each ref to its contact id."""
    asked: dict[int, set[str]] = defaultdict(set)
    for bucket_id, refs in pairs:
        for ref in refs:
            asked[ref].add(bucket_id)
    refs = {key: contact_id.int
            for key, contact_id in contact_keys(ids[ref] for ref in asked).items()}
    people: dict[frozenset[str], list[str]] = defaultdict(list)
    for key, ref in refs.items():
        people[frozenset(asked[ref])].append(key)
    if len(people) > STATE_GROUPS:
        people = {frozenset().union(*people): list(refs)}
    rows = {(refs[contact], bucket_id): _Row(pk, status, entry_count,
                                             dwell and parse_instant(dwell), held_out, source)
            for contact, bucket_id, pk, status, entry_count, dwell, held_out, source
            in membership_rows([(sorted(b), k) for b, k in people.items()])}
    checks = {(refs[contact], bucket_id): parse_instant(due) for contact, bucket_id, due
              in check_rows([(sorted(b & timed), k) for b, k in people.items()])}
    return rows, checks


def _rows_for_update(pks: list[int]) -> dict[int, BucketMembership]:
    """The rows about to change, as models, locked on PostgreSQL (SQLite's
    IMMEDIATE transactions already serialise writers): of two concurrent
    evaluations of one person, the second sees the first's result and decides
    again, so a transition is made once."""
    rows = BucketMembership.objects.filter(pk__in=pks).order_by("pk")
    if connection.features.has_select_for_update:
        rows = rows.select_for_update()
    return {row.pk: row for row in rows}


ENTER, LEAVE, MAX_DWELL, RELEASE = "enter", "leave", "max_dwell", "release"


def _decide(row: _Row | None, matches: bool, now: datetime) -> str | None:
    """What to do with one membership, given whether the person matches now."""
    active = row is not None and row.active
    if active and row.max_dwell_at is not None and row.max_dwell_at <= now:
        return MAX_DWELL
    if active:
        return None if matches else LEAVE
    if row is not None and row.held_out:
        # Out by max_dwell or by hand while they keep matching; free once they don't.
        return None if matches else RELEASE
    return ENTER if matches else None


@dataclass
class _Decision:
    bucket: Bucket
    person: Person
    row: _Row | None
    action: str
    matches: bool


class _Plan:
    """The writes one evaluation decides, applied with a few statements."""

    def __init__(self, *, now: datetime, source: str) -> None:
        self.now = now
        self.source = source
        self.decisions: list[_Decision] = []
        self.new: list[BucketMembership] = []
        # Existing rows by the change made to them (written set-based in `flush`).
        self.released: list[BucketMembership] = []
        self.left: list[BucketMembership] = []
        self.reentered: list[BucketMembership] = []
        self.transitions: list[Transition] = []
        self.schedule: dict[tuple[Any, str], datetime] = {}

    def consider(self, bucket: Bucket, person: Person, row: _Row | None,
                 check_due: datetime | None) -> None:
        now = self.now
        matches = not person.deleted and bucket.compiled.matches(person.facts, now)
        action = _decide(row, matches, now)
        if action is not None:
            self.decisions.append(_Decision(bucket, person, row, action, matches))
        if not bucket.time_based or person.deleted:
            return
        due = bucket.compiled.next_change(person.facts, now)
        if action == ENTER and bucket.max_dwell is not None:
            dwell_ends = now + bucket.max_dwell
        elif action is None and row is not None and row.active:
            dwell_ends = row.max_dwell_at
        else:
            dwell_ends = None
        due = min((t for t in (due, dwell_ends) if t is not None), default=None)
        # A check already due earlier stays: it only looks again sooner.
        if due is not None and (check_due is None or check_due > due):
            self.schedule[(person.id, bucket.id)] = due

    def resolve(self) -> None:
        """Apply the decisions to the rows, re-deciding any a concurrent evaluation
        changed since they were read."""
        existing = [d.row.pk for d in self.decisions if d.row is not None]
        locked = _rows_for_update(existing) if existing else {}
        for decision in self.decisions:
            row, action = None, decision.action
            if decision.row is not None:
                row = locked.get(decision.row.pk)
                if row is None:
                    continue
                if _Row.of(row) != decision.row:
                    action = _decide(_Row.of(row), decision.matches, self.now)
            if action is not None:
                self.apply(decision.bucket, decision.person, row, action,
                           matches=decision.matches)

    def apply(self, bucket: Bucket, person: Person, row: BucketMembership | None,
              action: str, *, matches: bool, reason: str = "") -> BucketMembership | None:
        now = self.now
        if action == RELEASE:
            row.held_out, row.updated_at = False, now
            self.released.append(row)
            return row
        if action in (LEAVE, MAX_DWELL):
            row.status, row.left_at, row.source = Status.LEFT, now, self.source
            row.leave_reason = reason or (LeaveReason.MAX_DWELL if action == MAX_DWELL
                                          else LeaveReason.CRITERIA)
            # The time box (or a staff removal) holds out someone who still matches.
            row.held_out = matches and row.leave_reason != LeaveReason.CRITERIA
            row.max_dwell_at, row.updated_at = None, now
            self.left.append(row)
            self.transitions.append(Transition(bucket, row, "left", person.key, True))
            return row
        snapshot = {key: person.facts.properties[key] for key in sorted(bucket.property_keys)
                    if key in person.facts.properties}
        max_dwell_at = now + bucket.max_dwell if bucket.max_dwell else None
        emit = entry_allowed(bucket, row, now)
        if row is None:
            row = BucketMembership(contact_id=person.id, bucket_id=bucket.id,
                                   status=Status.ACTIVE, entered_at=now, entry_count=1,
                                   source=self.source, snapshot=snapshot,
                                   max_dwell_at=max_dwell_at, created_at=now, updated_at=now)
            self.new.append(row)
        else:
            row.status, row.entered_at, row.source = Status.ACTIVE, now, self.source
            row.entry_count += 1
            row.leave_reason, row.snapshot, row.max_dwell_at = "", snapshot, max_dwell_at
            row.held_out, row.updated_at = False, now
            self.reentered.append(row)
        self.transitions.append(Transition(bucket, row, "entered", person.key, emit))
        return row

    def flush(self, *, emit: bool) -> list[Transition]:
        lost = _insert_memberships(self.new, self.source, self.now)
        transitions = [t for t in self.transitions if id(t.membership) not in lost]
        _update_memberships(self, self.now)
        if self.schedule:
            from buckets import due  # the clock's view of checks (imports this module)

            due.checks_scheduled()
            if connection.vendor == "postgresql":
                checks_upsert(self.schedule)
            else:
                BucketCheck.objects.bulk_create(
                    [BucketCheck(contact_id=contact_id, bucket_id=bucket_id, due_at=due)
                     for (contact_id, bucket_id), due in self.schedule.items()],
                    update_conflicts=True, unique_fields=["bucket_id", "contact"],
                    update_fields=["due_at", "claimed_until"])
        for transition in transitions:
            transition.emitted = transition.emitted and emit
        transitions_ingest(transitions=transitions, now=self.now)
        return transitions


def entry_allowed(bucket: Bucket, row: BucketMembership | None, now: datetime) -> bool:
    """Whether a join emits `entered` under the bucket's entry_limit (the row
    advances either way). `once_per_period` counts from the previous leave."""
    if row is None or bucket.entry_limit == "unlimited":
        return True
    if bucket.entry_limit == "once":
        return row.entry_count == 0
    return row.left_at is None or now - row.left_at >= bucket.entry_period


def _update_memberships(plan: _Plan, now: datetime) -> None:
    """Write the changed rows with one UPDATE per kind of change (and per leave
    reason or max_dwell instant: a handful, whatever the number of rows), not a
    per-row CASE for every field; only the entry snapshots differ row by row."""
    rows = BucketMembership.objects
    if plan.released:
        rows.filter(pk__in=[row.pk for row in plan.released]).update(held_out=False,
                                                                     updated_at=now)
    leaves: dict[tuple[str, bool], list[int]] = defaultdict(list)
    for row in plan.left:
        leaves[(row.leave_reason, row.held_out)].append(row.pk)
    for (reason, held_out), pks in leaves.items():
        rows.filter(pk__in=pks).update(status=Status.LEFT, left_at=now, source=plan.source,
                                       leave_reason=reason, held_out=held_out,
                                       max_dwell_at=None, updated_at=now)
    entries: dict[datetime | None, list[int]] = defaultdict(list)
    for row in plan.reentered:
        entries[row.max_dwell_at].append(row.pk)
    for max_dwell_at, pks in entries.items():
        # entry_count was advanced on the locked row: the same +1 in SQL.
        rows.filter(pk__in=pks).update(status=Status.ACTIVE, entered_at=now, source=plan.source,
                                       entry_count=F("entry_count") + 1, leave_reason="",
                                       max_dwell_at=max_dwell_at, held_out=False,
                                       updated_at=now)
    if plan.reentered:
        rows.bulk_update(plan.reentered, ["snapshot"])


def _insert_memberships(rows: list[BucketMembership], source: str, now: datetime) -> set[int]:
    """INSERT the new rows; return the ids (Python `id()`) of rows that lost a race
    to a concurrent evaluation of the same person (that one emits the transition)."""
    if not rows:
        return set()
    if connection.vendor == "postgresql":
        written = memberships_insert(rows, status=Status.ACTIVE, source=source, now=now)
        return {id(row) for row, ok in zip(rows, written, strict=True) if not ok}
    try:
        with transaction.atomic():
            BucketMembership.objects.bulk_create(rows)
        return set()
    except IntegrityError:
        pass
    lost = set()
    for row in rows:
        row.pk = None
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            lost.add(id(row))
    return lost


def transition_properties(transition: Transition, source: str) -> dict[str, Any]:
    """The event's properties: the snapshot's keys, then the transition's own fields
    (bucketId, bucketName, userId, transition, ...), which win on a clash."""
    row, bucket = transition.membership, transition.bucket
    properties: dict[str, Any] = dict(row.snapshot or {})
    properties.update(bucketId=bucket.id, bucketName=bucket.name, userId=transition.user_key,
                      transition=transition.kind, source=source, entryCount=row.entry_count,
                      snapshot=dict(row.snapshot or {}))
    if transition.kind == "left":
        properties["reason"] = row.leave_reason
    return properties


def transitions_ingest(*, transitions: list[Transition], now: datetime) -> None:
    """Ingest the emitted transitions as events, in one call (the caller's transaction).

    Each carries the key `bucket:<id>:<contact>:<entry_count>:<kind>`: one event
    per transition, even if a retry evaluates the same change again.
    """
    from tracking.ingest import EventInput, engine_events_ingest

    items = [
        EventInput(
            name=t.event_name, contact_id=t.membership.contact_id, source="bucket",
            properties=transition_properties(t, t.membership.source), occurred_at=now,
            idempotency_key=(f"bucket:{t.bucket.id}:{t.membership.contact_id}:"
                             f"{t.membership.entry_count}:{t.kind}"))
        for t in transitions if t.emitted
    ]
    if not items:
        return
    for item, result in zip(items, engine_events_ingest(items), strict=True):
        if result.error:
            logger.warning("bucket event %s for contact %s not stored: %s", item.name,
                           item.contact_id, result.error)


# --- Manual changes -------------------------------------------------------------------


def bucket_membership_add(*, bucket_id: str, contact_id: Any, actor: str) -> Transition:
    """A staff member puts a person into a bucket (source `manual`, audited).

    The bucket's entry_limit still decides whether `entered` is emitted. The
    criteria stay in charge: someone who does not match leaves at their next
    evaluation (an event or upsert the criteria read, the sweep, a backfill).
    """
    return _manual(bucket_id=bucket_id, contact_id=contact_id, actor=actor, enter=True)


def bucket_membership_remove(*, bucket_id: str, contact_id: Any, actor: str) -> Transition:
    """A staff member takes a person out of a bucket (leave reason `manual`,
    audited). Someone who still matches is held out until an evaluation finds
    them not matching; after that they may join again."""
    return _manual(bucket_id=bucket_id, contact_id=contact_id, actor=actor, enter=False)


def _manual(*, bucket_id: str, contact_id: Any, actor: str, enter: bool) -> Transition:
    bucket = registry.get(bucket_id)
    if bucket is None:
        raise UnknownBucket(bucket_id)
    try:
        pk = contact_id if isinstance(contact_id, uuid.UUID) else uuid.UUID(str(contact_id))
    except ValueError:
        raise NotFound(f"unknown contact {contact_id}") from None
    now = timezone.now()
    with transaction.atomic():
        person = people_facts(contact_ids=[pk], needs=criteria.needs(bucket.criteria),
                              now=now).get(pk)
        if person is None or person.deleted:
            raise NotFound(f"unknown contact {contact_id}")
        rows = BucketMembership.objects.filter(contact_id=pk, bucket_id=bucket_id)
        if connection.features.has_select_for_update:
            rows = rows.select_for_update()
        row = rows.first()
        active = row is not None and row.status == Status.ACTIVE
        if enter == active:
            raise Conflict(f"contact is {'already' if active else 'not'} a member of "
                           f"{bucket_id!r}")
        plan = _Plan(now=now, source=Source.MANUAL)
        matches = bucket.compiled.matches(person.facts, now)
        row = plan.apply(bucket, person, row, ENTER if enter else LEAVE, matches=matches,
                         reason="" if enter else LeaveReason.MANUAL)
        due = _states([(bucket_id, [pk.int])], {bucket_id}, {pk.int: pk})[1].get(
            (pk.int, bucket_id))
        if row.max_dwell_at is not None and (due is None or due > row.max_dwell_at):
            plan.schedule[(pk, bucket_id)] = row.max_dwell_at
        transition = plan.flush(emit=True)[0]
        audit_log_record(actor=actor, action=f"bucket.member_{'added' if enter else 'removed'}",
                         resource="bucket", resource_id=bucket_id,
                         detail={"contactId": str(pk), "emitted": transition.emitted})
    return transition


# --- Reconcile sweep and backfill -----------------------------------------------------


def bucket_checks_process(*, check_ids: list[Any]) -> int:
    """Evaluate the claimed checks (one page) with source `reconcile`; each
    evaluation schedules the pair's next check. Returns the pairs evaluated."""
    now = timezone.now()
    with transaction.atomic():
        rows = BucketCheck.objects.filter(pk__in=check_ids)
        if connection.features.has_select_for_update_skip_locked:
            # A processor still holding rows of an expired claim keeps them.
            rows = rows.select_for_update(skip_locked=True)
        found = list(rows.values_list("pk", "bucket_id", "contact_id"))
        if not found:
            return 0
        # Done with these; the evaluation writes each pair's next check.
        BucketCheck.objects.filter(pk__in=[pk for pk, _, _ in found]).delete()
        pairs: dict[str, set[Any]] = defaultdict(set)
        for _, bucket_id, contact_id in found:
            pairs[bucket_id].add(contact_id)
        memberships_evaluate(pairs=pairs, now=now, source=Source.RECONCILE)
    return len(found)


def bucket_states_sync(*, now: datetime) -> bool:
    """Line the state rows up with the registry: a new bucket or a changed
    definition starts a backfill; a bucket no longer defined (or not enabled)
    forgets its hash, so it is backfilled again when it comes back (its checks
    are dropped meanwhile). Returns whether any backfill is pending."""
    states = dict(BucketState.objects.values_list("bucket_id", "criteria_hash"))
    fresh = [BucketState(bucket_id=b.id, criteria_hash=b.criteria_hash, due_at=now,
                         backfill_started_at=now) for b in registry if b.id not in states]
    if fresh:
        BucketState.objects.bulk_create(fresh, ignore_conflicts=True)
    for bucket in registry:
        if bucket.id in states and states[bucket.id] != bucket.criteria_hash:
            BucketState.objects.filter(pk=bucket.id).exclude(
                criteria_hash=bucket.criteria_hash).update(
                criteria_hash=bucket.criteria_hash, cursor=None, due_at=now, claimed_until=None,
                backfill_started_at=now, backfill_finished_at=None, backfill_seen=0)
            logger.info("bucket %s: definition changed; backfilling", bucket.id)
    gone = [bucket_id for bucket_id, digest in states.items()
            if bucket_id not in registry and digest]
    if gone:
        BucketState.objects.filter(pk__in=gone).update(criteria_hash="", cursor=None, due_at=None)
    return BucketState.objects.filter(due_at__isnull=False).exists()


def bucket_backfill_page(*, bucket_id: str) -> int:
    """Evaluate the next page of contacts (id order) for a bucket being
    backfilled, silently unless the bucket says `backfill_emits` (source
    `backfill`); on the last page mark the backfill done. Returns contacts seen."""
    now = timezone.now()
    with transaction.atomic():
        state = BucketState.objects.select_for_update().filter(
            pk=bucket_id, due_at__isnull=False).first()
        if state is None:
            return 0
        bucket = registry.get(bucket_id)
        if bucket is None or bucket.criteria_hash != state.criteria_hash:
            # Defined differently in this process (a deploy under way): the
            # sync of the new code owns this backfill; let the claim expire.
            return 0
        page = Contact.objects.order_by("pk")
        if state.cursor is not None:
            page = page.filter(pk__gt=state.cursor)
        ids = list(page.values_list("pk", flat=True)[:BACKFILL_PAGE])
        if ids:
            memberships_evaluate(pairs={bucket_id: ids}, now=now, source=Source.BACKFILL,
                                 emit=bucket.backfill_emits)
        state.backfill_seen += len(ids)
        state.claimed_until = None
        if len(ids) < BACKFILL_PAGE:
            state.cursor, state.due_at = None, None
            state.backfilled_hash, state.backfill_finished_at = state.criteria_hash, now
            logger.info("bucket %s: backfill done (%d contacts)", bucket_id,
                        state.backfill_seen)
        else:
            state.cursor, state.due_at = ids[-1], now
        state.save()
    return len(ids)


def bucket_backfill_restart(*, bucket_id: str) -> None:
    """Start the bucket's backfill again from the first contact (an operator's
    `buckets_backfill --restart`)."""
    if bucket_id not in registry:
        raise UnknownBucket(bucket_id)
    now = timezone.now()
    bucket = registry.get(bucket_id)
    BucketState.objects.update_or_create(
        bucket_id=bucket_id,
        defaults={"criteria_hash": bucket.criteria_hash, "cursor": None, "due_at": now,
                  "claimed_until": None, "backfill_started_at": now,
                  "backfill_finished_at": None, "backfill_seen": 0})
