"""What the alert page leads with: the customer's words, their answer, the ticket, links.

`alert_summary()` reads the alert's contact, run, page email, and the run's
own emails and answers, in a fixed number of queries. The note is the one the
page folded in (the payload), or else the note typed beside the run's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from alerts.models import Alert
from hogsend_site import labels, times
from journeys.story import AnswerFact, run_answers, run_customer_zone

# The answer event each shipped alert kind stands for, to read a payload's answer.
KIND_SOURCE_EVENTS = {
    "reopen_requested": "support.followup_answered",
    "nps_detractor": "nps.submitted",
    "lead": "offer.answered",
    "review_followup": "review.rated",
}
# Payload keys that name what the alert is about, and how people call them.
REFERENCES = (("ticketId", "Ticket"), ("ticket_id", "Ticket"), ("orderId", "Order"),
              ("order_id", "Order"))


@dataclass(frozen=True)
class AlertSummary:
    alert: Alert
    kind_label: str
    customer: Any
    customer_zone: tzinfo | None
    note: str
    answer: str
    answered_at: datetime | None
    reference: tuple[str, str] | None
    first_answer: AnswerFact | None

    @property
    def answered_at_text(self) -> str:
        return times.both(self.answered_at, self.customer_zone) if self.answered_at else ""

    @property
    def raised_at_text(self) -> str:
        return times.both(self.alert.created_at, self.customer_zone)

    @property
    def question_sent_text(self) -> str:
        sent_at = self.question.sent_at if self.question else None
        return times.both(sent_at, self.customer_zone) if sent_at else ""

    @property
    def question(self) -> Any:
        """The email the customer answered (not the page to the support inbox)."""
        return self.first_answer.send if self.first_answer else None


def alert_summary(alert: Alert) -> AlertSummary:
    payload = alert.payload if isinstance(alert.payload, dict) else {}
    run = alert.journey_run if alert.journey_run_id else None
    customer = alert.contact if alert.contact_id else None
    answers = run_answers(run) if run is not None else []
    first = answers[0] if answers else None
    zone = run_customer_zone(run) if run is not None else times.zone_or_none(
        customer.timezone if customer else "")
    note = str(payload.get("comment") or "") or (first.note if first else "")
    if first is not None:
        answer, answered_at = first.label, first.event.occurred_at
    else:
        answer = labels.answer_text(KIND_SOURCE_EVENTS.get(alert.kind, ""), payload)
        answered_at = times.instant(payload.get("answeredAt"))
    return AlertSummary(
        alert=alert, kind_label=labels.alert_kind_label(alert.kind), customer=customer,
        customer_zone=zone, note=note, answer=answer, answered_at=answered_at,
        reference=_reference(payload), first_answer=first)


def _reference(payload: dict[str, Any]) -> tuple[str, str] | None:
    for key, name in REFERENCES:
        value = payload.get(key)
        if value not in (None, ""):
            return name, str(value)
    return None
