"""Row (a) of bench/run.py alone: HTTP ingest through gunicorn, single and batch.

    BENCH_DB=ingest_bench .venv/bin/python bench/http_ingest.py [--seconds 8]
        [--web-workers 3] [--skip-batch]

Recreates BENCH_DB with bench/run.py's 20,000 people and key, starts gunicorn with
--web-workers processes and drives `POST /v1/events` (and `/v1/events/batch` of 500)
from 8 client threads on the same machine, as `make bench` does. Prints the rates
beside the database's single-row commit limit and the load average at that moment:
on a shared machine the rate says little without it.
"""

from __future__ import annotations

import argparse
import os

from _setup import insert_limit, setup


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--skip-batch", action="store_true")
    args = parser.parse_args()
    setup()
    from run import api_key, bench_env, gunicorn, http_ingest, people

    limit = insert_limit()
    people(20_000)
    key = api_key()
    with gunicorn(bench_env(), args.web_workers):
        single = http_ingest(key, False, args.seconds)
        load = os.getloadavg()
        batch = None if args.skip_batch else http_ingest(key, True, args.seconds)
        batch_load = os.getloadavg()
    print(f"database single-row insert commits/s: {limit:,.0f}")
    print(f"POST /v1/events (single): {single:,.0f} events/s "
          f"(load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
    if batch is not None:
        print(f"POST /v1/events/batch (500): {batch:,.0f} events/s = {batch / limit:.2f} of "
              f"the limit (load average {batch_load[0]:.2f} {batch_load[1]:.2f} "
              f"{batch_load[2]:.2f})")


if __name__ == "__main__":
    main()
