"""The run context `ctx`: what a journey function calls, and nothing else.

Each method forwards to the layer that does the work (journeys.engine.waits,
.sends, .primitives) with this execution's state (journeys.engine.execution),
which authors never touch. Every durable call is journaled under a key
(journeys.engine.journal): a replay returns the recorded result and
re-executes nothing; a call that must wait raises `Suspend` and the runner
parks the run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from journeys.engine import conditions, primitives, sends, waits
from journeys.engine.deprecation import warn_once
from journeys.engine.errors import DuplicateLabel, ExitRequested, JourneyChanged
from journeys.engine.execution import Execution, User
from journeys.engine.history import History
from journeys.engine.waits import SleepResult, WaitResult
from journeys.engine.when import When

__all__ = ["DuplicateLabel", "Guard", "JourneyChanged", "RunContext", "SleepResult", "User",
           "WaitResult"]


class Guard:
    def __init__(self, execution: Execution) -> None:
        self._x = execution

    def is_subscribed(self) -> bool:
        """False when any preference row of the contact is globally unsubscribed.

        Journaled per call site: a replay takes the path the run took when it
        first passed here, so an unsubscribe during a later wait cannot make
        the run end before the branch after that wait (re-check after long
        waits with a second call: it is a new site, read live)."""
        from contacts.preferences import contact_unsubscribed

        run = self._x.run

        def read() -> bool:
            return not contact_unsubscribed(contact=run.contact, email=run.user_email or None)

        journal = self._x.journal
        return bool(journal.memo_at_park(journal.key("guard:is-subscribed", None), read))


class RunContext:
    def __init__(self, execution: Execution) -> None:
        self._x = execution
        self.guard = Guard(execution)
        self.history = History(execution)

    def user(self) -> User:
        return self._x.user()

    def now(self) -> datetime:
        return self._x.clock

    @property
    def when(self) -> When:
        return When(now=self._x.clock, tz_name=self._x.timezone_name())

    def sleep(self, duration: timedelta, *, label: str | None = None) -> SleepResult:
        return waits.sleep(self._x, duration, label)

    def sleep_until(self, when: datetime | str, *, label: str | None = None) -> SleepResult:
        return waits.sleep_until(self._x, when, label)

    def wait_for_event(
        self,
        event: str,
        *,
        timeout: timedelta,
        label: str | None = None,
        lookback: timedelta | None = None,
        where: conditions.WhereSpec = None,
    ) -> WaitResult:
        return waits.wait_for_event(self._x, event=event, timeout=timeout, label=label,
                                    lookback=lookback, where=where)

    def send(
        self,
        template: str,
        *,
        subject: str | None = None,
        props: dict[str, Any] | None = None,
        idempotency_label: str | None = None,
    ) -> Any:
        """Send a template to this run's person, exactly once per run and site.

        The recipient, contact, run and journey name come from the run, and the
        journal key is `journeySend:<run>:<site>:<template>`. A person without an
        address is a recorded skip (status `skipped`, reason `no_address`).
        Returns the mailer's `SendResult`.
        """
        return sends.send(self._x, template, subject=subject, props=props,
                          idempotency_label=idempotency_label)

    def trigger(
        self,
        event: str,
        properties: dict[str, Any] | None = None,
        *,
        user_id: str | None = None,
        idempotency_label: str | None = None,
    ) -> bool:
        """Ingest `event` for this run's person (`user_id`: someone else's) through the
        full pipeline, exactly once per run and site."""
        if user_id is not None and user_id == self._x.run.user_key:
            warn_once(
                f"ctx.trigger({event!r}, ..., user_id=<this run's person>) is deprecated: "
                f"drop user_id=, the run's person is the default",
                depth=1,
            )
        return primitives.trigger(self._x, event, properties, user_id=user_id,
                                  idempotency_label=idempotency_label)

    def checkpoint(self, label: str) -> None:
        if not isinstance(label, str) or not label:
            raise TypeError("checkpoint() needs a label")
        self._x.label = label
        if self._x.run.current_step != label:
            self._x.log("checkpoint", label)

    def exit(self, reason: str = "") -> None:
        """End the run here, as exited; the runner writes the exit."""
        raise ExitRequested(reason or "ctx.exit")

    def variant(self, key: str, arms: list[str]) -> str:
        return primitives.variant(self._x, key, arms)

    def digest(
        self,
        *,
        window: timedelta,
        event: str | None = None,
        where: conditions.WhereSpec = None,
        max_events: int = primitives.DIGEST_DEFAULT_MAX,
        lookback: timedelta | None = None,
        label: str | None = None,
    ) -> primitives.DigestResult:
        return primitives.digest(
            self._x, window=window, event=event, where=where, max_events=max_events,
            lookback=primitives.DIGEST_DEFAULT_LOOKBACK if lookback is None else lookback,
            label=label,
        )

    def throttle(
        self,
        *,
        limit: int,
        window: timedelta,
        category: str | None = None,
        label: str | None = None,
    ) -> primitives.ThrottleResult:
        return primitives.throttle(self._x, limit=limit, window=window, category=category,
                                   label=label)

    def events_of(self, event: str) -> Any:
        """This person's stored events of one name (contact-scoped when known)."""
        return primitives.events_of(self._x, event)

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        """A durable set-once memo: `compute` runs at most once per run; first writer wins."""
        if not isinstance(key, str) or not key:
            raise TypeError("once() needs a non-empty key")
        return self._x.journal.memo_now(f"once:{key}", compute)

    def ensure_live(self) -> None:
        """Stop here if the run was exited meanwhile (before a side effect of your own)."""
        self._x.ensure_live()
