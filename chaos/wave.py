"""One wave of support follow-ups through the public paths, under faults.

The scenario (each contact gets one story, assigned round-robin from a seed):

    yes            answers "Yes, all sorted"            completed, 1 survey, 0 alerts
    no             answers "No, still broken"           completed, 1 survey, 1 alert
    no_comment     answers "No" and leaves a comment    completed, 1 survey, 1 alert
    silent         never answers                        completed (timed out), 1 survey
    reopen_early   ticket.reopened before the morning   exited, 0 surveys
    reopen_late    ticket.reopened after the survey     exited, 1 survey

Time is compressed from outside the engine, by UPDATEs a clock jump would
amount to: the 09:00 sleep (`wake_at`/`wait_deadline` of runs parked at
`next-morning`), the 30 s answer confirmation (`LinkClick.confirm_at`), the
alert's 3 min grace window (`HandlerJob.due_at`), the 4 day answer timeout of
the silent ones, retry backoffs (`speed` times faster), and leases: a lease
held for longer than `lease_seconds` is expired, as if a dead worker's lease
ran out (a live worker that slow is overtaken, which the keys must absorb).
"""

from __future__ import annotations

import html as html_lib
import http.client
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.db import connection
from django.db.utils import InterfaceError, OperationalError

STORIES = ("yes", "no", "no_comment", "silent", "silent", "yes", "no", "reopen_early",
           "reopen_late", "silent")
EXPECTED = {  # story -> (final status, surveys, alerts, timed out)
    "yes": ("completed", 1, 0, False),
    "no": ("completed", 1, 1, False),
    "no_comment": ("completed", 1, 1, False),
    "silent": ("completed", 1, 0, True),
    "reopen_early": ("exited", 0, 0, None),
    "reopen_late": ("exited", 1, 0, None),
}
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126"
ANCHOR = re.compile(r'<a\b[^>]*href="([^"]*/v1/t/c/[^"]+)"[^>]*>(.*?)</a>', re.S | re.I)
FORM_TOKEN = re.compile(
    r'name="form_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="form_token"')
# A cluster that has not reported itself up this long after its start is killed anyway.
START_LIMIT = 30.0
COMMENT = "Still broken after the update <script>alert(1)</script> — please call me."


@dataclass
class Options:
    port: int
    api_key: str
    mail_log: Path
    fault_file: Path
    runs: int = 1000
    seed: int = 7
    kill_every: float = 6.0
    lease_seconds: float = 60.0
    speed: float = 15.0
    sigterm: bool = False
    restart_postgres: bool = False
    restart_redis: bool = False
    flaky_email: bool = False
    timeout: float = 1200.0
    threads: int = 8
    log: Callable[[str], None] = lambda text: print(text, flush=True)


@dataclass
class Figures:
    runs: int = 0
    cluster_kills: int = 0
    cluster_sigterms: int = 0
    unclean_sigterms: int = 0
    self_restarts: int = 0
    postgres_restarts: int = 0
    redis_restarts: int = 0
    broker_tasks_lost: int = 0
    email_fault_seconds: float = 0.0
    http_requests: int = 0
    http_retries: int = 0
    leases_cut: Counter = field(default_factory=Counter)
    backoffs_cut: int = 0
    surveys_sent_rows: int = 0
    surveys_received: int = 0
    alerts_sent_rows: int = 0
    alerts_received: int = 0
    duplicates: int = 0
    in_doubt_redeliveries: int = 0
    provider_deduplicated: int = 0
    lost: int = 0
    wrong_outcome: int = 0
    overdue_waiting: int = 0
    comments_folded: int = 0
    comments_posted: int = 0
    dead_links: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.lost or self.wrong_outcome or self.overdue_waiting
                    or self.dead_links)


def db(fn: Callable[[], Any], attempts: int = 60) -> Any:
    """Run an ORM call, reconnecting through a database restart."""
    for attempt in range(attempts):
        try:
            return fn()
        except (OperationalError, InterfaceError):
            if attempt == attempts - 1:
                raise
            connection.close()
            time.sleep(0.5)
    return None


