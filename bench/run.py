"""`make bench`: Hogsend's figures on PostgreSQL, each beside the database's own limit.

    .venv/bin/python bench/run.py [--runs 10000] [--big-burst 100000] [--waiting 1000000]
                                  [--seconds 8] [--skip-http] [--skip-answer]
                                  [--campaign 100000] [--e2e 1000] [--small-burst 1000]
                                  [--lead 45] [--peers dbos] [--quick]

`make bench PEERS=dbos` races DBOS Transact on the same work in the same run
(bench/peers.py); `make bench BENCH_ARGS=--quick` is a smoke test of the harness
(small N, no 1M-waiting or 100k rows). bench/README.md says what each row measures.

A database `hogsend_bench` on BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432)
is recreated. The email provider is stubbed at the network edge
(bench.backends.NullProviderBackend: messages are built and serialised, then counted;
a provider that deduplicates on keys, as Resend does; EMAIL_BACKEND=
bench.backends.NullPlainProviderBackend measures one that does not).

Measured:
  (e2e) whole support follow-ups per second, enrol -> due -> send -> answer -> trigger
      (bench/e2e.py), the work DBOS's bench.py runs, with the same N;
  (a) events ingested per second over HTTP (gunicorn, --web-workers processes),
      single `POST /v1/events` and `POST /v1/events/batch` of 500;
  (b) journeys enrolled per second (batches of 500 trigger events);
  (c) the 09:00 burst: --runs (enrolled through the real path) and --big-burst (parked
      runs inserted with SQL, identical to what the first execution leaves) due at one
      instant, drained by a qcluster and the run_due clock; sends per second and
      lateness p50/p99 (email handed to the backend minus the due instant); and
      --small-burst runs due --lead seconds after they were parked, DBOS's burst;
  (d) answer latency: a person's "No" click in Chromium to the journey's branch (the
      reopen request stored), confirmed at once by the answer page's beacon
      (bench/answer_latency.py); and a scanner-style click (a plain GET over HTTP),
      whose ~30 s scanner-safe confirmation delay is by design;
  (e) bytes stored per waiting run (table + indexes / live runs);
  (f) single-event ingest latency with 1,000 and --waiting runs waiting;
  (g) a broadcast to --campaign people drained by the same qcluster and clock, with
      1,000 journey runs due at the same instant (bench/campaign.py): sends/s, and
      the runs' lateness while it drains.
The database's limit, measured in this run (bench/limits.py): pgbench's single-row
INSERT commits/s with 4 clients is the denominator of every rate's ratio; one Python
client's serial INSERT+COMMIT/s is printed too (and is the labelled fallback when
pgbench is missing).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from _setup import DB_NAME, ROOT, SERVER, Timer, setup
from limits import measure as measure_limits
from peers import KNOWN as KNOWN_PEERS
from peers import run as run_peers

PORT = int(os.environ.get("BENCH_PORT", "8765"))
# The processes run as .env.production.example and docs/operations.md deploy them: a
# worker mostly waits on the database and the provider, so four per two cores (the
# settings' default of 2 is for `make demo`), and gunicorn's threaded workers.
PRODUCTION_Q_WORKERS = "4"
GUNICORN_THREADS = 4
_ports = iter(range(PORT, PORT + 100))
# --quick: every N small and the 1M-waiting and 100k rows skipped; flags given still win.
QUICK = {"runs": 1_000, "big_burst": 0, "waiting": 0, "seconds": 2.0, "campaign": 500,
         "e2e": 200, "small_burst": 200, "lead": 15.0, "limit_seconds": 5.0,
         "bucket_contacts": 20_000}


def peer_names(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = set(names) - set(KNOWN_PEERS)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown peer {', '.join(sorted(unknown))} (known: {', '.join(KNOWN_PEERS)})")
    return names


def ratio(value: float, limit: float) -> str:
    return f"{value / limit:.3g}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--big-burst", type=int, default=100_000)
    parser.add_argument("--waiting", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-answer", action="store_true")
    parser.add_argument("--campaign", type=int, default=100_000,
                        help="recipients of the broadcast row (0 skips it)")
    parser.add_argument("--bucket-contacts", type=int, default=1_000_000,
                        help="contacts of the buckets' sweep and backfill rows (h)")
    parser.add_argument("--e2e", type=int, default=1_000,
                        help="journeys in the end-to-end row, DBOS's e2e N (0 skips it)")
    parser.add_argument("--small-burst", type=int, default=1_000,
                        help="runs in the burst row beside DBOS's burst (0 skips it)")
    parser.add_argument("--lead", type=float, default=45.0,
                        help="seconds from parking to the due instant in that burst")
    parser.add_argument("--limit-seconds", type=float, default=30.0,
                        help="seconds pgbench measures single-row commits")
    parser.add_argument("--peers", type=peer_names, default=[],
                        help=f"comma-separated peers run on the same work: {','.join(KNOWN_PEERS)}")
    parser.add_argument("--quick", action="store_true",
                        help="small N everywhere, no 1M-waiting or 100k rows: a smoke test")
    args = parser.parse_args()
    if args.quick:
        parser.set_defaults(**QUICK)
        args = parser.parse_args()
    setup()
    # Rows: (measure, value, ratio to the limit[, peer value, peer ratio]...).
    rows: list[tuple[str, ...]] = []
    limits = measure_limits(seconds=args.limit_seconds)
    limit = limits.denominator
    rows.extend(limits.rows())
    # Peers run before our rows, alone on the box like each of ours.
    peers = run_peers(args.peers, e2e_n=args.e2e, burst_n=args.small_burst, lead=args.lead)

    def rate_row(label: str, rate: float, *peer_cells: str) -> None:
        rows.append((label, f"{rate:,.0f}" if rate >= 100 else f"{rate:,.1f}",
                     ratio(rate, limit), *peer_cells))

    people(20_000)
    key = api_key()
    env = bench_env()
    if not args.skip_http:
        with gunicorn(env, args.web_workers):
            rate_row("(a) events/s, POST /v1/events (single)",
                     http_ingest(key, False, args.seconds))
            rate_row("(a) events/s, POST /v1/events/batch (500)",
                     http_ingest(key, True, args.seconds))
    if args.e2e > 0:  # before (b): its runs would be due work for these workers
        from e2e import end_to_end

        e2e = end_to_end(args.e2e, env)
        rate_row(f"(e2e) journeys/s end to end, {args.e2e:,} started at once "
                 "(enrol, due, send, answer, trigger)", e2e.rate,
                 *(cell for peer in peers for cell in peer.cell(peer.journeys_per_s, limit)))
    rate_row("(b) journeys enrolled/s (batches of 500)", enroll(args.runs))
    # (label, runs, fabricated, lead, beside the peers' burst)
    bursts = (("(c) burst", args.runs, False, 0.0, False),
              ("(c) burst", args.small_burst, True, args.lead, True),
              ("(c) big burst", args.big_burst, True, 0.0, False))
    for label, n, fabricate, lead, compared in bursts:
        if n <= 0:
            continue
        sends, seconds, p50, p99, cpu = burst(n, fabricate, env, lead=lead,
                                           prefix="k" if compared else "b")
        due = f"due {lead:.0f} s after parking" if lead else "due at once"
        rate_row(f"{label}: {n:,} runs {due}, sends/s", sends / seconds,
                 *(cell for peer in peers for cell in (
                     peer.cell(peer.burst_sends_per_s, limit) if compared else ("", ""))))
        rows.append((f"{label}: CPU ms per send, workers (Python) / clock / PostgreSQL",
                     " / ".join(f"{cpu.get(role, 0.0) / max(sends, 1) * 1000:.2f}"
                                for role in ("workers", "clock", "postgres")), "",
                     *(cell for peer in peers for cell in ("", ""))))
        rows.append((f"{label}: drained in / lateness p50 / p99",
                     f"{seconds:.1f}s / {p50:.1f}s / {p99:.1f}s", "",
                     *(cell for peer in peers for cell in (
                         (peer.burst_summary(), "") if compared else ("", "")))))
    if not args.skip_answer:
        from answer_latency import person_answer_latency

        with gunicorn(env, 1):
            latency = answer_latency(env, samples=1 if args.quick else 5)
            person = person_answer_latency(f"http://127.0.0.1:{PORT}", lambda: workers(env),
                                           samples=3 if args.quick else 9)
        rows.append(("(d) answer latency, a person's click to branch (page beacon), p50",
                     f"{person:.1f}s", ""))
        rows.append(("(d) answer latency, scanner-style click to branch (30 s by design)",
                     f"{latency:.1f}s", ""))
    rows.append(("(e) bytes per waiting run (row + indexes + journal)",
                 f"{bytes_per_run():,.0f}", ""))
    small = ingest_latency_with_waiting(1_000)
    rows.append(("(f) ingest ms/event with 1,000 waiting", f"{small * 1000:.2f}", ""))
    if args.waiting > 1_000:
        large = ingest_latency_with_waiting(args.waiting)
        rows.append((f"(f) ingest ms/event with {args.waiting:,} waiting",
                     f"{large * 1000:.2f}", f"x{large / small:.2f} of 1k"))
    if args.campaign > 0:
        from campaign import broadcast

        result = broadcast(args.campaign, env, journeys=min(1_000, args.campaign))
        rate_row(f"(g) broadcast to {args.campaign:,} people, sends/s", result.rate)
        for label, value in result.rows()[1:]:
            rows.append((f"(g) {label}", value, ""))
    # (h) bench/buckets.py in its own process and database (its module name is the app's).
    rows.extend(json.loads(subprocess.run(
        [sys.executable, str(ROOT / "bench" / "buckets.py"), "--rows", "--contacts",
         str(args.bucket_contacts)], env={**os.environ, "BENCH_DB": f"{DB_NAME}_buckets"},
        check=True, stdout=subprocess.PIPE, text=True).stdout.splitlines()[-1]))
    print_table(rows, limits.label, peers, quick=args.quick)


def print_table(rows: list[tuple[str, ...]], limit_label: str, peers: list,
                *, quick: bool) -> None:
    columns = ["measure", "Hogsend", limit_label]
    for peer in peers:
        columns += [peer.name, "vs the same limit"]
    print()
    print(f"email provider stub: {os.environ['EMAIL_BACKEND']} (bench/backends.py); "
          f"Q_WORKERS={os.environ.get('Q_WORKERS', PRODUCTION_Q_WORKERS)}; gunicorn "
          f"{GUNICORN_THREADS} threads per worker; load average now "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
          + ("; --quick: small N, not for comparison with full runs" if quick else ""))
    for peer in peers:
        if peer.error:
            print(f"{peer.name}: {peer.error}")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = list(row) + [""] * (len(columns) - len(row))
        print("| " + " | ".join(cells) + " |")


# --- fixtures ------------------------------------------------------------------------

def people(n: int) -> None:
    from contacts.models import Contact

    Contact.objects.bulk_create(
        [Contact(external_id=f"p{i}", email=f"p{i}@example.com") for i in range(n)],
        batch_size=5_000)


def api_key() -> str:
    from hogsend_site.auth import api_key_create

    return api_key_create(name="bench", scopes=["admin"])[1]


def bench_env() -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "hogsend_site.settings",
            "DATABASE_URL": f"{SERVER}/{DB_NAME}", "PYTHONPATH": str(ROOT)}


class gunicorn:
    """gunicorn on a fresh port, every worker thread warmed; `threads` > 1 runs the
    threaded (gthread) workers production deploys, 1 the plain sync ones."""

    def __init__(self, env: dict[str, str], workers: int,
                 threads: int = GUNICORN_THREADS) -> None:
        self.env, self.workers, self.threads = env, workers, threads

    def __enter__(self) -> gunicorn:
        global PORT
        PORT = next(_ports)  # a fresh port: the last server may still be closing
        threads = ["--worker-class", "gthread", "--threads", str(self.threads)] if (
            self.threads > 1) else []
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "hogsend_site.wsgi",
             "--bind", f"127.0.0.1:{PORT}", "--workers", str(self.workers), *threads,
             "--log-level", "warning", "--preload"],
            cwd=ROOT, env=self.env, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        # Warm every worker thread (first requests load templates and open connections).
        for _ in range(self.workers * max(self.threads, 1) * 4):
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
        return self

    def __exit__(self, *exc: object) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(20)


# --- (a) HTTP ingest -------------------------------------------------------------------

def http_ingest(key: str, batch: bool, seconds: float, threads: int = 8) -> float:
    counts = [0] * threads
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        n = 0
        while time.monotonic() < stop:
            if batch:
                body = {"events": [{"name": "page.viewed",
                                    "userId": f"p{(index * 7919 + n + i) % 20000}",
                                    "eventProperties": {"path": "/pricing"}} for i in range(500)]}
            else:
                body = {"name": "page.viewed", "userId": f"p{(index * 7919 + n) % 20000}",
                        "eventProperties": {"path": "/pricing"}}
            path = "/v1/events/batch" if batch else "/v1/events"
            conn.request("POST", path, json.dumps(body), headers)
            response = conn.getresponse()
            response.read()
            if response.status != 202:
                raise RuntimeError(f"ingest answered {response.status}")
            n += 500 if batch else 1
        counts[index] = n

    with Timer() as t:
        workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
    rate = sum(counts) / t.seconds
    print(f"HTTP ingest ({'batch' if batch else 'single'}): {sum(counts):,} events, {rate:,.0f}/s")
    return rate


# --- (b) enrolment ---------------------------------------------------------------------

def enroll(n: int) -> float:
    from tracking.ingest import EventInput, events_ingest

    with Timer() as t:
        for offset in range(0, n, 500):
            events_ingest([EventInput(name="ticket.resolved", user_id=f"p{i % 20000}",
                                      properties={"ticket_id": f"T-{i}"})
                           for i in range(offset, min(n, offset + 500))])
    rate = n / t.seconds
    print(f"enrolled {n:,} runs: {rate:,.0f}/s ({t.cpu_seconds / n * 1000:.2f} ms CPU each)")
    return rate


# --- (c) the 09:00 burst ----------------------------------------------------------------

def burst(n: int, fabricate: bool, env: dict[str, str], *, lead: float = 0.0,
          prefix: str = "b") -> tuple[int, float, float, float, dict[str, float]]:
    """Every parked run made due `lead` seconds from now, with the workers up.

    Also returns the CPU seconds the drain cost each kind of process (the qcluster's
    workers, the clock, this database's PostgreSQL backends): the wave's sends/s on two
    cores is bounded by their sum per send, and the workers' share is the Python cost
    the send path is tuned by."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone
    from e2e import CpuMeter

    from journeys.models import LIVE_STATUSES, JourneyRun
    from tracking.models import EmailSend

    if fabricate:
        park_fabricated(n, prefix)
    else:
        drain_inline()  # first executions: every enrolled run parks until 09:00
    parked = JourneyRun.objects.filter(status="waiting", current_step="next-morning").count()
    with workers(env) as cluster:
        time.sleep(3)  # let the cluster start before the wave
        meter = CpuMeter({"qcluster": cluster.processes[0].pid,
                          "clock": cluster.processes[1].pid})
        meter.sample()  # backends already open count from here, not from their start
        meter.start()
        due = timezone.now() + timedelta(seconds=lead)
        JourneyRun.objects.filter(status="waiting", current_step="next-morning").update(
            wake_at=due, wait_deadline=due)
        # Poll through the clock's own partial index (cheap), not by counting sends:
        # a count over a 100k-row table twice a second took CPU from the workers.
        while JourneyRun.objects.filter(status__in=LIVE_STATUSES, wake_at__lte=due).exists():
            time.sleep(0.5)
        spent = meter.stop()
    # The qcluster's own processes (sentinel, pusher, monitor) are its "children" too:
    # all of them are the price of a worker pool, so they count as the workers'.
    cpu = {"workers": spent.get("qcluster", 0.0) + spent.get("qcluster children", 0.0),
           "clock": spent.get("clock", 0.0) + spent.get("clock children", 0.0),
           "postgres": spent.get("postgres", 0.0)}
    sent_at = sorted(EmailSend.objects.filter(created_at__gte=due, status="sent")
                     .values_list("sent_at", flat=True))
    seconds = (sent_at[-1] - due).total_seconds()
    late = [(s - due).total_seconds() for s in sent_at]
    print(f"burst of {parked:,}: drained in {seconds:.1f}s, {parked / seconds:,.0f} sends/s")
    connection.close()
    print("  CPU: " + ", ".join(f"{role} {value:.1f}s" for role, value in cpu.items()))
    return parked, seconds, late[len(late) // 2], late[int(len(late) * 0.99) - 1], cpu


def drain_inline() -> None:
    from django.utils import timezone

    from hogsend_site.due import process_batch, run_due_once

    while run_due_once(timezone.now(), dispatch=process_batch):
        pass


def park_fabricated(n: int, prefix: str = "b") -> None:
    """Insert contacts and runs parked at next-morning, as a first execution leaves them.

    `prefix` keeps each burst's ids and keys apart from an earlier burst's."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO contacts_contact (id, external_id, email, anonymous_id, timezone,
                properties, first_seen_at, last_seen_at, created_at, updated_at)
            SELECT md5(%(p)s || g)::uuid, %(p)s || '-' || g, %(p)s || g || '@example.com', NULL,
                '', '{}', now(), now(), now(), now() FROM generate_series(1, %(n)s) g
            """, {"p": prefix, "n": n})
        cursor.execute(
            """
            INSERT INTO journeys_journeyrun (id, journey_id, contact_id, user_key, user_email,
                status, current_step, context, version_hash, version_label, error_message,
                exit_reason, wake_at, waiting_event, wake_seq, wait_deadline, timezone,
                created_at, updated_at)
            SELECT md5(%(p)s || 'r' || g)::uuid, 'support-followup', md5(%(p)s || g)::uuid,
                %(p)s || '-' || g, %(p)s || g || '@example.com', 'waiting', 'next-morning',
                '{"ticket_id": "T"}', '', '', '', '', now() + interval '1 day', '', 0,
                now() + interval '1 day', '', now(), now()
            FROM generate_series(1, %(n)s) g
            """, {"p": prefix, "n": n})
        cursor.execute("ANALYZE")


class workers:
    """One qcluster (Q_WORKERS processes) and the run_due clock, its workers up on entry."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = {**env, "Q_WORKERS": env.get("Q_WORKERS", PRODUCTION_Q_WORKERS)}

    def __enter__(self) -> workers:
        python = sys.executable
        self.processes = [
            subprocess.Popen([python, "manage.py", "qcluster"], cwd=ROOT, env=self.env,
                             start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL),
            subprocess.Popen([python, "manage.py", "run_due", "--loop", "--interval", "0.05"],
                             cwd=ROOT, env=self.env, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        ]
        self.wait_ready()
        return self

    def wait_ready(self, limit: float = 60.0) -> None:
        """Wait for the cluster's own report (django-q's Stat) that its workers are up.

        On a loaded machine a qcluster takes 3-15 s to start; a row timed from a
        fixed sleep would count its start-up as the engine's lateness."""
        from django_q.conf import Conf
        from django_q.status import Stat

        cluster = self.processes[0]
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if cluster.poll() is not None:
                raise RuntimeError(f"qcluster exited with {cluster.returncode}")
            if any(stat.pid == cluster.pid and stat.status in (Conf.IDLE, Conf.WORKING)
                   for stat in Stat.get_all()):
                break
            time.sleep(0.25)
        else:
            print(f"qcluster did not report its workers up within {limit:.0f}s; going on")

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


