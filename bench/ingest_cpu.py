"""App CPU per `POST /v1/events` (and per batch of 500) on PostgreSQL, in-process.

    BENCH_DB=ingest_bench .venv/bin/python bench/ingest_cpu.py [--requests 2000]
        [--batches 20] [--profile] [--sort tottime] [--top 40]

Recreates the BENCH_DB database with the people bench/run.py's HTTP row uses, then
calls the WSGI application itself (the same Django app gunicorn serves, without the
sockets) with the same bodies as bench/run.py's http_ingest. CPU is this process's
`time.process_time` divided by requests: on a shared, loaded machine that is the
figure that compares before and after, where requests per second do not. The
budget for 1,000 events/s from 3 workers on 2 cores with the load generator on the
same box is about 1.2 ms per request.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import time

from _setup import Timer, setup


def environ(path: str, body: bytes, key: str) -> dict:
    return {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8765", "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8765", "HTTP_AUTHORIZATION": f"Bearer {key}",
        "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http", "wsgi.errors": io.StringIO(),
        "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def call(app, path: str, body: dict, key: str) -> None:
    statuses = []
    chunks = app(environ(path, json.dumps(body).encode(), key),
                 lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    if not statuses[0].startswith("202"):
        raise RuntimeError(f"{path} answered {statuses[0]}")


def single_body(n: int) -> dict:
    return {"name": "page.viewed", "userId": f"p{(n * 7919) % 20000}",
            "eventProperties": {"path": "/pricing"}}


def batch_body(n: int) -> dict:
    return {"events": [{"name": "page.viewed", "userId": f"p{(n * 500 + i) % 20000}",
                        "eventProperties": {"path": "/pricing"}} for i in range(500)]}


def measure(app, key: str, path: str, bodies: list[dict], profile: cProfile.Profile | None,
            ) -> Timer:
    for body in bodies[:20]:  # warm: imports, connection, caches
        call(app, path, body, key)
    if profile:
        profile.enable()
    with Timer() as t:
        for body in bodies:
            call(app, path, body, key)
    if profile:
        profile.disable()
    return t


def show_statements(app, key: str) -> None:
    """Each statement of one single and one batch request, with its wall time."""
    from django.db import connection

    def log(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            print(f"  {(time.perf_counter() - start) * 1000:8.1f} ms  {sql[:150]}")

    call(app, "/v1/events", single_body(1), key)
    with connection.execute_wrapper(log):
        print("one POST /v1/events:")
        call(app, "/v1/events", single_body(2), key)
        print("one POST /v1/events/batch:")
        call(app, "/v1/events/batch", batch_body(7), key)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sql", action="store_true", help="print one request's statements")
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    setup()
    from run import api_key, people

    from hogsend_site.wsgi import application

    people(20_000)
    key = api_key()
    # CPU time, not wall: on a loaded machine waiting would swamp the profile.
    profile = cProfile.Profile(time.process_time) if args.profile else None
    if args.sql:
        show_statements(application, key)
    single = measure(application, key, "/v1/events",
                     [single_body(n) for n in range(args.requests)], profile)
    if profile:
        profile.dump_stats("/tmp/ingest_cpu.prof")  # for pstats' callers/callees
        pstats.Stats(profile).strip_dirs().sort_stats(args.sort).print_stats(args.top)
    batch = measure(application, key, "/v1/events/batch",
                    [batch_body(n) for n in range(args.batches)], None)
    n, b = args.requests, args.batches
    print(f"single POST /v1/events: {single.cpu_seconds / n * 1000:.3f} ms CPU/request, "
          f"{single.seconds / n * 1000:.3f} ms wall/request ({n} requests)")
    print(f"batch of 500: {batch.cpu_seconds / b * 1000:.1f} ms CPU/request, "
          f"{batch.seconds / b * 1000:.1f} ms wall/request, "
          f"{b * 500 / batch.seconds:,.0f} events/s serial ({b} requests)")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
