"""Watch the support follow-up recipe happen, start to finish, in a few seconds.

    python manage.py demo_support_followup

Creates a fresh demo customer (Europe/Prague, a unique userId per run, so it
can be run again), resolves a ticket for them and then warps this process's
clock (time-machine) through the story, taking the production paths at every
step: the event goes through `tracking.ingest`, the clock is `run_due
--inline`, the customer's click and comment are real requests to
`/v1/t/c/<id>` and `/v1/t/a/<id>` (Django's test client, in process). It
prints the timeline: ticket resolved, the morning email (and where its copy
is stored), a "No" click, the confirmed answer, the reopen request and the
alert to the support inbox.

The story is dated today. The ticket is resolved yesterday at 16:40 in the
customer's timezone, so the run's "tomorrow at 09:00" is 09:00 today there:
the email, the answer and the alert land in the admin's lists of today's
answers and alerts, at the times the story prints.

It plays in one database transaction. Only this process's clock moves, and
once it is past 09:00 in Prague the story's moments (the 09:00 wake-up, the
click's confirmation 30 s after it, the alert's 3-minute grace) are already
due on the real clock. A `qcluster` and `run_due --loop` running beside it (`make demo`)
could then claim them mid-story, and waiting after each step for their work
would not be enough, because they work on the real clock: the morning email
would be sent at the real time, after the click the story makes at 11:00; the
click could be confirmed before the customer's note is posted; and a reopen
ingested by them gets an alert grace window ending 3 real minutes from now,
which this warped clock never reaches. Inside the transaction the other
processes cannot see the story's rows (on PostgreSQL they do not wait either;
on SQLite their writes wait the few seconds the story takes), so this command
does every step itself and every row carries the story's time. On commit, the
"run this now" hints the steps queued reach the workers and find their work
done. Anything the story's events schedule for after its last step is left to
the running clock, as in production. A story that stops with a CommandError still commits what it
did, so the run its message names can be looked at in the admin.

While it plays, the story is the only thing printed. Records reaching the
console log handlers (in this process: django-q2 logging each queued hint at
INFO, and whatever the clock, the journey runner and the mailer log) are held
back; warnings and errors among them are printed after the story, so a real
problem still shows, and the INFO lines are dropped.
"""

from __future__ import annotations

import contextlib
import html
import io
import logging
import re
import secrets
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.test import Client
from django.utils import timezone

from alerts.models import Alert
from contacts.identity import contact_upsert
from contacts.models import Contact
from journeys.models import JourneyRun
from tracking.ingest import EventInput, event_ingest
from tracking.models import EmailSend, UserEvent

JOURNEY = "support-followup"
TZ = "Europe/Prague"
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"
COMMENT = "The export still fails with a timeout on big projects."
CONFIRM_DELAY = timedelta(seconds=30)
GRACE = timedelta(minutes=3)
# When the ticket is resolved: yesterday afternoon in the customer's timezone.
RESOLVED_AT = time(16, 40)
LINK_RE = re.compile(r'<a\b[^>]*href="([^"]+)"[^>]*>(.*?)</a>', re.S | re.I)
OUTBOX_RE = re.compile(r"^\[outbox\] .*: (\S+)$", re.M)