# --- (d) answer latency ------------------------------------------------------------------

def answer_latency(env: dict[str, str], samples: int = 5) -> float:
    import re

    from tracking.models import EmailSend, UserEvent

    # Not the end-to-end row's people: they already answered, so their reopen exists.
    answered = UserEvent.objects.filter(event="support.reopen_requested").values("contact_id")
    sends = list(EmailSend.objects.filter(template_key="support/followup", status="sent")
                 .exclude(contact_id__in=answered)[:samples])
    latencies = []
    with workers(env):
        time.sleep(3)
        for send in sends:
            links = re.findall(r'href="[^"]*/v1/t/c/([0-9a-f-]+)"[^>]*>\s*No, still broken',
                               send.html)
            if not links:
                continue
            start = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=10)
            conn.request("GET", f"/v1/t/c/{links[0]}")
            conn.getresponse().read()
            while not UserEvent.objects.filter(event="support.reopen_requested",
                                               contact_id=send.contact_id).exists():
                if time.monotonic() - start > 120:
                    raise RuntimeError("the answer never reached the journey")
                time.sleep(0.2)
            latencies.append(time.monotonic() - start)
    print(f"answer latency: {[round(x, 1) for x in latencies]}")
    return statistics.median(latencies) if latencies else float("nan")


# --- (e) and (f) -------------------------------------------------------------------------

