"""A short fault run (`make chaos` in small): support follow-ups through the public
HTTP paths while a qcluster is SIGKILLed and restarted every few seconds.

PostgreSQL only (the driver compresses time with PostgreSQL UPDATEs, and two
clusters need real concurrent writers); the ORM broker keeps it self-contained.
Every run must end as its story says, every expected survey and alert must be
sent exactly once in the database and received at least once by the provider,
and any extra receipt must be an in-doubt re-drive (a worker killed between the
provider accepting a message and the row recording it: see docs/operations.md).
"""

from __future__ import annotations

import os
import socket

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from chaos.checks import table, verify
from chaos.procs import Proc, gunicorn, manage, wait_http
from chaos.wave import Options, Wave
from hogsend_site.auth import api_key_create
from tests.journeys.test_worker_kill import database_url

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="fault runs need PostgreSQL"),
]

RUNS = 24


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def cluster(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hogsend_site.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": "",
        "SECRET_KEY": settings.SECRET_KEY,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "EMAIL_BACKEND": "chaos.backends.FileBackend",
        "CHAOS_MAIL_LOG": str(tmp_path / "mail.jsonl"),
        "CHAOS_MAIL_FAULTS": str(tmp_path / "mail.fault"),
        "HOSTED_PAGE_RATE_LIMIT": "",
        "ANYMAIL_WEBHOOK_SECRET": "chaos:test",
        "LOG_LEVEL": "WARNING",
        "Q_WORKERS": "2",
    }
    procs = {
        "web": Proc("web", gunicorn(port), env, tmp_path),
        "clock": Proc("clock", manage("run_due", "--loop", "--interval", "0.1"), env, tmp_path),
        "qcluster-1": Proc("qcluster-1", manage("qcluster"), env, tmp_path),
        "qcluster-2": Proc("qcluster-2", manage("qcluster"), env, tmp_path),
    }
    for proc in procs.values():
        proc.start()
    try:
        wait_http(port)
        yield port, procs
    finally:
        for proc in procs.values():
            proc.kill()


def test_a_wave_under_sigkills_loses_nothing_and_sends_each_email_once(cluster, tmp_path):
    port, procs = cluster
    cache.clear()
    options = Options(
        port=port, api_key=api_key_create(name="chaos", scopes=["ingest"])[1],
        mail_log=tmp_path / "mail.jsonl", fault_file=tmp_path / "mail.fault", runs=RUNS,
        kill_every=3.0, lease_seconds=6.0, timeout=45.0, threads=6, log=lambda text: None,
    )
    wave = Wave(options, procs)
    try:
        figures = wave.run()
    except TimeoutError as exc:
        verify(wave)
        pytest.fail(f"{exc}\n{table(wave.f)}")
    report = table(figures)
    assert figures.cluster_kills >= 1, report  # the wave must actually be under fire
    assert figures.lost == figures.wrong_outcome == figures.overdue_waiting == 0, report
    assert figures.surveys_sent_rows == RUNS - len(wave.users("reopen_early")), report
    assert figures.alerts_sent_rows == len(wave.users("no", "no_comment")), report
    # Provider receipts: never fewer than the rows; any extra is an in-doubt re-drive.
    assert figures.duplicates == figures.in_doubt_redeliveries, report
