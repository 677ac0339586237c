"""The clock: claim every due item (run wake-ups, confirmations, handler jobs)
and hand it to the workers.

`run_due` drains everything due at this instant and returns (cron, operators,
tests); `run_due --loop` keeps polling a few times a second until SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connections
from django.utils import timezone
from django_q.tasks import async_task

from hogsend_site.due import process_batch, run_due_once
from hogsend_site.gc_tuning import server_gc_tune

logger = logging.getLogger("hogsend_site.run_due")
# Longest pause between retries while the database or broker is away.
MAX_BACKOFF = 5.0


def _dispatch_to_queue(source_name: str, ids: list[Any]) -> None:
    # save=False: django-q stores no Success row (its save reads and locks the whole
    # result table per task); a failed batch is still stored.
    async_task(process_batch, source_name, ids, task_name=f"due:{source_name}:{len(ids)}",
               group=f"due:{source_name}", save=False)


def _queued() -> int:
    from django_q.brokers import get_broker

    return get_broker().queue_size() or 0


def _max_queued() -> int:
    workers = int(settings.Q_CLUSTER.get("workers") or 2)
    return getattr(settings, "DUE_MAX_QUEUED", None) or 2 * workers


def _dispatch_inline(source_name: str, ids: list[Any]) -> None:
    process_batch(source_name, ids)


class Command(BaseCommand):
    help = "Process deferred work that is due (once, or continuously with --loop)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running until SIGTERM")
        parser.add_argument("--interval", type=float, default=0.25,
                            help="seconds to sleep when nothing is due (--loop)")
        parser.add_argument("--inline", action="store_true",
                            help="process batches in this process instead of qcluster")

    def handle(self, *args, loop: bool, interval: float, inline: bool, **options) -> None:
        dispatch = _dispatch_inline if inline else _dispatch_to_queue
        if not loop:
            total = self.drain(dispatch)
            self.stdout.write(f"run_due: processed {total} due item(s)")
            return
        server_gc_tune()
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
        failures = 0
        while not stopping:
            close_old_connections()
            try:
                busy = self.handle_one(dispatch)
                failures = 0
            except Exception:
                # A restarted database or broker must not stop the clock: drop the
                # broken connections and try again with a short backoff. Whatever
                # was claimed but not handed over is claimed again when its lease
                # expires.
                failures += 1
                logger.exception("run_due: pass failed (%d in a row); retrying", failures)
                connections.close_all()
                time.sleep(min(interval * 2 ** failures, MAX_BACKOFF))
                continue
            if not busy:
                time.sleep(interval)

    def handle_one(self, dispatch) -> bool:
        """One pass over every source; True when something was claimed.

        Back-pressure: while the broker already holds enough batches for the
        workers, claim nothing. Claims are leases; a wave claimed far ahead of
        the workers would see its leases expire before the work starts.
        """
        if dispatch is _dispatch_to_queue and _queued() >= _max_queued():
            return False
        return run_due_once(timezone.now(), dispatch=dispatch) > 0

    def drain(self, dispatch) -> int:
        """Claim until nothing is due at this (possibly frozen) instant."""
        total = 0
        while True:
            claimed = run_due_once(timezone.now(), dispatch=dispatch)
            if not claimed:
                return total
            total += claimed
