"""Profile the 09:00 burst (send + start the answer wait) on PostgreSQL.

    .venv/bin/python bench/profile_burst.py [--runs 1000] [--sort tottime]

Enrols --runs support follow-ups, parks them until the morning, makes them all due
and drains them under cProfile; prints the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats

from _setup import setup


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--no-cprofile", action="store_true",
                        help="run the burst bare (to sample it with py-spy instead)")
    args = parser.parse_args()
    setup()
    import engine

    engine.enroll(args.runs)
    engine.drain("first execution")
    if args.no_cprofile:
        engine.burst()
        return
    profiler = cProfile.Profile()
    profiler.enable()
    engine.burst()
    profiler.disable()
    pstats.Stats(profiler).strip_dirs().sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
