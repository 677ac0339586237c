"""A run's story in sentences, for the support console's run and alert pages.

    Entered on Tue 16 Jun 2026, 14:40 UTC (16:40 in Berlin) when ticket T-9 was resolved.
    Waited until 09:00 in Berlin (Wed 17 Jun 2026, 07:00 UTC).
    Sent “Did that fix it?” to ada@example.com on …; opened 08:02 UTC, clicked 09:00 UTC.
    ada@example.com answered “No, still broken” on … and wrote: “Still crashes…”
    Support paged on …: Reopen requested: #T-9 — ada@example.com (open).

`run_story()` reads everything in a fixed number of queries, whatever the
run's length: its timeline (JourneyLog), its timezone record, its sends, the
answers and notes to them, the events its timeline names, and its alerts.
Answers read as the button the person tapped, taken from the sent email
itself; the raw names stay beside each sentence, small.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from hogsend_site import labels, times
from journeys.models import JourneyLog, JourneyRun, StepRecord
from tracking.models import (
    ANSWER_KEY_PREFIX,
    CHANGED_ANSWER_KEY_PREFIX,
    COMMENT_KEY_PREFIX,
    LATER_NOTE_KEY_PREFIX,
    EmailSend,
    UserEvent,
)

# The journal key under which ctx.when records the zone a run resolved.
ZONE_RECORD_KEY = "__tz__"
NOT_SENT = ("failed", "suppressed", "queued")
TAG_RE = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class StoryLine:
    at: datetime | None
    html: SafeString
    raw: str = ""


@dataclass(frozen=True)
class AnswerFact:
    """One answer to one of the run's emails, with the note typed beside it."""

    event: UserEvent
    label: str
    send: EmailSend | None
    comment: UserEvent | None

    @property
    def note(self) -> str:
        return str((self.comment.properties or {}).get("comment", "")) if self.comment else ""


@dataclass
class RunStory:
    """The sentences, and the rows read for them (the technical tables reuse them)."""

    run: JourneyRun
    customer_zone: tzinfo | None
    who: str
    state: str
    sends: list[EmailSend] = field(default_factory=list)
    answer_rows: list[UserEvent] = field(default_factory=list)
    answers: list[AnswerFact] = field(default_factory=list)
    logs: list[JourneyLog] = field(default_factory=list)
    events: dict[int, UserEvent] = field(default_factory=dict)
    lines: list[StoryLine] = field(default_factory=list)


# --- reads ---------------------------------------------------------------------------


def run_answer_events(run: JourneyRun, send_ids: list[str] | None = None) -> QuerySet[UserEvent]:
    """The answers to the run's emails and their comments: events of the run's
    contact whose properties carry one of its sends' ids, stored under the
    answer (`sem:`) or comment (`semc:`) keys, and what the person said later:
    more notes (`semnote:`) and changed answers (`semchange:`)."""
    if send_ids is None:
        send_ids = [str(pk) for pk in
                    EmailSend.objects.filter(journey_run_id=run.pk).values_list("pk", flat=True)]
    if not send_ids:
        return UserEvent.objects.none()
    who = Q(contact_id=run.contact_id) if run.contact_id else Q(user_key=run.user_key)
    keyed = (Q(idempotency_key__startswith=ANSWER_KEY_PREFIX)
             | Q(idempotency_key__startswith=COMMENT_KEY_PREFIX)
             | Q(idempotency_key__startswith=LATER_NOTE_KEY_PREFIX)
             | Q(idempotency_key__startswith=CHANGED_ANSWER_KEY_PREFIX))
    return UserEvent.objects.filter(who, keyed, properties__emailSendId__in=send_ids).order_by(
        "occurred_at", "id")


def run_customer_zone(run: JourneyRun) -> tzinfo | None:
    """The zone the run used for the customer's clock (recorded on the run, or in the
    journal by older code), else the contact's."""
    name = run.timezone
    if not name:
        recorded = StepRecord.objects.filter(run=run, key=ZONE_RECORD_KEY).values_list(
            "value", flat=True).first()
        name = recorded.get("v") if isinstance(recorded, dict) else None
    return times.zone_or_none(name) or times.zone_or_none(
        run.contact.timezone if run.contact_id and run.contact else "")


