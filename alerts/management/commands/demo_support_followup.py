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

Only this process's clock moves. Everything it creates is due at warped times,
so a running `qcluster` / `run_due --loop` leaves it alone and this command
does all of the work itself.
"""

from __future__ import annotations

import contextlib
import html
import io
import re
import secrets
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test import Client
from django.utils import timezone

from alerts.models import Alert
from contacts.models import Contact
from contacts.services import contact_upsert
from journeys.models import JourneyRun
from tracking.ingest import EventInput, event_ingest
from tracking.models import EmailSend, UserEvent

JOURNEY = "support-followup"
TZ = "Europe/Prague"
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15"
COMMENT = "The export still fails with a timeout on big projects."
CONFIRM_DELAY = timedelta(seconds=30)
GRACE = timedelta(minutes=3)
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
        suffix = secrets.token_hex(3)
        contact = contact_upsert(
            user_id=f"demo-{suffix}", email=f"customer+{suffix}@example.com", tz=TZ
        ).contact
        ticket = f"T-{secrets.randbelow(9000) + 1000}"
        self.tz = ZoneInfo(TZ)
        self.web = _client()
        self.stdout.write(
            "Support follow-up, start to finish. The clock is warped; every step "
            "takes the production code path.\n"
        )
        self.stdout.write(f"  Customer  {contact.email} (userId {contact.external_id}, {TZ})")
        self.stdout.write(f"  Ticket    {ticket}\n")
        with time_machine.travel(timezone.now(), tick=False) as clock:
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
        """Run the clock until the new run sleeps (a running qcluster may hold it a moment)."""
        run = None
        for _attempt in range(50):
            self._run_due()
            run = JourneyRun.objects.filter(contact=contact, journey_id=JOURNEY).first()
            if run is None or not run.is_live:
                break
            if run.status == "waiting" and run.wake_at and run.wake_at > timezone.now():
                return run
            time.sleep(0.2)  # real time: time-machine leaves sleep alone
        if run is None:
            raise CommandError(
                f"no {JOURNEY} run started: is the journey enabled (ENABLED_JOURNEYS, "
                "the admin's journey switch)?"
            )
        raise CommandError(f"the {JOURNEY} run is {run.status}, not waiting for the morning")

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
