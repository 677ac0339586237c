"""Row (a) of bench/run.py alone: HTTP ingest through gunicorn, single and batch.

    BENCH_DB=ingest_bench .venv/bin/python bench/http_ingest.py [--seconds 8]
        [--web-workers 3] [--threads 4] [--skip-batch] [--pgbench]

Recreates BENCH_DB with bench/run.py's 20,000 people and key, starts gunicorn with
--web-workers processes (gthread with --threads threads each, as
docs/operations.md runs it: keep-alive connections, 4 threads measured best of
1/2/4/8 on the 2-core box; --threads 1 is the sync worker `make bench` uses) and
drives `POST /v1/events` (and `/v1/events/batch` of 500) from 8 client threads on
the same machine, as `make bench` does. Prints the rates beside the database's
single-row commit limit (pgbench's with --pgbench, else one Python client's), the
load average at that moment, and the CPU milliseconds per event spent by each kind
of process (gunicorn's workers, their PostgreSQL backends, the client threads):
on a shared machine the rate says little without them.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import TYPE_CHECKING

from _setup import insert_limit, setup
from e2e import CpuMeter

if TYPE_CHECKING:
    from run import gunicorn


def measured(server: gunicorn, key: str, batch: bool, seconds: float) -> tuple[float, str]:
    """Events/s, and the CPU ms per event of each kind of process with the load."""
    from run import http_ingest

    meter = CpuMeter({"gunicorn": server.process.pid})
    meter.sample()
    meter.start()
    start = time.perf_counter()
    rate = http_ingest(key, batch, seconds)
    events = rate * (time.perf_counter() - start)
    spent = meter.stop()
    load = os.getloadavg()
    cpu = ", ".join(f"{role.replace('gunicorn children', 'workers').replace('driver', 'client')}"
                    f" {seconds_ / events * 1000:.2f}" for role, seconds_ in sorted(spent.items())
                    if role != "gunicorn")
    return rate, (f"CPU ms/event: {cpu}; load average {load[0]:.2f} {load[1]:.2f} "
                  f"{load[2]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4,
                        help="gunicorn threads per worker (above 1: the gthread worker)")
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--pgbench", action="store_true",
                        help="the limit from pgbench with 4 clients (bench/limits.py)")
    args = parser.parse_args()
    setup()
    from run import api_key, bench_env, gunicorn, people

    if args.pgbench:
        from limits import measure as measure_limits

        limits = measure_limits(seconds=10)
        limit, label = limits.denominator, limits.label
    else:
        limit = insert_limit()
        label = "one Python client's single-row insert commits/s"
    people(20_000)
    key = api_key()
    with gunicorn(bench_env(), args.web_workers, args.threads) as server:
        single, single_cpu = measured(server, key, False, args.seconds)
        batch = None if args.skip_batch else measured(server, key, True, args.seconds)
    worker = f"gthread x{args.threads}" if args.threads > 1 else "sync"
    print(f"database limit: {limit:,.0f} ({label})")
    print(f"POST /v1/events (single), {args.web_workers} {worker} workers: {single:,.0f} "
          f"events/s = {single / limit:.2f} of the limit; {single_cpu}")
    if batch is not None:
        print(f"POST /v1/events/batch (500): {batch[0]:,.0f} events/s = {batch[0] / limit:.2f} "
              f"of the limit; {batch[1]}")


if __name__ == "__main__":
    main()