def run_answers(run: JourneyRun, sends: list[EmailSend] | None = None,
                rows: list[UserEvent] | None = None) -> list[AnswerFact]:
    """The run's answers, first first, each with its button label and its note."""
    if sends is None:
        sends = list(EmailSend.objects.filter(journey_run_id=run.pk).order_by("created_at"))
    by_id = {str(send.pk): send for send in sends}
    if rows is None:
        rows = list(run_answer_events(run, list(by_id)))
    notes = {row.idempotency_key.removeprefix(COMMENT_KEY_PREFIX): row for row in rows
             if row.idempotency_key.startswith(COMMENT_KEY_PREFIX)}
    facts = []
    for row in rows:
        if not row.idempotency_key.startswith(ANSWER_KEY_PREFIX):
            continue
        send = by_id.get(str((row.properties or {}).get("emailSendId")))
        button = button_label(send.html if send else "", (row.properties or {}).get("linkId"))
        facts.append(AnswerFact(
            event=row, send=send,
            label=labels.answer_text(row.event, row.properties, button=button),
            comment=notes.get(row.idempotency_key.removeprefix(ANSWER_KEY_PREFIX))))
    return facts


def button_label(email_html: str, link_id: Any) -> str:
    """The text of the button whose tracked link is `link_id`, read from the sent email."""
    if not email_html or not link_id:
        return ""
    anchor = re.search(
        r'<a\b[^>]*href="[^"]*/t/c/' + re.escape(str(link_id)) + r'"[^>]*>(.*?)</a>',
        email_html, re.S | re.I)
    return " ".join(html_lib.unescape(TAG_RE.sub("", anchor.group(1))).split()) if anchor else ""


def person(run: JourneyRun) -> str:
    """How a sentence names the customer: a first name if known, else the address."""
    contact = run.contact if run.contact_id else None
    props = (contact.properties if contact else None) or {}
    name = props.get("firstName") or props.get("first_name") or props.get("name")
    return str(name or (contact and contact.email) or run.user_email or run.user_key
               or "The customer")


def run_story(run: JourneyRun, *, now: datetime | None = None) -> RunStory:
    """The run's story (see the module docstring); a bounded number of queries."""
    now = now or timezone.now()
    zone = run_customer_zone(run)
    sends = list(EmailSend.objects.filter(journey_run_id=run.pk).order_by("created_at"))
    rows = list(run_answer_events(run, [str(send.pk) for send in sends]))
    story = RunStory(run=run, customer_zone=zone, who=person(run), sends=sends,
                     answer_rows=rows, answers=run_answers(run, sends, rows),
                     state=labels.run_state_label(
                         status=run.status, waiting_event=run.waiting_event,
                         wake_at=run.wake_at, wait_deadline=run.wait_deadline,
                         completed_at=run.completed_at, exited_at=run.exited_at,
                         exit_reason=run.exit_reason, error_message=run.error_message,
                         customer_zone=zone))
    logs = list(JourneyLog.objects.filter(run=run).order_by("created_at", "id"))
    named = [log.detail["event_id"] for log in logs
             if isinstance(log.detail, dict) and log.detail.get("event_id")]
    story.logs = logs
    story.events = UserEvent.objects.in_bulk(named) if named else {}
    story.lines = _Narrator(story, now).tell(logs)
    return story


# --- sentences -----------------------------------------------------------------------


