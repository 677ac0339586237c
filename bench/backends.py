"""The email provider stubbed at the network edge: messages are built and
serialised exactly as for a real provider, then counted instead of sent.

`NullProviderBackend` stands for a provider that deduplicates on an
`Idempotency-Key` (Resend, Brevo; docs/operations.md, "The in-doubt send"), the
recommended setup: a batch marks its sends with one UPDATE. `NullPlainProviderBackend`
is one that does not (each send is then marked on its own); select it with
`EMAIL_BACKEND=bench.backends.NullPlainProviderBackend`.
"""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend

sent = 0


class NullPlainProviderBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        global sent
        for message in email_messages:
            message.message().as_bytes()  # the MIME work a provider client would do
            sent += 1
        return len(email_messages)


class NullProviderBackend(NullPlainProviderBackend):
    idempotency_key_header = "Idempotency-Key"
