"""Scale-out: two `qcluster` worker pools and two `run_due --loop` clocks share one
PostgreSQL database; every run completes exactly once and sends exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from contacts.models import Contact
from journeys.models import JourneyRun
from tests.journeys.test_worker_kill import database_url, wait_for
from tracking.ingest import EventInput, events_ingest
from tracking.models import EmailSend, UserEvent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="scale-out needs PostgreSQL"),
]

RUNS = 60


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def test_two_clusters_and_two_clocks_run_every_run_exactly_once(
    tmp_path, monkeypatch, kill_journey
):
    # Enrol with the runs due but not executed here: the clusters must do it.
    monkeypatch.setattr("journeys.services._queue_runs", lambda ids: None)
    contacts = [
        Contact.objects.create(external_id=f"s{n}", email=f"s{n}@example.com") for n in range(RUNS)
    ]
    events_ingest([EventInput(name="kill.go", contact_id=c.pk) for c in contacts])
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hogsend_site.settings",
        "DATABASE_URL": database_url(),
        "SECRET_KEY": settings.SECRET_KEY,
        "EMAIL_BACKEND": "tests.journeys.kill_journeys.RecordingBackend",
        "JOURNEY_PACKAGES": "journeys.definitions,tests.journeys.kill_journeys",
        "KILL_TEST_DELIVERIES": str(tmp_path / "deliveries.log"),
        "Q_WORKERS": "2",
        "REDIS_URL": "",
    }
    processes = [
        start(["qcluster"], env),
        start(["qcluster"], env),
        start(["run_due", "--loop", "--interval", "0.1"], env),
        start(["run_due", "--loop", "--interval", "0.1"], env),
    ]
    try:
        wait_for(
            lambda: (
                JourneyRun.objects.filter(journey_id="kill-test", status="completed").count()
                == RUNS
            ),
            timeout=120,
        )
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    time.sleep(0.2)
    deliveries = (tmp_path / "deliveries.log").read_text().splitlines()
    assert len(deliveries) == RUNS
    assert len(set(deliveries)) == RUNS  # one email per person, none twice
    assert EmailSend.objects.filter(status="sent").count() == RUNS
    assert UserEvent.objects.filter(event="kill.after").count() == RUNS
