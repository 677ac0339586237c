"""Journey send policy, the journeys side of the mailer's `blockers=` hook.

A journey's `suppress` gap: only sends of *other* runs of the journey within
the window gap a send (a run's own earlier send must not silently drop its
later one: a promoter answering the NPS survey within the window would lose
the referral email). A batch checks every run's send before any is written
(they are written together), so an earlier run's prepared send must gap a
later run's as it would have had it been written: `SendsSeen` answers from
one prefetch plus the batch's own sends, and a check that hangs on a send not
written yet raises `SendUnsettled`, so the run decides after that send went
out or was dropped, never on a guess. The frequency cap is the mailer's; a
batch only defers a send whose count a not-yet-written send would change.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from journeys.models import LIVE_STATUSES, JourneyRun
from tracking.models import EmailSend
from tracking.rows import uuid_array
from tracking.send_checks import frequency_cap_scope
from tracking.send_types import Blocker, PreparedSend, SendCheck

# Whether a batch's runs still want their messages is re-read before the first
# message after DISPATCH_CHUNK messages, or after DISPATCH_STALE seconds, since the
# last read: an exit committed while a batch sends stops its run's messages from
# the next re-read on. At a wave's rate that is a few dozen milliseconds; with a
# slow provider the seconds bound it. (Reading more often cost a query per few
# messages, a tenth of a wave's CPU.)
DISPATCH_CHUNK = 50
DISPATCH_STALE = 0.5

Seen = tuple[str, str, Any, datetime, Any]  # (journey, address, run, created, send pk)


class SendUnsettled(Exception):
    """This send's suppress gap or frequency cap depends on a send its batch has
    checked but not yet written: it can be decided once that one is settled."""


@dataclass
class SendsSeen:
    """The journey sends a batch sees for `suppress`: prefetched, plus its own."""

    journeys: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    since: datetime | None = None  # the prefetch covers (journeys x emails) from here on
    rows: list[Seen] = field(default_factory=list)
    # Sends checked in the batch but not written yet (written together).
    unwritten: dict[Any, tuple[str, str]] = field(default_factory=dict)  # pk -> (to, category)

    @classmethod
    def load(cls, *, suppress: dict[str, timedelta], emails: Iterable[str]) -> SendsSeen:
        """One query: these journeys' recent sends to these addresses."""
        windows = {journey: w for journey, w in suppress.items() if w and w > timedelta(0)}
        addresses = frozenset(address for address in emails if address)
        if not (windows and addresses):
            return cls(frozenset(windows), addresses)
        since = timezone.now() - max(windows.values())
        rows = list(
            EmailSend.objects.filter(journey_id__in=list(windows), to_email__in=list(addresses),
                                     created_at__gte=since)
            .exclude(status__in=[EmailSend.Status.FAILED, EmailSend.Status.SUPPRESSED])
            .values_list("journey_id", "to_email", "journey_run_id", "created_at", "pk"))
        return cls(frozenset(windows), addresses, since, rows)

    def suppresses(self, journey_id: str, to: str, run_id: Any, since: datetime) -> bool | None:
        """True/False when the batch knows; None when only the database does.
        Raises SendUnsettled when the answer hangs on a send not written yet."""
        for journey, address, run, created, pk in self.rows:
            if journey == journey_id and address == to and run != run_id and created >= since:
                if pk in self.unwritten:
                    raise SendUnsettled(pk)
                return True
        covered = (self.since is not None and since >= self.since
                   and journey_id in self.journeys and to in self.emails)
        return False if covered else None

    def check_settled(self, to: str, category: str | None) -> None:
        """Raise SendUnsettled if a send to `to` (in `category`) is not written yet."""
        for pk, (address, cat) in self.unwritten.items():
            if address == to and category in (None, cat):
                raise SendUnsettled(pk)

    def note(self, row: EmailSend, *, written: bool) -> None:
        if row.journey_id:
            self.rows.append(_seen(row))
        if not written:
            self.unwritten[row.pk] = (row.to_email, row.category)

    def written(self, rows: Iterable[EmailSend]) -> None:
        for row in rows:
            self.unwritten.pop(row.pk, None)

    def forget(self, row: EmailSend) -> None:
        """A send that failed or was dropped gaps nobody."""
        if (key := _seen(row)) in self.rows:
            self.rows.remove(key)
        self.unwritten.pop(row.pk, None)


