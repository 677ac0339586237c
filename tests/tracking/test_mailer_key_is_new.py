"""`email_prepare`: a journey's first execution of a send skips the key lookup. A row
left by a crashed earlier attempt must still decide the outcome, exactly as the
lookup would have."""

from __future__ import annotations

from unittest import mock

import pytest

from contacts.preferences import preference_update
from tracking.mailer import email_dispatch, email_prepare
from tracking.models import EmailSend

pytestmark = pytest.mark.django_db


def send(ada, **extra):
    return email_dispatch(email_prepare(
        to=ada.email, template="support/followup", contact=ada,
        idempotency_key="journeySend:r1:next-morning:support/followup", **extra))


def test_a_fresh_key_sends_without_looking_it_up_first(ada, mailoutbox):
    looked_up = AssertionError("looked up")
    with mock.patch("tracking.mailer.prior", side_effect=looked_up), \
            mock.patch("tracking.send_checks.prior", side_effect=looked_up):
        result = send(ada)
    assert result.status == "sent" and len(mailoutbox) == 1


def test_a_key_a_crashed_attempt_already_sent_is_a_duplicate(ada, mailoutbox):
    first = send(ada)
    again = send(ada)  # the journal never learnt of the first: the unique key answers
    assert again.status == "sent" and again.reason == "duplicate"
    assert again.email_send_id == first.email_send_id
    assert len(mailoutbox) == 1 and EmailSend.objects.count() == 1


def test_a_sent_key_stays_a_duplicate_when_the_contact_unsubscribed_since(ada, mailoutbox):
    first = send(ada)
    preference_update(contact=ada, email=ada.email, unsubscribed_all=True, source="link")
    again = send(ada)
    assert again.status == "sent" and again.email_send_id == first.email_send_id
    assert EmailSend.objects.count() == 1  # no suppressed row claiming it never went out


def test_a_queued_orphan_is_suppressed_in_place_when_the_contact_unsubscribed(ada, mailoutbox):
    with mock.patch("tracking.mailer.provider_message", side_effect=KeyboardInterrupt), \
            pytest.raises(KeyboardInterrupt):
        send(ada)
    preference_update(contact=ada, email=ada.email, unsubscribed_all=True, source="link")
    result = send(ada)
    assert result.status == "unsubscribed"
    row = EmailSend.objects.get()
    assert row.status == "suppressed" and row.idempotency_key is None
    assert mailoutbox == []
