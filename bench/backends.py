"""The email provider stubbed at the network edge: messages are built and
serialised exactly as for a real provider, then counted instead of sent.

`NullProviderBackend` is anymail's Resend backend with its HTTP post replaced: the
JSON payload an ESP API takes is built and serialised as in production (no MIME),
and the provider deduplicates on an `Idempotency-Key` (Resend, Brevo;
docs/operations.md, "The in-doubt send"), the recommended setup: a batch marks
its sends with one UPDATE. `NullPlainProviderBackend` is the same JSON provider
without deduplication (each send is then marked on its own), and
`NullSmtpBackend` does the MIME work an SMTP relay needs. Select one with
`EMAIL_BACKEND=bench.backends.<name>`.
"""

from __future__ import annotations

import json
import uuid

import requests
from anymail.backends.resend import EmailBackend as ResendBackend
from django.core.mail.backends.base import BaseEmailBackend

sent = 0


class NullPlainProviderBackend(ResendBackend):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("api_key", "bench-null-provider")
        super().__init__(**kwargs)

    def post_to_esp(self, payload, message) -> requests.Response:
        global sent
        payload.get_request_params(self.api_url)  # the JSON body the API would receive
        sent += 1
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps({"id": str(uuid.uuid4())}).encode()
        return response


class NullProviderBackend(NullPlainProviderBackend):
    idempotency_key_header = "Idempotency-Key"


class NullSmtpBackend(BaseEmailBackend):
    """An SMTP relay: the whole MIME message is built and encoded for each send."""

    def send_messages(self, email_messages) -> int:
        global sent
        for message in email_messages:
            message.message().as_bytes()
            sent += 1
        return len(email_messages)
