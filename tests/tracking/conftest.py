"""Fixtures for the email layer: a sent follow-up email, its links, extra templates."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from contacts.models import Contact
from tracking.mailer import email_send
from tracking.models import EmailSend, TrackedLink
from tracking.send_types import Origin
from tracking.templates_registry import discovered_keys


@pytest.fixture
def followup(ada: Contact, mailoutbox) -> EmailSend:
    """`support/followup` sent to Ada by a journey run, with its two answer links."""
    result = email_send(to=ada.email, template="support/followup", contact=ada,
                        props={"ticketId": "T-9"}, idempotency_key="k-followup",
                        origin=Origin(journey_id="support-followup",
                                      journey_name="Support follow-up"))
    return EmailSend.objects.get(pk=result.email_send_id)


def answer_link(send: EmailSend, answer: str) -> TrackedLink:
    return TrackedLink.objects.get(email_send=send, event_properties__answer=answer)


@pytest.fixture
def extra_templates(tmp_path: Path, settings) -> Iterator[Callable[..., None]]:
    """Add throwaway email templates: `add(key, html, text="...")`."""
    engine = dict(settings.TEMPLATES[0])
    engine["DIRS"] = [tmp_path, *engine["DIRS"]]
    settings.TEMPLATES = [engine]

    def add(key: str, html: str, text: str = "Plain text.") -> None:
        base = tmp_path / "emails" / key
        base.parent.mkdir(parents=True, exist_ok=True)
        base.with_suffix(".html").write_text(html)
        base.with_suffix(".txt").write_text(text)
        discovered_keys.cache_clear()

    discovered_keys.cache_clear()
    yield add
    discovered_keys.cache_clear()
