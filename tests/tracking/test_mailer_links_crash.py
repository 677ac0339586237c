"""A crash between writing a send and writing its tracked links never sends an email
whose links lead nowhere (found by `make chaos`: a SIGKILLed worker left a queued row
with a stored body but no links, and the re-drive sent that body)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import time_machine

from tracking.mailer import email_send
from tracking.models import EmailSend, TrackedLink
from tracking.rows import rows_insert

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)
CLICK = re.compile(r"/v1/t/c/([0-9a-f-]{36})")


def sent_link_ids(message) -> set[str]:
    html = next(content for content, mime in message.alternatives if mime == "text/html")
    return set(CLICK.findall(html))


def crash_on_links(model, rows):
    if model is TrackedLink:
        raise KeyboardInterrupt
    return rows_insert(model, rows)


def test_a_crash_while_storing_the_links_leaves_no_row(ada, mailoutbox):
    with time_machine.travel(NOON, tick=False) as clock:
        with mock.patch("tracking.send_rows.rows_insert", side_effect=crash_on_links), \
                pytest.raises(KeyboardInterrupt):
            email_send(to=ada.email, template="support/followup", idempotency_key="k-links")
        assert not EmailSend.objects.exists()  # row and links are one transaction
        clock.shift(timedelta(minutes=3))
        email_send(to=ada.email, template="support/followup", idempotency_key="k-links")
    ids = sent_link_ids(mailoutbox[-1])
    assert len(ids) == 2
    assert {str(pk) for pk in TrackedLink.objects.values_list("pk", flat=True)} == ids


def test_an_old_queued_row_without_links_is_rendered_again_before_it_is_sent(ada, mailoutbox):
    with time_machine.travel(NOON, tick=False) as clock:
        with mock.patch("tracking.mailer.provider_message", side_effect=KeyboardInterrupt), \
                pytest.raises(KeyboardInterrupt):
            email_send(to=ada.email, template="support/followup", idempotency_key="k-old")
        orphan = EmailSend.objects.get()
        orphan.links.all().delete()  # what a kill between the two writes used to leave
        clock.shift(timedelta(minutes=3))
        retry = email_send(to=ada.email, template="support/followup", idempotency_key="k-old")
    assert retry.status == "sent" and retry.email_send_id == str(orphan.pk)
    ids = sent_link_ids(mailoutbox[-1])
    assert len(ids) == 2
    assert set(map(str, TrackedLink.objects.filter(email_send=orphan).values_list(
        "pk", flat=True))) == ids
