"""`ctx.history`: reads of a person's past (not recorded: wrap choices that feed
control flow in `ctx.once`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Max

if TYPE_CHECKING:
    from journeys.engine.execution import Execution


@dataclass(frozen=True)
class EventCount:
    found: bool
    count: int


@dataclass(frozen=True)
class JourneyHistory:
    completed: bool
    last_completed_at: datetime | None
    entry_count: int


@dataclass(frozen=True)
class EmailHistory:
    sent: bool
    last_sent_at: datetime | None
    count: int


class History:
    def __init__(self, ctx: Execution) -> None:
        self._ctx = ctx

    def _events(self, user_id: str | None, event: str | None, within: timedelta | None) -> Any:
        from tracking.models import UserEvent

        ctx = self._ctx
        if user_id in (None, ctx.run.user_key) and ctx.run.contact_id:
            rows = UserEvent.objects.filter(contact_id=ctx.run.contact_id)
        else:
            rows = UserEvent.objects.filter(user_key=user_id or ctx.run.user_key)
        if event:
            rows = rows.filter(event=event)
        if within is not None:
            rows = rows.filter(occurred_at__gte=ctx.clock - within)
        return rows

    def has_event(
        self, *, event: str, user_id: str | None = None, within: timedelta | None = None
    ) -> EventCount:
        count = self._events(user_id, event, within).count()
        return EventCount(found=count > 0, count=count)

    def events(
        self,
        *,
        user_id: str | None = None,
        event: str | None = None,
        limit: int = 50,
        within: timedelta | None = None,
    ) -> list[dict[str, Any]]:
        rows = self._events(user_id, event, within).order_by("-occurred_at", "-id")[:limit]
        return [
            {"event": r.event, "properties": r.properties, "occurred_at": r.occurred_at}
            for r in rows
        ]

    def journey(self, *, journey_id: str, user_id: str | None = None) -> JourneyHistory:
        from journeys.models import JourneyRun

        ctx = self._ctx
        runs = JourneyRun.objects.filter(journey_id=journey_id)
        if user_id in (None, ctx.run.user_key) and ctx.run.contact_id:
            runs = runs.filter(contact_id=ctx.run.contact_id)
        else:
            runs = runs.filter(user_key=user_id or ctx.run.user_key)
        summary = runs.aggregate(last=Max("completed_at"))
        return JourneyHistory(
            completed=summary["last"] is not None,
            last_completed_at=summary["last"],
            entry_count=runs.count(),
        )

    def email(self, *, template: str, email: str | None = None) -> EmailHistory:
        from tracking.models import EmailSend

        address = email or self._ctx.user().email
        sends = EmailSend.objects.filter(
            to_email=address, template_key=template, sent_at__isnull=False
        )
        summary = sends.aggregate(last=Max("sent_at"))
        count = sends.count()
        return EmailHistory(sent=count > 0, last_sent_at=summary["last"], count=count)