class Command(BaseCommand):
    help = "Play the support follow-up story (resolve, morning email, 'No', alert) in seconds."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            import time_machine
        except ImportError as exc:  # pragma: no cover - a production install without it
            raise CommandError(
                "demo_support_followup needs time-machine (pip install time-machine)"
            ) from exc
        self.tz = ZoneInfo(TZ)
        self.web = _client()
        suffix = secrets.token_hex(3)
        ticket = f"T-{secrets.randbelow(9000) + 1000}"
        self.stdout.write(
            "Support follow-up, start to finish. The clock is warped; every step "
            "takes the production code path.\n"
        )
        stopped: CommandError | None = None
        with console_logs_held(), time_machine.travel(
            story_start(timezone.now(), self.tz), tick=False
        ) as clock, transaction.atomic():
            contact = contact_upsert(
                user_id=f"demo-{suffix}", email=f"customer+{suffix}@example.com", tz=TZ
            ).contact
            self.stdout.write(f"  Customer  {contact.email} (userId {contact.external_id}, {TZ})")
            self.stdout.write(f"  Ticket    {ticket}\n")
            try:
                run = self._resolve(contact, ticket)
                clock.move_to(run.wake_at)
                email = self._morning(run)
                clock.shift(timedelta(hours=2))
                answer_url = self._click_no(email)
                clock.shift(timedelta(seconds=20))
                self._comment(answer_url)
                clock.shift(CONFIRM_DELAY - timedelta(seconds=20))
                reopen = self._confirm(contact, run)
                clock.shift(GRACE)
                self._alert(reopen)
            except CommandError as exc:
                stopped = exc  # committed all the same: the message points into the admin
        if stopped is not None:
            raise stopped
        self._summary(contact, run)

    # --- the story ---------------------------------------------------------------------
    def _resolve(self, contact: Contact, ticket: str) -> JourneyRun:
        event_ingest(
            EventInput(
                name="ticket.resolved",
                contact_id=contact.pk,
                source="demo",
                properties={"ticket_id": ticket},
            )
        )
        self._line(f"ticket.resolved {{ticket_id: {ticket}}} ingested")
        run = self._parked(contact)
        self._line(
            f"{JOURNEY} run {run.pk} waits at '{run.current_step}' until {self._when(run.wake_at)}",
            stamp=False,
        )
        return run

    def _parked(self, contact: Contact) -> JourneyRun:
        """Run the clock once: the new run takes its first step and sleeps."""
        self._run_due()
        run = JourneyRun.objects.filter(contact=contact, journey_id=JOURNEY).first()
        if run is None:
            raise CommandError(
                f"no {JOURNEY} run started: is the journey enabled (ENABLED_JOURNEYS, "
                "the admin's journey switch)?"
            )
        if run.status != "waiting" or not run.wake_at or run.wake_at <= timezone.now():
            raise CommandError(f"the {JOURNEY} run is {run.status}, not waiting for the morning")
        return run

    def _morning(self, run: JourneyRun) -> EmailSend:
        printed = self._run_due()
        email = EmailSend.objects.filter(
            journey_run_id=run.pk, template_key="support/followup"
        ).first()
        if email is None or email.status != "sent":
            raise CommandError("the morning email was not sent; see the run in the admin")
        self._line(f'morning email "{email.subject}" -> {email.to_email}')
        self._line(f"stored copy: {_outbox_path(printed) or _admin_url(email)}", stamp=False)
        return email

    def _click_no(self, email: EmailSend) -> str:
        links = email_links(email.html)
        url = links["No, still broken"]
        response = self.web.get(urlsplit(url).path, HTTP_USER_AGENT=BROWSER)
        self._line(
            f'customer clicks "No, still broken" ({urlsplit(url).path}) -> '
            f"{response.status_code} to the hosted answer page"
        )
        return response["Location"]

    def _comment(self, answer_url: str) -> None:
        path = urlsplit(answer_url).path
        page = self.web.get(path, HTTP_USER_AGENT=BROWSER).content.decode()
        token = re.search(r'name="form_token" value="([^"]+)"', page)
        self.web.post(
            path,
            {"comment": COMMENT, "form_token": token.group(1) if token else ""},
            HTTP_USER_AGENT=BROWSER,
        )
        self._line(f'adds a note on the answer page: "{COMMENT}"')

    def _confirm(self, contact: Contact, run: JourneyRun) -> UserEvent:
        self._run_due()
        answer = UserEvent.objects.filter(
            contact=contact, event="support.followup_answered"
        ).first()
        reopen = UserEvent.objects.filter(contact=contact, event="support.reopen_requested").first()
        if answer is None or reopen is None:
            raise CommandError("the answer was not confirmed; see the link clicks in the admin")
        self._line(
            f"answer confirmed (no other link clicked within ±30 s): "
            f"support.followup_answered {{answer: {answer.properties.get('answer')}}}"
        )
        props = ", ".join(f"{k}: {v}" for k, v in reopen.properties.items())
        self._line(f"the run resumes and fires support.reopen_requested {{{props}}}", stamp=False)
        return reopen

    def _alert(self, reopen: UserEvent) -> None:
        printed = self._run_due()
        alert = Alert.objects.filter(kind="reopen_requested", contact=reopen.contact).first()
        email = alert.email_send if alert else None
        if email is None:
            raise CommandError("no support alert was sent; see the handler jobs in the admin")
        note = " (with the customer's note)" if COMMENT in email.text else ""
        self._line(f'support-alert pages {email.to_email}: "{email.subject}"{note}')
        self._line(f"stored copy: {_outbox_path(printed) or _admin_url(email)}", stamp=False)

    def _summary(self, contact: Contact, run: JourneyRun) -> None:
        run.refresh_from_db()
        base = settings.PUBLIC_BASE_URL
        alert = Alert.objects.filter(contact=contact).first()
        self.stdout.write(f"\nThe run is {run.status}. Look around in the admin:")
        self.stdout.write(f"  run       {base}/admin/journeys/journeyrun/{run.pk}/change/")
        if alert is not None:
            self.stdout.write(f"  alert     {base}/admin/alerts/alert/{alert.pk}/change/")
        self.stdout.write(f"  customer  {base}/admin/contacts/contact/{contact.pk}/change/")

    # --- plumbing ----------------------------------------------------------------------
    def _run_due(self) -> str:
        """The clock, in process; returns what the email backend printed meanwhile."""
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            call_command("run_due", "--inline", stdout=io.StringIO())
        return printed.getvalue()

    def _when(self, instant: datetime) -> str:
        local = instant.astimezone(self.tz)
        return f"{local:%a %d %b %H:%M:%S %Z} ({instant.astimezone(ZoneInfo('UTC')):%H:%M} UTC)"

    def _line(self, text: str, *, stamp: bool = True) -> None:
        left = f"{timezone.now().astimezone(self.tz):%a %d %b %H:%M:%S %Z}" if stamp else ""
        self.stdout.write(f"  {left:<25} {text}")


