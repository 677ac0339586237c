"""The chaos run's email "provider": one JSON line per accepted message.

The file is what the provider actually received, counted independently of the
`EmailSend` rows. A fault file (`CHAOS_MAIL_FAULTS`, written by the driver)
makes the provider misbehave for a stretch:

- `fail`: every send raises at once (a provider outage);
- `timeout:<seconds>`: every send hangs, then raises without delivering (a
  provider that never answers; the message is not accepted);
- absent or empty: healthy.
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


def _line(message: Any) -> str:
    metadata = getattr(message, "metadata", None) or {}
    return json.dumps({
        "to": list(message.to), "subject": message.subject,
        "emailSendId": metadata.get("emailSendId", ""),
        "templateKey": metadata.get("templateKey", ""), "userId": metadata.get("userId", ""),
        "pid": os.getpid(), "at": time.time(),
    })


class FileBackend(BaseEmailBackend):
    """Appends one line per message to CHAOS_MAIL_LOG (with an exclusive lock)."""

    def send_messages(self, email_messages: list[Any]) -> int:
        _raise_fault(fault())
        path = os.environ["CHAOS_MAIL_LOG"]
        with open(path, "a") as log:
            fcntl.flock(log, fcntl.LOCK_EX)
            for message in email_messages:
                log.write(_line(message) + "\n")
            log.flush()
            os.fsync(log.fileno())
        return len(email_messages)
