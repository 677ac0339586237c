"""A local email backend: every message is stored under EMAIL_OUTBOX_DIR.

Each message becomes `<timestamp>-<pid>-<n>.eml` (the full MIME message, openable in
any mail client) plus `.html` when it has an HTML part, and one line on stdout
names the file, so a newcomer can see exactly what would have been sent.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

_counter = itertools.count(1)
_lock = threading.Lock()


class LocalOutboxBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        outbox = Path(settings.EMAIL_OUTBOX_DIR)
        outbox.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            path, stem = _write_new(outbox, message.message().as_bytes())
            for content, mimetype in getattr(message, "alternatives", []) or []:
                if mimetype == "text/html":
                    (outbox / f"{stem}.html").write_text(content, encoding="utf-8")
            message.extra_headers.setdefault("X-Outbox-Path", str(path))
            if not self.fail_silently:
                recipients = ", ".join(message.to)
                print(f"[outbox] {message.subject!r} -> {recipients}: {path}", file=sys.stdout)
            sent += 1
        return sent


def _write_new(outbox: Path, data: bytes) -> tuple[Path, str]:
    """Write to a fresh file: web, workers and the clock may send in the same
    instant (or under a frozen test clock), so names carry the pid and files are
    created exclusively, never overwritten."""
    while True:
        with _lock:
            stem = f"{timezone.now():%Y%m%dT%H%M%S%f}-{os.getpid()}-{next(_counter):06d}"
        path = outbox / f"{stem}.eml"
        try:
            with open(path, "xb") as handle:
                handle.write(data)
        except FileExistsError:
            continue
        return path, stem
