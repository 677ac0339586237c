"""Words for the engine's names: event names, answers, alert kinds, run states.

The console shows the label first and the raw name small beside it
(`labelled`), so staff read "Reopen requested" and engineers still find
`support.reopen_requested`. Answers read as the button the person tapped: the
caller passes the button's text when it has the email (`button=`); otherwise
the shipped journeys' button labels below stand in. Unknown names still read
as words ("billing.invoice_paid" → "Billing invoice paid").
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from django.utils.html import format_html
from django.utils.safestring import SafeString

from hogsend_site import times

# A later answer to the same question (tracking.semantic): labelled as a change.
CHANGED_SUFFIX = ".changed"
# The property that carries the answer of a one-click button, in the order read.
ANSWER_KEYS = ("answer", "band", "score", "rating")

EVENT_LABELS = {
    "ticket.resolved": "Ticket resolved",
    "ticket.reopened": "Ticket reopened",
    "support.followup_answered": "Answered the support follow-up",
    "support.reopen_requested": "Reopen requested",
    "nps.submitted": "Answered the NPS survey",
    "nps.detractor_flagged": "NPS detractor flagged",
    "offer.answered": "Answered the setup offer",
    "lead.flagged": "Lead flagged",
    "review.rated": "Rated the order",
    "review.needs_followup": "Low rating to follow up",
    "trial.started": "Trial started",
    "delivery.confirmed": "Delivery confirmed",
    "order.refunded": "Order refunded",
    "app.active": "Active in the app",
    "email.sent": "Email sent",
    "email.opened": "Email opened",
    "email.link_clicked": "Link clicked in an email",
}

# What the person did, for "Entered … when {phrase}"; `{name}` is filled from
# the event's properties (without them the phrase is "“Ticket resolved” arrived").
EVENT_PHRASES = {
    "ticket.resolved": "ticket {ticket_id} was resolved",
    "ticket.reopened": "ticket {ticket_id} was reopened",
    "trial.started": "the trial started",
    "delivery.confirmed": "order {order_id} was delivered",
    "order.refunded": "order {order_id} was refunded",
    "app.active": "they were active in the app",
}

# The shipped emails' button texts, for answers whose email is not at hand.
ANSWER_LABELS: dict[tuple[str, str, str], str] = {
    ("support.followup_answered", "answer", "yes"): "Yes, all sorted",
    ("support.followup_answered", "answer", "no"): "No, still broken",
    ("offer.answered", "answer", "interested"): "I'm interested",
    ("offer.answered", "answer", "not_now"): "Not right now",
    ("nps.submitted", "band", "detractor"): "0–6",
    ("nps.submitted", "band", "passive"): "7–8",
    ("nps.submitted", "band", "promoter"): "9–10",
}

ANSWER_EVENTS = frozenset({event for event, _, _ in ANSWER_LABELS} | {"review.rated"})
NPS_BANDS = frozenset({"detractor", "passive", "promoter"})

# (label, short label): the support home's narrow alert rows read the short one.
ALERT_KIND_LABELS = {
    "reopen_requested": ("Reopen requested", "Reopen requested"),
    "nps_detractor": ("NPS detractor", "NPS detractor"),
    "lead": ("Lead wants a setup call", "Lead"),
    "review_followup": ("Low rating to follow up", "Low rating"),
    "stranded_runs": ("Stranded journey runs", "Stranded runs"),
    "handler_failed": ("Page not sent", "Handler failed"),
}

EXIT_SOURCES = {
    "exit_on": "an exit event arrived",
    "erasure": "the contact was erased",
    "journey": "the journey ended it",
}


def words(name: str) -> str:
    """ "billing.invoice_paid" → "Billing invoice paid"."""
    text = " ".join(str(name or "").replace(".", " ").replace("_", " ").split())
    return text[:1].upper() + text[1:]


def answer_text(event: str, properties: dict[str, Any] | None, *, button: str = "") -> str:
    """The answer as the person saw it: "No, still broken", "0–6 (detractor)"."""
    event = event.removesuffix(CHANGED_SUFFIX)  # a later answer reads as its question's buttons
    props = properties or {}
    text = " ".join((button or "").split())
    for key in ANSWER_KEYS:
        value = props.get(key)
        if value in (None, ""):
            continue
        text = text or ANSWER_LABELS.get((event, key, str(value)), "") or _value_words(key, value)
        break
    band = props.get("band")
    if band in NPS_BANDS and band not in text:
        text = f"{text} ({band})" if text else words(band)
    return text


def _value_words(key: str, value: Any) -> str:
    if key == "rating":
        return f"{value} of 5"
    if key == "score":
        return f"score {value}"
    return words(str(value))


def is_comment(event: str, properties: dict[str, Any] | None) -> bool:
    return event.endswith(".comment") and "comment" in (properties or {})


def is_answer(event: str, properties: dict[str, Any] | None) -> bool:
    """A one-click answer: stored from a tracked link (`linkId`), or a known answer event."""
    return "linkId" in (properties or {}) or event in ANSWER_EVENTS


def event_label(event: str, properties: dict[str, Any] | None = None, *,
                button: str = "") -> str:
    """ "Reopen requested", "Answered: No, still broken", "Wrote a note",
    "Changed the answer to: Yes, all sorted"."""
    if is_comment(event, properties):
        return "Wrote a note"
    if event.endswith(CHANGED_SUFFIX):
        answer = answer_text(event, properties, button=button)
        return f"Changed the answer to: {answer}" if answer else "Changed the answer"
    if button or is_answer(event, properties):
        answer = answer_text(event, properties, button=button)
        if answer:
            return f"Answered: {answer}"
    return EVENT_LABELS.get(event) or words(event)


def event_phrase(event: str, properties: dict[str, Any] | None = None) -> str:
    """What happened, for a sentence: "ticket T-9 was resolved"."""
    template = EVENT_PHRASES.get(event)
    props = {key: value for key, value in (properties or {}).items() if value not in (None, "")}
    try:
        return template.format_map(props) if template else f"“{event_label(event, props)}” arrived"
    except (KeyError, IndexError, ValueError):  # a property the phrase names is missing
        return f"“{event_label(event, props)}” arrived"


def alert_kind_label(kind: str, *, short: bool = False) -> str:
    known = ALERT_KIND_LABELS.get(kind)
    return known[short] if known else words(kind)


def exit_reason_label(reason: str) -> str:
    """ "event:ticket.reopened" → "“Ticket reopened” arrived"; "admin:sam" → "sam exited it"."""
    reason = reason or ""
    if reason.startswith("event:"):
        return event_phrase(reason.removeprefix("event:"))
    if reason.startswith("admin:"):
        return f"{reason.removeprefix('admin:')} exited it in the admin"
    return EXIT_SOURCES.get(reason) or reason or "no reason recorded"


def labelled(label: str, raw: str) -> SafeString:
    """The label, with the raw name small and grey beside it (the same when they match)."""
    if not raw or raw == label:
        return format_html('<span class="hs-label">{}</span>', label)
    return format_html('<span class="hs-label">{}</span> <small class="hs-raw" '
                       'style="color: var(--body-quiet-color, #666)"><code>{}</code></small>',
                       label, raw)


def run_state_label(*, status: str, waiting_event: str = "", wake_at: datetime | None = None,
                    wait_deadline: datetime | None = None, completed_at: datetime | None = None,
                    exited_at: datetime | None = None, exit_reason: str = "",
                    error_message: str = "", customer_zone: tzinfo | None = None) -> str:
    """Where a run is, in a sentence: "Waiting until 09:00 in Berlin (Wed 17 Jun, 07:00 UTC)"."""
    if status == "waiting":
        until = wait_deadline or wake_at
        what = f"for “{event_label(waiting_event)}” " if waiting_event else ""
        when = f"until {times.customer_first(until, customer_zone)}" if until else ""
        return " ".join(f"Waiting {what}{when}".split())
    if status == "active":
        return f"Running (due {times.in_words(wake_at)})" if wake_at else "Running"
    if status == "failed":
        lines = (error_message or "").strip().splitlines()
        return f"Failed: {lines[0] if lines else 'no error recorded'}"
    if status == "exited":
        return (f"Exited on {times.both(exited_at, customer_zone)}: "
                f"{exit_reason_label(exit_reason)}")
    if status == "completed":
        return f"Finished on {times.both(completed_at, customer_zone)}"
    if status == "held_out":
        return "Held out (control group): never ran"
    return words(status)

