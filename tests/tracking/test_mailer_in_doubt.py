"""The in-doubt window: a worker killed after the provider accepted a message and
before its row said `sent`. The re-drive calls the provider again (a `queued` row
is re-driven, never assumed sent, or the email could be lost); a provider that
deduplicates on the send's key answers it without a second delivery.
The key reaches the provider only when its backend declares the header, never
the recipient otherwise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.mail.backends.base import BaseEmailBackend

from tracking.mailer import email_send
from tracking.models import EmailSend

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)


class WorkerKilled(BaseException):
    """What SIGKILL looks like from inside the process: nothing after it runs."""


class Provider:
    """One provider shared by the backends below: what it delivered, by key."""

    delivered: list = []
    keys: set = set()
    kill_after_accepting = False


class PlainProvider(BaseEmailBackend):
    """A provider that knows nothing of idempotency keys."""

    def send_messages(self, messages):
        for message in messages:
            Provider.delivered.append(message)
        if Provider.kill_after_accepting:
            Provider.kill_after_accepting = False
            raise WorkerKilled
        return len(messages)


class DedupingProvider(BaseEmailBackend):
    """A provider like Resend: a key it has accepted is acknowledged, not delivered again."""

    idempotency_key_header = "Idempotency-Key"

    def send_messages(self, messages):
        for message in messages:
            key = message.extra_headers[self.idempotency_key_header]
            if key not in Provider.keys:
                Provider.keys.add(key)
                Provider.delivered.append(message)
        if Provider.kill_after_accepting:
            Provider.kill_after_accepting = False
            raise WorkerKilled
        return len(messages)


@pytest.fixture(autouse=True)
def provider():
    Provider.delivered, Provider.keys, Provider.kill_after_accepting = [], set(), False
    return Provider


def killed_after_acceptance_then_retried(ada, key="k-doubt"):
    with time_machine.travel(NOON, tick=False) as clock:
        Provider.kill_after_accepting = True
        with pytest.raises(WorkerKilled):
            email_send(to=ada.email, template="support/followup", idempotency_key=key)
        row = EmailSend.objects.get()
        assert row.status == "queued"  # the row never learnt the provider took it
        clock.shift(timedelta(minutes=3))  # the dispatch lease expires
        return email_send(to=ada.email, template="support/followup", idempotency_key=key)


def test_a_provider_that_deduplicates_closes_the_window(ada, settings):
    settings.EMAIL_BACKEND = f"{__name__}.DedupingProvider"
    retry = killed_after_acceptance_then_retried(ada)
    assert retry.status == "sent"
    assert len(Provider.delivered) == 1
    row = EmailSend.objects.get()
    assert row.status == "sent" and row.attempts == 2 and str(row.pk) == retry.email_send_id


def test_the_provider_gets_the_journal_key_so_a_new_row_after_an_error_dedupes_too(
        ada, settings):
    settings.EMAIL_BACKEND = f"{__name__}.DedupingProvider"
    email_send(to=ada.email, template="support/followup", idempotency_key="k-same")
    assert Provider.delivered[0].extra_headers["Idempotency-Key"] == "k-same"


def test_a_keyless_send_still_gives_the_provider_a_key_of_its_own(ada, settings):
    settings.EMAIL_BACKEND = f"{__name__}.DedupingProvider"
    result = email_send(to=ada.email, template="support/followup")
    assert Provider.delivered[0].extra_headers["Idempotency-Key"] == result.email_send_id


def test_a_provider_without_keys_never_sees_the_header(ada, settings):
    settings.EMAIL_BACKEND = f"{__name__}.PlainProvider"
    email_send(to=ada.email, template="support/followup", idempotency_key="k-private")
    message = Provider.delivered[0]
    assert "Idempotency-Key" not in message.extra_headers
    assert "k-private" not in message.message().as_string()


def test_without_a_deduplicating_provider_the_re_drive_sends_again(ada, settings):
    """An unconfirmed send is re-driven, not assumed sent: the window a database cannot
    close alone."""
    settings.EMAIL_BACKEND = f"{__name__}.PlainProvider"
    retry = killed_after_acceptance_then_retried(ada)
    assert retry.status == "sent"
    assert len(Provider.delivered) == 2
    assert EmailSend.objects.get().status == "sent"
