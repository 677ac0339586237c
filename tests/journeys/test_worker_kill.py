"""A worker SIGKILLed mid-run loses nothing and duplicates nothing.

A real worker process (`manage.py run_due --inline`) runs the journey and is
killed with SIGKILL at a chosen point; a restarted worker (here: this process,
once the dead worker's lease has expired) replays the run from its journal.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from contacts.models import Contact
from journeys.models import JourneyRun
from tracking.ingest import EventInput, event_ingest
from tracking.models import EmailSend, UserEvent

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def start_worker(tmp_path: Path, **env: str) -> subprocess.Popen:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hogsend_site.settings",
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "EMAIL_BACKEND": "tests.journeys.kill_journeys.RecordingBackend",
        "JOURNEY_PACKAGES": "journeys.definitions,tests.journeys.kill_journeys",
        "KILL_TEST_DELIVERIES": str(tmp_path / "deliveries.log"),
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_due", "--inline"],
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


@pytest.fixture
def enrol(monkeypatch):
    """Enrol a contact with the run due but not executed here (the sync queue
    would run it inline): the worker process must pick it up."""
    monkeypatch.setattr("journeys.services._queue_runs", lambda ids: None)

    def enrol() -> JourneyRun:
        contact = Contact.objects.create(external_id="k1", email="k1@example.com")
        event_ingest(EventInput(name="kill.go", contact_id=contact.pk))
        return JourneyRun.objects.get(journey_id="kill-test")

    return enrol


def restart_after_lease_expiry() -> None:
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=False):
        call_command("run_due", "--inline", stdout=open(os.devnull, "w"))  # noqa: SIM115


def deliveries(tmp_path: Path) -> list[str]:
    log = tmp_path / "deliveries.log"
    return log.read_text().splitlines() if log.exists() else []


def test_a_worker_killed_inside_the_provider_call_sends_once_after_restart(
    kill_journey, enrol, tmp_path
):
    run = enrol()
    worker = start_worker(tmp_path, KILL_TEST_BACKEND_DELAY="30")
    wait_for(lambda: EmailSend.objects.filter(status="queued").exclude(html="").exists())
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    assert deliveries(tmp_path) == []
    restart_after_lease_expiry()
    assert len(mail.outbox) + len(deliveries(tmp_path)) == 1
    assert EmailSend.objects.get().status == "sent"
    run.refresh_from_db()
    assert run.status == "completed"
    assert UserEvent.objects.filter(event="kill.after").count() == 1


def test_a_worker_killed_after_its_send_resumes_without_sending_again(
    kill_journey, enrol, tmp_path
):
    run = enrol()
    worker = start_worker(tmp_path, KILL_TEST_PAUSE="30")
    wait_for(lambda: UserEvent.objects.filter(event="kill.sent").exists())
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    assert len(deliveries(tmp_path)) == 1
    run.refresh_from_db()
    assert run.status == "active"  # mid-run: nothing parked, nothing failed
    restart_after_lease_expiry()
    assert len(deliveries(tmp_path)) == 1 and mail.outbox == []
    assert EmailSend.objects.count() == 1
    assert UserEvent.objects.filter(event="kill.sent").count() == 1
    assert UserEvent.objects.filter(event="kill.after").count() == 1
    run.refresh_from_db()
    assert run.status == "completed"
