"""The chaos run's email "provider": one JSON line per accepted message.

The file is what the provider actually received, counted independently of the
`EmailSend` rows. A fault file (`CHAOS_MAIL_FAULTS`, written by the driver)
makes the provider misbehave for a stretch:

- `fail`: every send raises at once (a provider outage);
- `timeout:<seconds>`: every send hangs, then raises without delivering (a
  provider that never answers; the message is not accepted);
- absent or empty: healthy.

Like Resend or Brevo, the provider deduplicates on an `Idempotency-Key` header
(the backend declares `idempotency_key_header`, so the mailer sends it): a
message whose key it already accepted is acknowledged again without a second
delivery, and counted on a `deduplicated` line. That is what makes a worker
killed after the provider accepted a message, before its row said `sent`,
harmless: the re-drive is answered, not delivered.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from typing import Any

from django.core.mail.backends.base import BaseEmailBackend


class ProviderDown(ConnectionError):
    """The chaos provider refused the message (no delivery happened)."""


def fault() -> str:
    path = os.environ.get("CHAOS_MAIL_FAULTS", "")
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _raise_fault(mode: str) -> None:
    if mode == "fail":
        raise ProviderDown("chaos: provider unavailable")
    if mode.startswith("timeout:"):
        time.sleep(float(mode.split(":", 1)[1]))
        raise TimeoutError("chaos: provider timed out")


IDEMPOTENCY_HEADER = "Idempotency-Key"


def _line(message: Any, key: str, *, deduplicated: bool = False) -> str:
    metadata = getattr(message, "metadata", None) or {}
    return json.dumps({
        "to": list(message.to), "subject": message.subject,
        "emailSendId": metadata.get("emailSendId", ""),
        "templateKey": metadata.get("templateKey", ""), "userId": metadata.get("userId", ""),
        "idempotencyKey": key, "deduplicated": deduplicated, "pid": os.getpid(),
        "at": time.time(),
    })


class _AcceptedKeys:
    """The keys already in the log, read incrementally (under the log's lock)."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.offset = 0

    def refresh(self, path: str) -> None:
        with open(path, "rb") as log:
            log.seek(self.offset)
            for raw in log:
                if not raw.endswith(b"\n"):
                    break  # a line torn by a killed writer: never accepted
                self.offset += len(raw)
                if key := json.loads(raw).get("idempotencyKey"):
                    self.keys.add(key)


_accepted = _AcceptedKeys()


class FileBackend(BaseEmailBackend):
    """Appends one line per message to CHAOS_MAIL_LOG (with an exclusive lock)."""

    idempotency_key_header = IDEMPOTENCY_HEADER

    def send_messages(self, email_messages: list[Any]) -> int:
        _raise_fault(fault())
        path = os.environ["CHAOS_MAIL_LOG"]
        with open(path, "a") as log:
            fcntl.flock(log, fcntl.LOCK_EX)
            _accepted.refresh(path)
            for message in email_messages:
                key = message.extra_headers.get(IDEMPOTENCY_HEADER, "")
                log.write(_line(message, key, deduplicated=key in _accepted.keys) + "\n")
            log.flush()
            os.fsync(log.fileno())
        return len(email_messages)
