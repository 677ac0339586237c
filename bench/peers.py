"""Peers raced in the same `make bench` run, on the same PostgreSQL (`make bench PEERS=dbos`).

DBOS Transact 3.4.0 runs the support follow-up's shape (record the run, durable
sleep, send, wait for the answer, trigger) with `../shared/peers/dbos/bench.py`
(beside the checkout; its README says how it was measured). It needs its own
virtualenv, DBOS_VENV (default /tmp/dbos-venv), created here on first use with
`dbos==3.4.0 psycopg[binary]`: DBOS is a peer to compare with, never a dependency
of this project.

Its databases are named after BENCH_DB (`<BENCH_DB>_dbos`, `<BENCH_DB>_dbos_sys`)
so two people's runs do not drop each other's; each run drops and recreates them.

    .venv/bin/python bench/peers.py [--n 1000] [--lead 45]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# Only when missing: in front of the project root, bench/buckets.py would shadow the app.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parent))

from _setup import DB_NAME, ROOT, SERVER

DBOS_DIR = ROOT.parent / "shared" / "peers" / "dbos"
DBOS_VENV = Path(os.environ.get("DBOS_VENV", "/tmp/dbos-venv"))
DBOS_REQUIREMENTS = ["dbos==3.4.0", "psycopg[binary]"]
KNOWN = ("dbos",)


@dataclass
class PeerResult:
    """A peer's figures, or why it has none (`error`)."""

    name: str
    error: str = ""
    journeys_per_s: float | None = None  # end to end, N journeys started at once
    e2e_n: int = 0
    burst_n: int = 0
    burst_sent: int = 0
    burst_sends_per_s: float | None = None  # from the due instant to the last send
    lateness_p50: float | None = None
    lateness_p99: float | None = None
    threads: int | None = None  # the peer's threads with the burst parked
    raw: dict = field(default_factory=dict)

    def cell(self, value: float | None, denominator: float,
             fmt: str = "{:,.1f}") -> tuple[str, str]:
        """(value, ratio to the limit) for a table row; the error if there is no value."""
        if value is None:
            return (self.error or "n/a", "")
        return (fmt.format(value), f"{value / denominator:.3g}")


    def burst_summary(self) -> str:
        """The burst's "drained in / lateness p50 / p99", as our row prints it."""
        if self.lateness_p99 is None:
            return self.error or "n/a"
        wave = self.raw["burst"]["wave_s_T_to_last_send"]
        return (f"{wave:.1f}s / {self.lateness_p50:.1f}s / {self.lateness_p99:.1f}s "
                f"({self.threads:,} threads parked)")


def run_dbos(*, e2e_n: int, burst_n: int, lead: float) -> PeerResult:
    result = PeerResult(name="DBOS 3.4.0", e2e_n=e2e_n, burst_n=burst_n)
    script = DBOS_DIR / "bench.py"
    if not script.exists():
        result.error = f"{script} not found"
        return result
    try:
        python = dbos_python()
    except RuntimeError as exc:
        result.error = str(exc)
        return result
    env = {**os.environ, "BENCH_PG": SERVER, "BENCH_APP_DB": f"{DB_NAME}_dbos",
           "BENCH_SYS_DB": f"{DB_NAME}_dbos_sys"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DATABASE_URL", None)
    try:
        if e2e_n > 0:
            e2e = _run(python, script, ["e2e", "--n", str(e2e_n)], env)
            result.raw["e2e"] = e2e
            result.journeys_per_s = e2e["journeys_per_s"]
        if burst_n <= 0:
            return result
        burst = _run(python, script, ["burst", "--n", str(burst_n), "--lead", str(lead)], env)
        result.raw["burst"] = burst
        result.burst_sent = burst["sent"]
        result.burst_sends_per_s = burst["sends_per_s_from_T"]
        if burst.get("lateness_s"):
            result.lateness_p50 = burst["lateness_s"]["p50"]
            result.lateness_p99 = burst["lateness_s"]["p99"]
        result.threads = burst.get("threads_when_parked")
        if not burst.get("wave_complete"):
            result.error = f"sent {burst['sent']:,} of {burst_n:,} before the wave timeout"
    except RuntimeError as exc:
        result.error = str(exc)
    return result


def dbos_python() -> Path:
    """DBOS's own interpreter, its virtualenv created on first use."""
    python = DBOS_VENV / "bin" / "python"
    if python.exists():
        check = subprocess.run([str(python), "-c", "import dbos, psycopg"], capture_output=True)
        if check.returncode == 0:
            return python
    print(f"The DBOS peer needs its own virtualenv: creating {DBOS_VENV} with "
          f"{' '.join(DBOS_REQUIREMENTS)} (not a dependency of Hogsend; set DBOS_VENV to "
          "use another)", flush=True)
    base = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
    try:
        subprocess.run([base, "-m", "venv", str(DBOS_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        *DBOS_REQUIREMENTS], check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise RuntimeError(f"could not create {DBOS_VENV}: {exc}") from exc
    return python


def _run(python: Path, script: Path, args: list[str], env: dict[str, str]) -> dict:
    """One bench.py command; its progress goes to our stderr, its JSON line is returned."""
    print(f"DBOS peer: bench.py {' '.join(args)}", flush=True)
    try:
        done = subprocess.run([str(python), str(script), *args], cwd=script.parent, env=env,
                              stdout=subprocess.PIPE, text=True, timeout=1800)
    except subprocess.TimeoutExpired as exc:
        raise RuntimeError(f"bench.py {args[0]} timed out") from exc
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"bench.py {args[0]} failed (exit {done.returncode})")
    return json.loads(lines[-1])


def run(names: list[str], *, e2e_n: int, burst_n: int, lead: float) -> list[PeerResult]:
    runners = {"dbos": run_dbos}
    return [runners[name](e2e_n=e2e_n, burst_n=burst_n, lead=lead) for name in names]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1_000)
    parser.add_argument("--lead", type=float, default=45.0)
    args = parser.parse_args()
    result = run_dbos(e2e_n=args.n, burst_n=args.n, lead=args.lead)
    print(json.dumps({k: v for k, v in vars(result).items() if k != "raw"}))


if __name__ == "__main__":
    main()
