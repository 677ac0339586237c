"""Readable steps for recipe tests: the customer's side and the clock's side of a story.

Everything goes through the public paths: events and contacts through the REST
API, clicks and comments through the tracking URLs found in the sent email,
the clock through `run_due --inline` after time-machine moved time.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import time_machine
from django.test import Client
from rest_framework.test import APIClient

from tests.conftest import run_due
from tracking.models import EmailSend, UserEvent

BROWSER = {
    "HTTP_USER_AGENT": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Safari/605.1.15"
}
LINK_PREVIEW_BOT = {"HTTP_USER_AGENT": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"}
LINK_RE = re.compile(r'<a\b[^>]*href="([^"]+)"[^>]*>(.*?)</a>', re.S | re.I)


# --- the clock -----------------------------------------------------------------------


def advance(traveller: time_machine.Coordinates, delta: timedelta) -> None:
    """Let `delta` pass, then run the clock."""
    traveller.shift(delta)
    run_due()


def advance_to(traveller: time_machine.Coordinates, instant: datetime) -> None:
    traveller.move_to(instant)
    run_due()


# --- the customer's systems: the REST API --------------------------------------------------


def identify(api: APIClient, user_id: str, email: str, timezone: str | None = None, *,
             properties: dict[str, Any] | None = None) -> None:
    """PUT /v1/contacts: the person, their zone and properties."""
    body: dict[str, Any] = {"userId": user_id, "email": email}
    if timezone:
        body["timezone"] = timezone
    if properties is not None:
        body["properties"] = properties
    response = api.put("/v1/contacts", body, format="json")
    assert response.status_code == 200, response.content


def send_event(
    api: APIClient, name: str, user_id: str, properties: dict[str, Any] | None = None, *,
    key: str | None = None,
) -> dict[str, Any]:
    """POST /v1/events (with `key` as its idempotency key), then run the clock (ingest
    queued the follow-up work)."""
    body = {"name": name, "userId": user_id, "eventProperties": properties or {}}
    if key is not None:
        body["idempotencyKey"] = key
    response = api.post("/v1/events", body, format="json")
    assert response.status_code == 202, response.content
    run_due()
    return response.json()


# --- the customer: email, clicks, the hosted answer page -------------------------------------


def email_links(send: EmailSend | str) -> dict[str, str]:
    """{button label: tracked URL} of a sent email's HTML."""
    body = send.html if isinstance(send, EmailSend) else send
    return {
        html.unescape(re.sub(r"<[^>]+>", "", label)).strip(): href
        for href, label in LINK_RE.findall(body)
    }


def click(client: Client, url: str, *, method: str = "get", headers: dict | None = None) -> Any:
    """Follow a tracked link as a browser would (or as a scanner, with `headers`)."""
    response = getattr(client, method)(urlsplit(url).path, **(headers or BROWSER))
    assert response.status_code == 302, response.status_code
    return response


def answer_page(client: Client, url: str) -> str:
    """Click an answer button; return the hosted answer page it lands on."""
    return click(client, url)["Location"]


def comment(client: Client, page_url: str, text: str) -> Any:
    """Type a note on the hosted answer page and send it."""
    path = urlsplit(page_url).path
    page = client.get(path, **BROWSER).content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', page).group(1)
    response = client.post(path, {"comment": text, "form_token": token}, **BROWSER)
    assert response.status_code == 200, response.status_code
    return response


def unsubscribe_one_click(client: Client, message: Any) -> None:
    """RFC 8058 one-click unsubscribe, as a mail client sends it from the header."""
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    parts = urlsplit(url)
    response = client.post(
        f"{parts.path}?{parts.query}",
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.status_code


# --- what happened -----------------------------------------------------------------------


def mail_to(mailoutbox: list, address: str) -> list:
    return [message for message in mailoutbox if address in message.to]


def mail_of(mailoutbox: list, *templates: str) -> list:
    """The messages of these templates (the mailer tags each with its template key)."""
    return [message for message in mailoutbox if message.metadata["templateKey"] in templates]


def sends_to(address: str) -> list[tuple[str, datetime]]:
    """(template, sent at) of each email that went out to `address`, in order."""
    return list(EmailSend.objects.filter(to_email=address, sent_at__isnull=False)
                .order_by("sent_at").values_list("template_key", "sent_at"))


def sent(template: str) -> list[EmailSend]:
    return list(
        EmailSend.objects.filter(template_key=template, sent_at__isnull=False).order_by("sent_at")
    )


def events(name: str) -> list[UserEvent]:
    return list(UserEvent.objects.filter(event=name).order_by("occurred_at", "id"))