def story_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Yesterday at RESOLVED_AT in `tz`: the run's next morning is today's."""
    yesterday = now.astimezone(tz).date() - timedelta(days=1)
    return datetime.combine(yesterday, RESOLVED_AT, tzinfo=tz)


@contextlib.contextmanager
def console_logs_held(*, replay: int = logging.WARNING) -> Iterator[None]:
    """Keep log records off the console handlers for the duration; afterwards
    print the held ones at `replay` and above through the handler that held them."""
    held: list[tuple[logging.Handler, logging.LogRecord]] = []

    def holder(handler: logging.Handler):
        def hold(record: logging.LogRecord) -> bool:
            if record.levelno >= replay:
                held.append((handler, record))
            return False

        return hold

    holds = [(handler, holder(handler)) for handler in _console_handlers()]
    for handler, hold in holds:
        handler.addFilter(hold)
    try:
        yield
    finally:
        for handler, hold in holds:
            handler.removeFilter(hold)
        for handler, record in held:
            handler.handle(record)


def _console_handlers() -> list[logging.Handler]:
    """Every stream handler of every logger (log files are left alone)."""
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    found = {
        id(handler): handler
        for logger in loggers
        for handler in logger.handlers
        if isinstance(handler, logging.StreamHandler)
        and not isinstance(handler, logging.FileHandler)
    }
    return list(found.values())


def email_links(body: str) -> dict[str, str]:
    """{button label: tracked URL} of an email's HTML."""
    return {
        html.unescape(re.sub(r"<[^>]+>", "", label)).strip(): href
        for href, label in LINK_RE.findall(body)
    }


def _client() -> Client:
    host = urlsplit(settings.PUBLIC_BASE_URL).netloc or "localhost"
    return Client(HTTP_HOST=host)


def _outbox_path(printed: str) -> str:
    found = OUTBOX_RE.findall(printed)
    return found[-1] if found else ""


def _admin_url(email: EmailSend) -> str:
    return f"{settings.PUBLIC_BASE_URL}/admin/tracking/emailsend/{email.pk}/change/"
