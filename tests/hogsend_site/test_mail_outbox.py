"""The local outbox backend keeps every message (found with demo_support_followup)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import time_machine
from django.core.mail import EmailMessage

from hogsend_site import mail

OVERWRITES = (
    "LocalOutboxBackend names files <now>-<per-process counter>: two processes (web, "
    "qcluster, run_due, a re-run of demo_support_followup under a frozen clock) that send "
    "at the same instant write the same name and the later message overwrites the "
    "earlier one. Fix: add os.getpid() (or a random token) to the stem and create the "
    "file exclusively (open mode 'xb'), retrying with the next counter on FileExistsError."
)



def test_two_processes_sending_at_the_same_instant_keep_both_messages(
    settings, tmp_path, monkeypatch
):
    settings.EMAIL_OUTBOX_DIR = tmp_path
    backend = mail.LocalOutboxBackend(fail_silently=True)
    with time_machine.travel(datetime(2026, 6, 17, 7, 0, tzinfo=UTC), tick=False):
        for subject in ("first process", "second process"):
            monkeypatch.setattr(mail, "_counter", itertools.count(1))  # a fresh process
            backend.send_messages([EmailMessage(subject, "body", to=["a@example.com"])])
    assert len(list(tmp_path.glob("*.eml"))) == 2
