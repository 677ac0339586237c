"""PostgreSQL's own limits on this box, the denominator of every rate in `make bench`.

Two figures, both printed:

- pgbench: single-row JSONB INSERT commits/s with 4 clients, measured by
  `../shared/peers/dbos/pg_limits.sh` (beside the checkout). This is what the
  server can commit, and the ratio's denominator.
- one Python client doing serial INSERT + COMMIT (bench/_setup.py): bound by its
  own round trips, so about half of pgbench's figure; the fallback denominator,
  labelled as such, when pgbench or the script is missing or fails.

    .venv/bin/python bench/limits.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

# Only when missing: in front of the project root, bench/buckets.py would shadow the app.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parent))

from _setup import DB_NAME, ROOT, SERVER, insert_limit

PG_LIMITS = ROOT.parent / "shared" / "peers" / "dbos" / "pg_limits.sh"
# Where pg_limits.sh looks when pgbench is not on PATH (Debian's PostgreSQL 15).
PGBENCH_FALLBACK = Path("/usr/lib/postgresql/15/bin/pgbench")


@dataclass
class Limits:
    python: float  # serial INSERT+COMMIT from one Python client, per second
    pgbench: float | None  # pgbench single-row commits/s (4 clients), None if unavailable
    pgbench_rows: float | None  # pgbench rows/s in 1,000-row INSERTs
    pgbench_note: str  # why pgbench is missing, or the server settings it ran with

    @property
    def denominator(self) -> float:
        return self.pgbench or self.python

    @property
    def label(self) -> str:
        if self.pgbench:
            return f"vs pgbench limit ({self.pgbench:,.0f} commits/s)"
        return f"vs Python serial insert limit ({self.python:,.0f}/s; pgbench unavailable)"

    def rows(self) -> list[tuple[str, str, str]]:
        rows = []
        if self.pgbench:
            rows.append(("database: single-row insert commits/s, pgbench 4 clients "
                         f"({self.pgbench_note})", f"{self.pgbench:,.0f}", "1.00"))
            if self.pgbench_rows:
                rows.append(("database: rows/s in 1,000-row INSERTs, pgbench 2 clients",
                             f"{self.pgbench_rows:,.0f}", ""))
        else:
            rows.append((f"database: pgbench limit not measured ({self.pgbench_note})",
                         "n/a", ""))
        rows.append(("database: serial INSERT+COMMIT/s, one Python client (round-trip bound)",
                     f"{self.python:,.0f}", f"{self.python / self.denominator:.2f}"))
        return rows


def measure(*, seconds: float = 30.0) -> Limits:
    python = insert_limit(min(seconds, 3.0))
    pgbench, rows, note = pgbench_limits(seconds)
    return Limits(python=python, pgbench=pgbench, pgbench_rows=rows, pgbench_note=note)


def pgbench_limits(seconds: float) -> tuple[float | None, float | None, str]:
    """(single-row commits/s, batched rows/s, note) from pg_limits.sh, or Nones and why."""
    if not PG_LIMITS.exists():
        return None, None, f"{PG_LIMITS} not found"
    if not (shutil.which("pgbench") or os.access(PGBENCH_FALLBACK, os.X_OK)):
        return None, None, "pgbench not installed"
    if not shutil.which("psql"):
        return None, None, "psql not installed"
    url = urlsplit(SERVER)
    env = {**os.environ, "PGHOST": url.hostname or "127.0.0.1", "PGPORT": str(url.port or 5432),
           "PGUSER": url.username or "postgres",
           # The script drops and recreates $BENCH_DB: never the bench's own database.
           "BENCH_DB": f"{DB_NAME}_pglimits",
           "T1": str(max(int(seconds), 1)), "T2": str(max(int(seconds * 2 / 3), 1))}
    if url.password:
        env["PGPASSWORD"] = url.password
    print(f"measuring PostgreSQL's limits with pgbench ({PG_LIMITS}, ~{seconds * 5 / 3:.0f}s)",
          flush=True)
    try:
        done = subprocess.run(["bash", str(PG_LIMITS)], env=env, capture_output=True, text=True,
                              timeout=seconds * 2 + 180)
    except subprocess.TimeoutExpired:
        return None, None, "pg_limits.sh timed out"
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, None, f"pg_limits.sh failed: {tail[:120]}"
    result = json.loads(lines[-1])
    single = result["single_row_insert"]["commits_per_s"]
    rows = result["batched_insert_1000"]["rows_per_s"]
    note = (f"synchronous_commit={result['synchronous_commit']}, "
            f"fsync={result['fsync']}, PostgreSQL {result['pg_version'].split()[0]}")
    return float(single), float(rows), note


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    from _setup import setup

    setup()
    limits = measure(seconds=args.seconds)
    print(f"| measure | value | {limits.label} |")
    print("|---|---|---|")
    for row in limits.rows():
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