def _seen(row: EmailSend) -> Seen:
    return (row.journey_id, row.to_email, row.journey_run_id, row.created_at, row.pk)


def journey_blocker(
    seen: SendsSeen,
    suppress: timedelta | None,
    verdict: Callable[[str, Callable[[], bool]], bool],
) -> Blocker:
    """The blocker of a journey's sends: wait for the batch's unwritten sends a
    frequency cap would count, then the `suppress` gap (`verdict` journals it)."""

    def blocker(check: SendCheck) -> str | None:
        counted, by_category = frequency_cap_scope(check.category)
        if counted:
            seen.check_settled(check.to, check.category if by_category else None)
        if not suppress or suppress <= timedelta(0) or not check.key:
            return None
        suppressed = verdict(f"suppress:{check.key}", lambda: _suppressed(seen, check, suppress))
        return "journey_suppressed" if suppressed else None

    return blocker


def _suppressed(seen: SendsSeen, check: SendCheck, suppress: timedelta) -> bool:
    since, origin = check.now - suppress, check.origin
    answer = seen.suppresses(origin.journey_id, check.to, origin.journey_run_id, since)
    if answer is not None:
        return answer
    sends = (EmailSend.objects.filter(to_email=check.to, created_at__gte=since,
                                      journey_id=origin.journey_id)
             .exclude(status__in=[EmailSend.Status.FAILED, EmailSend.Status.SUPPRESSED]))
    if check.orphan_id is not None:
        sends = sends.exclude(pk=check.orphan_id)
    if origin.journey_run_id is not None:
        sends = sends.exclude(journey_run_id=origin.journey_run_id)
    return sends.exists()


def still_wanted(run_of: dict[int, Any], live: set[Any]) -> Callable[..., bool]:
    """The batch's `still_wanted`, made right after `live` was read: re-reads the
    status of the next DISPATCH_CHUNK messages' runs when DISPATCH_CHUNK messages
    have been asked about or DISPATCH_STALE seconds have passed since the last
    read (one query each time); `live` loses the runs found exited."""
    last = {"asked": 0, "at": time.monotonic()}

    def wanted(p: PreparedSend, upcoming: list[PreparedSend]) -> bool:
        if (last["asked"] >= DISPATCH_CHUNK
                or time.monotonic() - last["at"] >= DISPATCH_STALE):
            senders = {run_of[id(c)] for c in upcoming[:DISPATCH_CHUNK]}
            live.difference_update(senders - live_runs(senders))  # exited meanwhile
            last.update(asked=0, at=time.monotonic())
        last["asked"] += 1
        return run_of[id(p)] in live

    return wanted


def live_runs(run_ids: set[Any]) -> set[Any]:
    """Which of these runs are live (not exited, completed or failed)."""
    if connection.vendor != "postgresql":
        return set(JourneyRun.objects.filter(pk__in=run_ids, status__in=LIVE_STATUSES)
                   .values_list("pk", flat=True))
    if not run_ids:
        return set()
    with connection.cursor() as cursor:  # one array parameter, not one per id
        cursor.execute(_LIVE_SQL, [uuid_array(run_ids), list(LIVE_STATUSES)])
        return {row[0] for row in cursor.fetchall()}


_LIVE_SQL = (f"SELECT id FROM {JourneyRun._meta.db_table} "
             "WHERE id = ANY(%s::uuid[]) AND status = ANY(%s::text[])")
