"""Profile the 09:00 burst (send + start the answer wait) on PostgreSQL.

    BENCH_DB=<name>_bench .venv/bin/python bench/profile_burst.py [--runs 1000] [--sort tottime]

Enrols --runs support follow-ups, parks them until the morning, makes them all due
and drains them under cProfile (timed in process CPU); prints the top functions.
`--no-cprofile` drains bare and prints the process CPU per email handed to the
backend (the number the send path is tuned by: time.process_time around the drain
/ sends). `--save FILE` keeps the raw profile for pstats.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

from _setup import setup


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--save", default="", help="write the raw profile to this file")
    parser.add_argument("--no-cprofile", action="store_true",
                        help="run the burst bare and print its CPU per send")
    args = parser.parse_args()
    setup()
    import engine

    from bench import backends

    engine.enroll(args.runs)
    engine.drain("first execution")
    if args.no_cprofile:
        sent, cpu = backends.sent, time.process_time()
        engine.burst()
        cpu, sent = time.process_time() - cpu, backends.sent - sent
        print(f"burst: {sent:,} sends, {cpu:.2f} s process CPU, "
              f"{cpu / max(sent, 1) * 1000:.3f} ms CPU per send")
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


if __name__ == "__main__":
    main()
