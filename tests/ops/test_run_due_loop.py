"""The clock survives a database or broker that goes away and comes back."""

from __future__ import annotations

import os
import signal
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import OperationalError

from hogsend_site.management.commands import run_due

pytestmark = pytest.mark.django_db


def test_a_failing_pass_is_logged_and_retried_not_fatal(caplog, monkeypatch):
    calls = []
    previous = signal.getsignal(signal.SIGTERM)

    def handle_one(self, dispatch):
        calls.append(len(calls))
        if len(calls) <= 2:
            raise OperationalError("server closed the connection unexpectedly")
        os.kill(os.getpid(), signal.SIGTERM)  # the loop's own stop signal
        return False

    monkeypatch.setattr(run_due.Command, "handle_one", handle_one)
    monkeypatch.setattr(run_due, "MAX_BACKOFF", 0.01)
    with mock.patch.object(run_due.connections, "close_all") as close_all:
        try:
            call_command("run_due", "--loop", "--interval", "0.001")
        finally:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, signal.default_int_handler)
    assert calls == [0, 1, 2]
    assert close_all.call_count == 2
    assert "pass failed (2 in a row)" in caplog.text
