"""Profile the 09:00 burst (send + start the answer wait) on PostgreSQL.

    BENCH_DB=<name>_bench .venv/bin/python bench/profile_burst.py [--runs 1000] [--sort tottime]

Enrols --runs support follow-ups, parks them until the morning, makes them all due
and drains them under cProfile (timed in process CPU); prints the top functions.
`--no-cprofile` drains bare and prints the process CPU per email handed to the
backend (the number the send path is tuned by: time.process_time around the drain
/ sends). `--split` drains bare too and prints, per send, the CPU of each phase
(inclusive, indented under the phase it runs in), timed by wrapping the functions
below: a bare split, without cProfile's uneven inflation. `--save FILE` keeps the
raw profile for pstats.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import pstats
import time
from collections.abc import Callable
from typing import Any

from _setup import setup

# (label, depth, where): the function is looked up, and replaced, at `where`.
PHASES = [
    ("executions of the runs (replays)", 0, "journeys.engine.runner._execute"),
    ("send prepared (checks, render)", 1, "journeys.engine.sends.email_prepare"),
    ("preference checks, blockers", 2, "tracking.mailer.check_preferences"),
    ("unsubscribe tokens", 2, "tracking.mailer.add_unsubscribe"),
    ("render (skeleton fill)", 2, "tracking.skeleton.render_send"),
    ("sends written and sent", 0, "tracking.mailer.emails_dispatch"),
    ("rows COPY", 1, "tracking.mailer.rows_insert"),
    ("provider (anymail payload, stub)", 1,
     "bench.backends.NullPlainProviderBackend.send_messages"),
    ("provider message built", 1, "tracking.mailer.provider_message"),
    ("status re-reads", 1, "journeys.engine.send_policy.live_runs"),
    ("marked sent", 1, "tracking.mailer.mark_sent_many"),
    ("runs loaded", 0, "journeys.engine.runner._Loaded.__init__"),
    ("waits", 0, "journeys.engine.batch.Batch._flush_waits"),
    ("parks", 0, "journeys.engine.batch.Batch.flush_parks"),
    ("timeline", 0, "journeys.engine.runner._write_logs"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--save", default="", help="write the raw profile to this file")
    parser.add_argument("--no-cprofile", action="store_true",
                        help="run the burst bare and print its CPU per send")
    parser.add_argument("--split", action="store_true",
                        help="run the burst bare and print each phase's CPU per send")
    args = parser.parse_args()
    setup()
    import engine

    from bench import backends

    split = _Split(PHASES) if args.split else None
    engine.enroll(args.runs)
    engine.drain("first execution")
    if args.no_cprofile or split:
        if split:
            split.reset()
        sent, cpu = backends.sent, time.process_time()
        engine.burst()
        cpu, sent = time.process_time() - cpu, backends.sent - sent
        print(f"burst: {sent:,} sends, {cpu:.2f} s process CPU, "
              f"{cpu / max(sent, 1) * 1000:.3f} ms CPU per send")
        if split:
            split.report(max(sent, 1))
        return
    # CPU time, not wall time: on a shared machine waits on the database and
    # other processes' load would otherwise swamp the Python work being tuned.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    engine.burst()
    profiler.disable()
    if args.save:
        profiler.dump_stats(args.save)
    pstats.Stats(profiler).strip_dirs().sort_stats(args.sort).print_stats(args.top)


class _Split:
    """Process CPU spent inside each phase's function (inclusive of what it calls)."""

    def __init__(self, phases: list[tuple[str, int, str]]) -> None:
        self.phases = phases
        self.spent = dict.fromkeys((where for _, _, where in phases), 0.0)
        self.missing = [where for _, _, where in phases if not self._wrap(where)]

    def reset(self) -> None:
        self.spent = dict.fromkeys(self.spent, 0.0)

    def _wrap(self, where: str) -> bool:
        owner_path, _, name = where.rpartition(".")
        owner = _owner(owner_path)
        real = getattr(owner, name, None) if owner is not None else None
        if real is None:
            return False
        setattr(owner, name, self._timed(where, real))
        return True

    def _timed(self, where: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return real(*args, **kwargs)
            finally:
                self.spent[where] += time.process_time() - start

        return timed

    def report(self, sends: int) -> None:
        for label, depth, where in self.phases:
            if where not in self.missing:
                print(f"  {'  ' * depth}{label}: {self.spent[where] / sends * 1000:.3f} ms/send")
        if self.missing:
            print(f"  (not found, so not timed: {', '.join(self.missing)})")


def _owner(path: str) -> Any:
    """The module or class at a dotted path, or None."""
    try:
        return importlib.import_module(path)
    except ImportError:
        module, _, attribute = path.rpartition(".")
        try:
            return getattr(importlib.import_module(module), attribute, None)
        except ImportError:
            return None


if __name__ == "__main__":
    main()