def bytes_per_run() -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size('journeys_journeyrun'), "
                       "pg_total_relation_size('journeys_steprecord'), "
                       "(SELECT count(*) FROM journeys_journeyrun)")
        run_bytes, step_bytes, runs = cursor.fetchone()
    return (run_bytes + step_bytes) / max(runs, 1)


def ingest_latency_with_waiting(waiting: int, samples: int = 500) -> float:
    from django.db import connection

    from tracking.ingest import EventInput, event_ingest

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM journeys_journeyrun WHERE journey_id = 'bench-waiting'")
        have = cursor.fetchone()[0]
        if have < waiting:
            cursor.execute(
                """
                INSERT INTO contacts_contact (id, external_id, email, anonymous_id, timezone,
                    properties, first_seen_at, last_seen_at, created_at, updated_at)
                SELECT md5('w' || g)::uuid, 'w-' || g, NULL, NULL, '', '{}', now(), now(), now(),
                    now()
                FROM generate_series(%s, %s) g ON CONFLICT DO NOTHING
                """, [have, waiting - 1])
            cursor.execute(
                """
                INSERT INTO journeys_journeyrun (id, journey_id, contact_id, user_key, user_email,
                    status, current_step, context, version_hash, version_label, error_message,
                    exit_reason, wake_at, waiting_event, wake_seq, timezone, created_at, updated_at)
                SELECT md5('r' || g)::uuid, 'bench-waiting', md5('w' || g)::uuid, 'w-' || g, '',
                    'waiting', 'await-answer', '{}', '', '', '', '', now() + interval '4 days',
                    'support.followup_answered', 0, '', now(), now()
                FROM generate_series(%s, %s) g
                """, [have, waiting - 1])
            cursor.execute("ANALYZE")
    timings = []
    for i in range(samples):
        with Timer() as t:
            event_ingest(EventInput(name="support.followup_answered", user_id=f"p{i}",
                                    properties={"answer": "yes"}))
        timings.append(t.seconds)
    median = statistics.median(timings)
    print(f"ingest with {waiting:,} waiting runs: {median * 1000:.2f} ms/event (median)")
    return median


if __name__ == "__main__":
    main()
