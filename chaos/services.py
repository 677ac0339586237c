"""Restarting the shared services mid-wave (this machine's PostgreSQL 15 and Redis)."""

from __future__ import annotations

import subprocess
import time

REDIS_START = ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
               "--save", ""]


def restart_postgres() -> None:
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"],
                   check=True, capture_output=True)


def restart_redis() -> None:
    subprocess.run(["redis-cli", "shutdown", "nosave"], capture_output=True)
    for _ in range(50):
        if subprocess.run(["redis-cli", "ping"], capture_output=True).returncode != 0:
            break
        time.sleep(0.1)
    subprocess.run(REDIS_START, check=True, capture_output=True)
    for _ in range(100):
        if subprocess.run(["redis-cli", "ping"], capture_output=True, text=True).stdout.strip() \
                == "PONG":
            return
        time.sleep(0.1)
    raise RuntimeError("redis did not come back")
