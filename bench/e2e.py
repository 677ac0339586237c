"""Whole support follow-ups per second, end to end: the shape DBOS's bench.py runs.

    .venv/bin/python bench/e2e.py [--n 1000]

N journeys start at once and each goes enrol -> due -> send -> answer -> trigger:
the driver ingests N `ticket.resolved` events one after another (DBOS's driver
starts its workflows from one thread too); a qcluster and the run_due clock run
each first step, which parks the run until 09:00; the 09:00 sleep is compressed
by an UPDATE making parked runs due now (the clock jump the chaos wave uses; DBOS's
journey sleeps until "now"); the clock hands them to the workers, which send the
survey; an answering thread ingests a "no" (`support.followup_answered`) for each
send as soon as it sees it (DBOS's answerer polls its sends table the same way,
every 20 ms); the woken run triggers `support.reopen_requested` and completes.

Reported: N / (last run completed - first event ingested), and the CPU seconds per
journey of every process taking part (this driver, the qcluster and its workers,
the clock, and their PostgreSQL backends, read from /proc): on a loaded machine the
wall rate is noisy, the CPU is not. The journey is the
shipped `support-followup` with every guard, the real template and the tracked
mailer, against the provider stub of `make bench`. The support alerts the "no"
answers raise (due after a 3-minute grace) are drained after the timing, so they
do not land in a later row of `make bench`.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

# Only when missing: in front of the project root, bench/buckets.py would shadow the app.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parent))
if __name__ == "__main__":
    os.environ.setdefault("BENCH_DB", "hogsend_bench_e2e")

from _setup import DB_NAME, ROOT, SERVER, setup

PREFIX = "e2e-"
POLL = 0.02  # the answerer's and the clock-jump's poll interval, as DBOS's answerer


@dataclass
class Result:
    n: int
    seconds: float  # first ingest to the last run completed
    start_seconds: float  # the serial enrol loop alone
    cpu: dict[str, float]  # CPU seconds spent by each kind of process during the timing

    @property
    def rate(self) -> float:
        return self.n / self.seconds


TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_of(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds so far) of a live process, from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


class CpuMeter(threading.Thread):
    """CPU seconds of this process, the given processes' trees and this database's
    backends, sampled every 0.25 s so a process that exits mid-run (a recycled worker,
    a closed connection) keeps what it spent up to its last sample."""

    def __init__(self, roots: dict[str, int]) -> None:
        super().__init__(daemon=True)
        self.roots = {pid: name for name, pid in roots.items()}
        self.start_cpu: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self.stopping = threading.Event()

    def sample(self) -> None:
        import psycopg

        parents = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (seen := _cpu_of(int(entry))):
                parents[int(entry)] = seen
        roles = {os.getpid(): "driver"}
        for pid in parents:  # each process's nearest root names it
            walk = pid
            while walk in parents and walk not in self.roots and walk != os.getpid():
                walk = parents[walk][0]
            if walk in self.roots:
                roles[pid] = self.roots[walk] + ("" if walk == pid else " children")
        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
            backends = [pid for pid, in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", [DB_NAME])]
        roles.update(dict.fromkeys(backends, "postgres"))
        for pid, role in roles.items():
            if pid in parents:
                self.start_cpu.setdefault(pid, parents[pid][1])
                self.last[pid] = (role, parents[pid][1])

    def run(self) -> None:
        while not self.stopping.wait(0.25):
            self.sample()

    def stop(self) -> dict[str, float]:
        self.stopping.set()
        self.join()
        self.sample()
        spent: dict[str, float] = {}
        for pid, (role, cpu) in self.last.items():
            spent[role] = spent.get(role, 0.0) + cpu - self.start_cpu[pid]
        return spent


def contacts(n: int) -> None:
    from contacts.models import Contact

    Contact.objects.bulk_create(
        [Contact(external_id=f"{PREFIX}{i}", email=f"{PREFIX}{i}@example.com")
         for i in range(n)], batch_size=5_000)


def end_to_end(n: int, env: dict[str, str]) -> Result:
    from django.db import connection
    from django.db.models import Count, Max
    from django.utils import timezone
    from run import workers

    from journeys.models import TERMINAL_STATUSES, JourneyRun
    from tracking.ingest import EventInput, event_ingest

    contacts(n)
    runs = JourneyRun.objects.filter(journey_id="support-followup", user_key__startswith=PREFIX)
    stop = threading.Event()
    answered: set[str] = set()
    failure: list[BaseException] = []
    ingest_cpu = [0.0, 0.0]  # this process's CPU in the enrol ingests, in the answer ingests

    def driver() -> None:
        """Jump the clock over the 09:00 sleep and answer "no" to every survey sent."""
        from tracking.models import EmailSend

        sends = EmailSend.objects.filter(template_key="support/followup", status="sent",
                                         user_key__startswith=PREFIX)
        seen_up_to = timezone.now() - timedelta(seconds=5)
        try:
            while not stop.is_set():
                now = timezone.now()
                runs.filter(status="waiting", current_step="next-morning",
                            wake_at__gt=now).update(wake_at=now, wait_deadline=now)
                # sent_at is stamped before the row commits: look 5 s back for stragglers.
                fresh = [(user_key, sent_at) for user_key, sent_at in sends.filter(
                    sent_at__gte=seen_up_to - timedelta(seconds=5)).values_list(
                    "user_key", "sent_at") if user_key not in answered]
                for user_key, sent_at in fresh:
                    before = time.thread_time()
                    event_ingest(EventInput(name="support.followup_answered", user_id=user_key,
                                            properties={"answer": "no"}))
                    ingest_cpu[1] += time.thread_time() - before
                    answered.add(user_key)
                    seen_up_to = max(seen_up_to, sent_at)
                if not fresh:
                    stop.wait(POLL)
        except BaseException as exc:  # reported by the main thread
            failure.append(exc)
        finally:
            connection.close()

    cluster = workers(env)
    with cluster:
        time.sleep(3)  # let the cluster start, as before the burst
        thread = threading.Thread(target=driver, daemon=True)
        meter = CpuMeter({"qcluster": cluster.processes[0].pid,
                          "clock": cluster.processes[1].pid})
        meter.sample()  # backends already open count from here, not from their start
        meter.start()
        start = timezone.now()
        thread.start()
        before = time.thread_time()
        for i in range(n):
            event_ingest(EventInput(name="ticket.resolved", user_id=f"{PREFIX}{i}",
                                    properties={"ticket_id": f"E-{i}"}))
        ingest_cpu[0] = time.thread_time() - before
        started = timezone.now()
        deadline = time.monotonic() + max(300.0, n * 0.6)
        while runs.exclude(status__in=TERMINAL_STATUSES).exists() and not failure:
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        cpu = meter.stop()
        # The driver's own polling (the clock jump, the answerer's scan) is the bench's
        # harness, not the engine: shown apart.
        cpu["driver harness"] = cpu.pop("driver") - sum(ingest_cpu)
        cpu["driver enrol ingest"], cpu["driver answer ingest"] = ingest_cpu
        stop.set()
        thread.join(30)
        if failure:
            raise RuntimeError("the e2e driver failed") from failure[0]
        statuses = dict(runs.values_list("status").annotate(c=Count("pk")).order_by())
        if statuses != {"completed": n}:
            raise RuntimeError(f"e2e journeys did not all complete: {statuses}, "
                               f"{len(answered):,} answered")
        end = runs.aggregate(end=Max("completed_at"))["end"]
        drain_alerts()
    seconds = (end - start).total_seconds()
    print(f"e2e: {n:,} journeys in {seconds:.1f}s, {n / seconds:,.1f}/s "
          f"(enrol loop {(started - start).total_seconds():.1f}s, load average "
          f"{os.getloadavg()[0]:.1f})")
    print(f"e2e: CPU ms per journey {1000 * sum(cpu.values()) / n:,.1f}: " + ", ".join(
        f"{role} {1000 * seconds / n:,.1f}" for role, seconds in sorted(cpu.items())))
    return Result(n, seconds, (started - start).total_seconds(), cpu)


def drain_alerts(limit: float = 120.0) -> None:
    """Send the support alerts the answers raised now, outside the timing."""
    from django.utils import timezone

    from alerts.models import HandlerJob

    pending = HandlerJob.objects.filter(status=HandlerJob.Status.PENDING)
    deadline = time.monotonic() + limit
    while pending.exists() and time.monotonic() < deadline:
        pending.filter(due_at__gt=timezone.now()).update(due_at=timezone.now())
        time.sleep(0.5)
    left = pending.count()
    if left:
        print(f"e2e: {left:,} handler jobs still pending after {limit:.0f}s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000)
    args = parser.parse_args()
    setup()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "hogsend_site.settings",
           "DATABASE_URL": f"{SERVER}/{DB_NAME}", "PYTHONPATH": str(ROOT)}
    result = end_to_end(args.n, env)
    print(f"| end-to-end journeys/s (N={result.n:,}) | {result.rate:,.1f} |")


if __name__ == "__main__":
    main()