class Http:
    """A tiny client for the public paths; retries transport errors and 5xx."""

    def __init__(self, port: int, figures: Figures, api_key: str) -> None:
        self.port, self.figures, self.api_key = port, figures, api_key
        self.lock = threading.Lock()

    def request(self, method: str, path: str, *, body: bytes | None = None,
                headers: dict[str, str] | None = None, attempts: int = 40,
                ) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(attempts):
            with self.lock:
                self.figures.http_requests += 1
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request(method, path, body=body, headers=headers or {})
                response = conn.getresponse()
                data = response.read()
                conn.close()
                if response.status < 500:
                    return response.status, dict(response.getheaders()), data
            except OSError:
                pass
            with self.lock:
                self.figures.http_retries += 1
            time.sleep(min(0.25 * (attempt + 1), 2.0))
        raise RuntimeError(f"{method} {path} kept failing")

    def post_event(self, payload: dict[str, Any], key: str) -> None:
        status, _, data = self.request(
            "POST", "/v1/events", body=json.dumps(payload).encode(),
            headers={"Authorization": f"Bearer {self.api_key}",
                     "Content-Type": "application/json", "Idempotency-Key": key})
        if status != 202:
            raise RuntimeError(f"POST /v1/events answered {status}: {data[:200]!r}")


class Wave:
    def __init__(self, options: Options, procs: dict[str, Any]) -> None:
        self.o, self.procs = options, procs
        self.f = Figures(runs=options.runs)
        self.http = Http(options.port, self.f, options.api_key)
        rng = random.Random(options.seed)
        stories = [STORIES[i % len(STORIES)] for i in range(options.runs)]
        rng.shuffle(stories)
        self.story = {f"chaos-{i:05d}": story for i, story in enumerate(stories)}
        self.phase: set[str] = set()
        self.dead: set[str] = set()  # users whose answer link led nowhere
        self.stop = threading.Event()
        self.started = time.monotonic()

    # --- plumbing --------------------------------------------------------------------------

    def log(self, text: str) -> None:
        self.o.log(f"[{time.monotonic() - self.started:7.1f}s] {text}")

    def users(self, *stories: str) -> list[str]:
        return [user for user, story in self.story.items() if story in stories]

    def parallel(self, fn: Callable[[str], Any], users: list[str]) -> None:
        def one(user: str) -> None:
            try:
                fn(user)
            finally:
                connection.close()  # this thread's own connection

        with ThreadPoolExecutor(self.o.threads) as pool:
            for _ in pool.map(one, users):
                pass

    def wait_until(self, what: str, condition: Callable[[], bool]) -> None:
        """Poll until `condition` holds, within the wave's overall time budget."""
        deadline = self.started + self.o.timeout
        while not db(condition):
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            time.sleep(0.5)
        self.log(f"reached: {what}")

    # --- the background: faults and the compressed clock ---------------------------------

    def chaos_loop(self) -> None:
        clusters = [p for name, p in self.procs.items() if name.startswith("qcluster")]
        turn = 0
        next_kill = time.monotonic() + self.o.kill_every
        while not self.stop.wait(0.2):
            for proc in self.procs.values():
                if proc.supervise():
                    self.f.self_restarts += 1
                    self.log(f"{proc.name} had exited (code {proc.exits[-1]}): restarted")
            if self.o.kill_every <= 0 or time.monotonic() < next_kill:
                continue
            victim = clusters[turn % len(clusters)]
            if not self.worked_long_enough(victim):
                continue
            turn += 1
            if self.o.sigterm:
                clean = victim.terminate(timeout=90)
                self.f.cluster_sigterms += 1
                self.f.unclean_sigterms += 0 if clean else 1
            else:
                victim.kill()
                self.f.cluster_kills += 1
            victim.start()
            next_kill = time.monotonic() + self.o.kill_every
        connection.close()  # this thread's own connection (the status reads)

    def worked_long_enough(self, proc: Any) -> bool:
        """True once the cluster `proc` runs has had its workers up for `kill_every` s.

        A qcluster takes seconds to start on a loaded machine (Python, Django, the
        system checks, the URLconf): killed on a fixed clock, both clusters could die
        before they took a task, and the wave would test nothing but start-ups and
        time out. Its own status report (django-q's Stat, what `qinfo` shows) says
        when its workers are up; a start that never reports is killed after
        START_LIMIT like any other.
        """
        from django_q.conf import Conf
        from django_q.status import Stat

        if time.monotonic() - proc.started_at > START_LIMIT:
            return True
        try:
            stats = Stat.get_all()
        except Exception:  # the status store may be the database or Redis being restarted
            connection.close()
            return False
        return any(stat.pid == proc.popen.pid and stat.status in (Conf.IDLE, Conf.WORKING)
                   and stat.uptime() >= self.o.kill_every for stat in stats)

    def clock_loop(self) -> None:
        while not self.stop.wait(0.5):
            try:
                self.compress()
            except (OperationalError, InterfaceError):
                connection.close()
            except Exception as exc:  # the driver reports, never dies here
                self.log(f"compressor error: {exc!r}")
        connection.close()

    def compress(self) -> None:
        from chaos import sql

        with connection.cursor() as cursor:
            if self.o.lease_seconds > 0 and not self.o.sigterm:
                for name, statement in sql.LEASES.items():
                    cursor.execute(statement, [self.o.lease_seconds])
                    self.f.leases_cut[name] += cursor.rowcount
            cursor.execute(sql.RUN_BACKOFF, [self.o.speed])
            self.f.backoffs_cut += cursor.rowcount
            cursor.execute(sql.JOB_BACKOFF, [self.o.speed])
            self.f.backoffs_cut += cursor.rowcount
            if "morning" in self.phase:
                cursor.execute(sql.MORNING)
            if "confirm" in self.phase:
                cursor.execute(sql.CONFIRM)
            if "grace" in self.phase:
                cursor.execute(sql.GRACE)
            if "timeout" in self.phase:
                cursor.execute(sql.TIMEOUT, [self.users("silent")])

    # --- faults at chosen moments --------------------------------------------------------

    def restart_postgres(self) -> None:
        from chaos import services

        self.log("restarting PostgreSQL")
        services.restart_postgres()
        self.f.postgres_restarts += 1
        self.log("PostgreSQL is back")

    def restart_redis(self) -> None:
        from chaos import services

        try:
            from django_q.brokers import get_broker

            queued = get_broker().queue_size() or 0
        except Exception:  # the broker may already be in trouble
            queued = 0
        self.f.broker_tasks_lost += queued
        self.log(f"restarting Redis (shutdown nosave: {queued} queued task(s) are lost)")
        services.restart_redis()
        self.f.redis_restarts += 1
        self.log("Redis is back")

    def email_fault(self, mode: str, seconds: float) -> None:
        self.log(f"email provider: {mode} for {seconds:.0f}s")
        self.o.fault_file.write_text(mode)
        time.sleep(seconds)
        self.o.fault_file.write_text("")
        self.f.email_fault_seconds += seconds
        self.log("email provider healthy again")

    def in_background(self, fn: Callable[..., None], *args: Any) -> threading.Thread:
        thread = threading.Thread(target=fn, args=args, daemon=True)
        thread.start()
        return thread

    # --- the steps of the story -----------------------------------------------------------

    def ingest(self, user: str, event: str, properties: dict[str, Any]) -> None:
        self.http.post_event({"name": event, "userId": user, "email": f"{user}@chaos.example",
                              "eventProperties": properties}, key=f"{user}:{event}")

    def click(self, user: str) -> None:
        from tracking.models import EmailSend

        send = db(lambda: EmailSend.objects.filter(
            user_key=user, template_key="support/followup", status__in=EmailSend.POST_DISPATCH,
        ).exclude(html="").first())
        wanted = "Yes, all sorted" if self.story[user] == "yes" else "No, still broken"
        href = next(html_lib.unescape(url) for url, text in ANCHOR.findall(send.html)
                    if wanted in text)
        status, headers, _ = self.http.request(
            "GET", urlsplit(href).path, headers={"User-Agent": BROWSER})
        location = headers.get("Location", "")
        if status != 302 or "/v1/t/a/" not in location:
            # The email's answer link leads nowhere: the answer is lost.
            with self.http.lock:
                self.f.dead_links += 1
                self.dead.add(user)
                self.f.problems.append(f"dead link: {user} clicked {href} -> {status} "
                                       f"{location!r}")
            return
        if self.story[user] == "no_comment":
            self.comment(urlsplit(location).path)

    def comment(self, path: str) -> None:
        status, _, page = self.http.request("GET", path, headers={"User-Agent": BROWSER})
        match = FORM_TOKEN.search(page.decode())
        if status != 200 or not match:
            raise RuntimeError(f"answer page {path} answered {status} without a form")
        from urllib.parse import urlencode

        body = urlencode({"comment": COMMENT, "form_token": match[1] or match[2]}).encode()
        status, _, _ = self.http.request(
            "POST", path, body=body, headers={"User-Agent": BROWSER,
                                              "Content-Type": "application/x-www-form-urlencoded"})
        if status != 200:
            raise RuntimeError(f"comment on {path} answered {status}")
        self.f.comments_posted += 1

    # --- the wave -----------------------------------------------------------------------

    def run(self) -> Figures:
        from chaos import checks

        background = [self.in_background(self.chaos_loop), self.in_background(self.clock_loop)]
        try:
            self.steps()
        finally:
            self.stop.set()
            for thread in background:
                thread.join(120)
            self.o.fault_file.write_text("")
        checks.verify(self)
        self.f.seconds = time.monotonic() - self.started
        return self.f

    def steps(self) -> None:
        from chaos import sql

        n = self.o.runs
        self.log(f"ingesting {n} ticket.resolved events over HTTP")
        self.parallel(lambda u: self.ingest(u, "ticket.resolved", {"ticket_id": f"T-{u[6:]}"}),
                      list(self.story))
        self.wait_until(f"{n} runs parked at next-morning",
                        lambda: sql.count_runs(status="waiting", step="next-morning") == n)
        self.parallel(lambda u: self.ingest(u, "ticket.reopened", {}), self.users("reopen_early"))
        faults = self.start_faults("morning")
        self.phase.add("morning")
        surveyed = n - len(self.users("reopen_early"))
        self.wait_until(f"{surveyed} surveys sent and runs awaiting an answer",
                        lambda: sql.count_runs(status="waiting", step="await-answer") == surveyed)
        for thread in faults:
            thread.join()
        self.parallel(lambda u: self.ingest(u, "ticket.reopened", {}), self.users("reopen_late"))
        answering = self.users("yes", "no", "no_comment")
        self.log(f"clicking {len(answering)} tracked answer links (and commenting)")
        self.parallel(self.click, answering)
        faults = self.start_faults("answers")
        self.phase.add("confirm")
        answered = [user for user in answering if user not in self.dead]
        self.wait_until("every answer confirmed and its run finished",
                        lambda: sql.count_live(answered) == 0)
        self.phase.add("grace")
        self.phase.add("timeout")
        faults += self.start_faults("alerts")
        self.wait_until("every run finished and every alert job done",
                        lambda: sql.count_live(list(set(self.story) - self.dead)) == 0
                        and sql.jobs_pending() == 0)
        for thread in faults:
            thread.join()
        self.wait_until("no alert job pending after the faults", lambda: sql.jobs_pending() == 0)

    def start_faults(self, moment: str) -> list[threading.Thread]:
        threads = []
        if moment == "morning":
            if self.o.restart_postgres:
                threads.append(self.in_background(self._later, 2.0, self.restart_postgres))
            if self.o.flaky_email:
                threads.append(self.in_background(self._flaky, [("fail", 8), ("timeout:3", 9)]))
        if moment == "answers" and self.o.restart_redis:
            threads.append(self.in_background(self._later, 1.0, self.restart_redis))
        if moment == "alerts" and self.o.flaky_email:
            # While the reopen alerts go out (their handler retries twice).
            threads.append(self.in_background(self._flaky, [("fail", 5)]))
        return threads

    def _later(self, delay: float, fn: Callable[[], None]) -> None:
        time.sleep(delay)
        fn()

    def _flaky(self, stretches: list[tuple[str, float]]) -> None:
        for mode, seconds in stretches:
            self.email_fault(mode, seconds)