class _Narrator:
    def __init__(self, story: RunStory, now: datetime) -> None:
        self.story, self.events, self.now = story, story.events, now
        self.sends = {str(send.pk): send for send in story.sends}
        self.answer_ids = {fact.event.pk: fact for fact in story.answers}
        self.told: set[int] = set()

    def tell(self, logs: list[JourneyLog]) -> list[StoryLine]:
        lines: list[StoryLine] = []
        waiting: JourneyLog | None = None
        for log in logs:
            detail = log.detail if isinstance(log.detail, dict) else {}
            if log.action == JourneyLog.Action.WAIT:
                waiting = log
                continue
            if log.action == JourneyLog.Action.RESUME and detail.get("event"):
                waiting = None
            line = getattr(self, f"_{log.action}", self._other)(log, detail)
            if line is not None:
                lines.append(line)
        if waiting is not None and self.story.run.is_live:
            lines.append(self._still_waiting(waiting))
        lines += [self._answer(fact) for fact in self.story.answers
                  if fact.event.pk not in self.told]
        lines += [self._later_word(row) for row in self.story.answer_rows
                  if row.idempotency_key.startswith((LATER_NOTE_KEY_PREFIX,
                                                     CHANGED_ANSWER_KEY_PREFIX))]
        lines += [self._paged(alert) for alert in self.story.run.alerts.order_by("created_at")]
        # Stable: lines of the same instant keep the order the run wrote them in.
        return sorted(lines, key=lambda line: line.at or self.now)

    def _at(self, moment: datetime | None) -> str:
        return times.both(moment, self.story.customer_zone)

    def _entered(self, log: JourneyLog, detail: dict) -> StoryLine:
        event = self.events.get(detail.get("event_id"))
        if event is not None and event.source == "admin":
            what = format_html("staff enrolled {}", self.story.who)
        elif event is not None:
            what = _link(event, labels.event_phrase(event.event, event.properties))
        else:
            what = labels.event_phrase(detail.get("event") or "", {})
        return StoryLine(log.created_at, format_html("Entered on {} when {}.",
                                                     self._at(log.created_at), what),
                         detail.get("event", ""))

    def _sleep(self, log: JourneyLog, detail: dict) -> StoryLine:
        until = times.instant(detail.get("until"))
        verb = "Sleeping" if until and until > self.now and self.story.run.is_live else "Waited"
        text = times.customer_first(until, self.story.customer_zone) if until else "later"
        return StoryLine(log.created_at, format_html("{} until {}.", verb, text),
                         f"sleep · {log.to_step}")

    def _resume(self, log: JourneyLog, detail: dict) -> StoryLine | None:
        if detail.get("source") == "retry":
            return StoryLine(log.created_at, format_html("Retried from the console on {}.",
                                                         self._at(log.created_at)), "retry")
        if detail.get("timed_out"):
            return StoryLine(log.created_at, format_html(
                "No “{}” came by {}: it stopped waiting.",
                labels.event_label(detail.get("event", "")), self._at(log.created_at)),
                detail.get("event", ""))
        fact = self.answer_ids.get(detail.get("event_id"))
        if fact is not None:
            self.told.add(fact.event.pk)
            return self._answer(fact)
        event = self.events.get(detail.get("event_id"))
        if event is None:
            return None  # a sleep's end: the sleep's own sentence says it
        return StoryLine(log.created_at, format_html(
            "Woke on {} when {}.", self._at(event.occurred_at),
            _link(event, labels.event_phrase(event.event, event.properties))), event.event)

    def _send(self, log: JourneyLog, detail: dict) -> StoryLine:
        send = self.sends.get(str(detail.get("email_send_id")))
        if send is None:
            return StoryLine(log.created_at, format_html(
                "Did not send “{}”: {}.", detail.get("template", "an email"),
                detail.get("reason") or detail.get("status") or "no reason recorded"),
                f"send · {detail.get('template', '')}")
        if send.status in NOT_SENT or send.sent_at is None:
            return StoryLine(log.created_at, format_html(
                "Did not send {}: {}.", _link(send, f"“{send.subject}”"),
                labels.words(send.reason or send.status)), f"send · {send.template_key}")
        seen = [f"{verb} {self._later(moment, send.sent_at)}" for verb, moment in
                (("opened", send.opened_at), ("clicked", send.clicked_at)) if moment]
        return StoryLine(send.sent_at, format_html(
            "Sent {} to {} on {}{}.", _link(send, f"“{send.subject}”"), send.to_email,
            self._at(send.sent_at), f"; {', '.join(seen)}" if seen else ""),
            f"send · {send.template_key}")

    def _later(self, moment: datetime, since: datetime) -> str:
        """A follow-up time: the clock alone on the same staff day, else the day too."""
        staff = times.staff_zone()
        if moment.astimezone(staff).date() == since.astimezone(staff).date():
            return times.clock_time(moment)
        return times.in_words(moment, year=False)

    def _answer(self, fact: AnswerFact) -> StoryLine:
        event = fact.event
        sentence = format_html("{} answered {} on {}", self.story.who,
                               _link(event, f"“{fact.label}”"), self._at(event.occurred_at))
        if fact.note:
            sentence = format_html("{} and wrote: <q class=\"hs-note\">{}</q>", sentence,
                                   fact.note)
        return StoryLine(event.occurred_at, format_html("{}.", sentence), event.event)

    def _later_word(self, row: UserEvent) -> StoryLine:
        """A note after the first, or a changed answer: said after the run acted."""
        props = row.properties or {}
        send = self.sends.get(str(props.get("emailSendId")))
        if row.idempotency_key.startswith(CHANGED_ANSWER_KEY_PREFIX):
            label = labels.answer_text(row.event, props, button=button_label(
                send.html if send else "", props.get("linkId")))
            return StoryLine(row.occurred_at, format_html(
                "{} changed the answer to {} on {} (the journey had acted on the first).",
                self.story.who, _link(row, f"“{label}”"), self._at(row.occurred_at)), row.event)
        return StoryLine(row.occurred_at, format_html(
            "{} wrote again on {}: <q class=\"hs-note\">{}</q>", self.story.who,
            self._at(row.occurred_at), props.get("comment", "")), row.event)

    def _still_waiting(self, log: JourneyLog) -> StoryLine:
        detail = log.detail if isinstance(log.detail, dict) else {}
        deadline = times.instant(detail.get("deadline"))
        return StoryLine(log.created_at, format_html(
            "Waiting for “{}” until {}.", labels.event_label(detail.get("event", "")),
            times.customer_first(deadline, self.story.customer_zone) if deadline else "—"),
            detail.get("event", ""))

    def _trigger(self, log: JourneyLog, detail: dict) -> StoryLine:
        name = log.to_step.removeprefix("trigger:")
        return StoryLine(log.created_at, format_html("Raised “{}”.", labels.event_label(name)),
                         name)

    def _checkpoint(self, log: JourneyLog, detail: dict) -> StoryLine:
        return StoryLine(log.created_at, format_html("Reached “{}”.", labels.words(log.to_step)),
                         log.to_step)

    def _completed(self, log: JourneyLog, detail: dict) -> StoryLine:
        return StoryLine(log.created_at, format_html("Finished on {}.", self._at(log.created_at)))

    def _failed(self, log: JourneyLog, detail: dict) -> StoryLine:
        lines = str(detail.get("error") or self.story.run.error_message or "").strip().splitlines()
        return StoryLine(log.created_at, format_html(
            "Failed on {}: {}", self._at(log.created_at), lines[0] if lines else "no error"))

    def _exited(self, log: JourneyLog, detail: dict) -> StoryLine:
        reason = detail.get("reason") or (f"event:{detail['event']}" if detail.get("event")
                                          else detail.get("source", ""))
        return StoryLine(log.created_at, format_html(
            "Left the journey on {}: {}.", self._at(log.created_at),
            labels.exit_reason_label(reason)), reason)

    def _other(self, log: JourneyLog, detail: dict) -> StoryLine:
        return StoryLine(log.created_at, format_html("{} on {}.", labels.words(log.action),
                                                     self._at(log.created_at)), log.to_step)

    def _paged(self, alert: Any) -> StoryLine:
        return StoryLine(alert.created_at, format_html(
            "Support paged on {}: {} ({}).", self._at(alert.created_at),
            _link(alert, alert.title), alert.get_status_display().lower()),
            alert.kind)


def _link(obj: Any, text: str) -> SafeString | str:
    meta = obj._meta
    try:
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return text
    return format_html('<a href="{}">{}</a>', url, text)
