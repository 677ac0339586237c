"""`make chaos`: a wave of support follow-ups under faults, on PostgreSQL + Redis.

    python chaos/run.py [--runs 1000] [--kill-every 4] [--restart-postgres]
                        [--restart-redis] [--flaky-email] [--sigterm]

Recreates the database `hogsend_chaos`, flushes one Redis database, starts
gunicorn, two `manage.py qcluster` and one `manage.py run_due --loop`, drives
the scenario of `chaos/wave.py` through the public HTTP paths while a qcluster
is killed (or, with --sigterm, stopped) and restarted every few seconds, then
prints the figures. Exits 1 on any lost or duplicated send or alert, a run
that ended other than its story says, or a run left waiting past its deadline.

It restarts this machine's PostgreSQL / Redis when asked to: other users of
them see the restart too.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

PG = "postgres://postgres@127.0.0.1:5432"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--kill-every", type=float, default=6.0,
                        help="seconds between qcluster kills, each once its victim has "
                             "had its workers up that long (0: none)")
    parser.add_argument("--restart-postgres", action="store_true")
    parser.add_argument("--restart-redis", action="store_true")
    parser.add_argument("--flaky-email", action="store_true")
    parser.add_argument("--sigterm", action="store_true",
                        help="stop qclusters with SIGTERM instead of SIGKILL (no lease cuts)")
    parser.add_argument("--database", default="hogsend_chaos")
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--lease-seconds", type=float, default=60.0,
                        help="expire leases held longer than this (0: real leases)")
    parser.add_argument("--speed", type=float, default=15.0, help="retry backoff speed-up")
    parser.add_argument("--timeout", type=float, default=1200.0)
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


def recreate_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def environment(args: argparse.Namespace, work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "hogsend_site.settings",
        "DATABASE_URL": f"{PG}/{args.database}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{args.port}",
        "EMAIL_BACKEND": "chaos.backends.FileBackend",
        "CHAOS_MAIL_LOG": str(work / "mail.jsonl"),
        "CHAOS_MAIL_FAULTS": str(work / "mail.fault"),
        "HOSTED_PAGE_RATE_LIMIT": "",
        "SUPPORT_ALERT_EMAIL": "support@chaos.example",
        "ANYMAIL_WEBHOOK_SECRET": secrets.token_urlsafe(16),
        "LOG_LEVEL": "WARNING",
        "Q_WORKERS": "2",
        "PYTHONUNBUFFERED": "1",
    }


def processes(env: dict[str, str], port: int, work: Path) -> dict:
    from chaos.procs import Proc, gunicorn, manage

    return {
        "web": Proc("web", gunicorn(port), env, work),
        "clock": Proc("clock", manage("run_due", "--loop"), env, work),
        "qcluster-1": Proc("qcluster-1", manage("qcluster"), env, work),
        "qcluster-2": Proc("qcluster-2", manage("qcluster"), env, work),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    work = BASE_DIR / "var" / "chaos"
    work.mkdir(parents=True, exist_ok=True)
    for stale in work.glob("*"):
        stale.unlink()
    env = environment(args, work)
    os.environ.update(env)
    recreate_database(args.database)
    subprocess.run(["redis-cli", "-n", str(args.redis_db), "flushdb"], check=True,
                   capture_output=True)

    import django

    django.setup()
    from django.core.management import call_command

    from chaos.checks import table
    from chaos.procs import wait_http
    from chaos.wave import Options, Wave

    call_command("migrate", verbosity=0)
    out = StringIO()
    call_command("create_api_key", name="chaos", scope=["ingest"], stdout=out)
    api_key = out.getvalue().strip().splitlines()[-1]
    procs = processes(env, args.port, work)
    for proc in procs.values():
        proc.start()
    options = Options(
        port=args.port, api_key=api_key, mail_log=work / "mail.jsonl",
        fault_file=work / "mail.fault", runs=args.runs, seed=args.seed,
        kill_every=args.kill_every, lease_seconds=args.lease_seconds, speed=args.speed,
        sigterm=args.sigterm, restart_postgres=args.restart_postgres,
        restart_redis=args.restart_redis, flaky_email=args.flaky_email, timeout=args.timeout,
    )
    failure = None
    try:
        wait_http(args.port)
        time.sleep(2)  # let the clusters finish starting
        wave = Wave(options, procs)
        try:
            figures = wave.run()
        except TimeoutError as exc:
            failure = str(exc)
            from chaos.checks import verify

            verify(wave)
            figures = wave.f
            figures.seconds = time.monotonic() - wave.started
    finally:
        for proc in procs.values():
            proc.terminate(timeout=20)
    flags = " ".join(a for a in sys.argv[1:]) or "(defaults)"
    print(f"\n=== chaos figures: {flags}  (logs in {work}) ===")
    print(table(figures))
    if failure:
        print(f"  ! {failure}")
    ok = figures.ok and failure is None
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
