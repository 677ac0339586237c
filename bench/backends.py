"""The email provider stubbed at the network edge: messages are built and
serialised exactly as for a real provider, then counted instead of sent."""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend

sent = 0


class NullProviderBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        global sent
        for message in email_messages:
            message.message().as_bytes()  # the MIME work a provider client would do
            sent += 1
        return len(email_messages)
