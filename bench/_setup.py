"""Shared bench setup: a dedicated PostgreSQL database, Django, migrations."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DB_NAME = os.environ.get("BENCH_DB", "hogsend_bench")


def setup(*, fresh: bool = True) -> None:
    """Point Django at a bench database (recreated when `fresh`) and migrate it."""
    import psycopg

    if fresh:
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    os.environ["DATABASE_URL"] = f"{SERVER}/{DB_NAME}"
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("ALLOWED_HOSTS", "*")
    os.environ.setdefault("EMAIL_BACKEND", "bench.backends.NullProviderBackend")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hogsend_site.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def insert_limit(seconds: float = 3.0) -> float:
    """The database's own limit: single-row INSERT + COMMIT transactions per second."""
    import psycopg

    with psycopg.connect(f"{SERVER}/{DB_NAME}", autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_probe (id bigserial primary key, v text)")
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            with conn.transaction():
                conn.execute("INSERT INTO bench_probe (v) VALUES ('x')")
            count += 1
        elapsed = time.perf_counter() - start
        conn.execute("DROP TABLE bench_probe")
    return count / elapsed


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        self.cpu = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
        self.cpu_seconds = time.process_time() - self.cpu
