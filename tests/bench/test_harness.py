"""`make bench`'s table: the pgbench limit and its fallback, the peer columns.

No database: these check the harness's wiring, not PostgreSQL's figures.
"""

from __future__ import annotations

import argparse
import json
import stat

import pytest

from bench import limits, peers  # limits puts bench/ on the path for run's own imports
from bench import run as bench_run


def fake_script(path, body: str):
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def pgbench_installed(monkeypatch):
    monkeypatch.setattr(limits.shutil, "which", lambda name: f"/usr/bin/{name}")


def test_missing_script_falls_back_to_the_python_figure_labelled(monkeypatch, tmp_path):
    monkeypatch.setattr(limits, "PG_LIMITS", tmp_path / "pg_limits.sh")
    single, rows, note = limits.pgbench_limits(5)
    assert (single, rows) == (None, None)
    assert "pg_limits.sh not found" in note

    result = limits.Limits(python=3_000, pgbench=None, pgbench_rows=None, pgbench_note=note)
    assert result.denominator == 3_000
    assert "Python serial insert limit" in result.label
    assert "pgbench unavailable" in result.label
    cells = result.rows()
    assert cells[0][0].startswith("database: pgbench limit not measured (")
    assert cells[-1][1:] == ("3,000", "1.00")


def test_pgbench_is_the_denominator_and_the_python_figure_its_fraction():
    result = limits.Limits(python=3_000, pgbench=6_000, pgbench_rows=600_000, pgbench_note="x")
    assert result.denominator == 6_000
    assert "pgbench limit (6,000 commits/s)" in result.label
    assert [row[1:] for row in result.rows()] == [
        ("6,000", "1.00"), ("600,000", ""), ("3,000", "0.50")]


def test_script_output_is_parsed_and_never_drops_the_bench_database(
        monkeypatch, tmp_path, pgbench_installed):
    seen = tmp_path / "bench_db"
    line = json.dumps({"pg_version": "15.20 (Debian)", "synchronous_commit": "on",
                       "fsync": "on", "single_row_insert": {"commits_per_s": 6492.1},
                       "batched_insert_1000": {"rows_per_s": 412000}})
    monkeypatch.setattr(limits, "PG_LIMITS", fake_script(
        tmp_path / "pg_limits.sh", f"echo \"$BENCH_DB $T1\" > {seen}\necho '{line}'\n"))
    monkeypatch.setattr(limits, "DB_NAME", "someone_bench")

    assert limits.pgbench_limits(6) == (
        6492.1, 412000.0, "synchronous_commit=on, fsync=on, PostgreSQL 15.20")
    assert seen.read_text().split() == ["someone_bench_pglimits", "6"]


def test_a_failing_script_is_reported_with_its_last_words(monkeypatch, tmp_path,
                                                          pgbench_installed):
    monkeypatch.setattr(limits, "PG_LIMITS", fake_script(
        tmp_path / "pg_limits.sh", "echo 'psql: connection refused' >&2\nexit 2\n"))
    assert limits.pgbench_limits(5) == (
        None, None, "pg_limits.sh failed: psql: connection refused")


def test_peers_are_known_names_only():
    assert bench_run.peer_names("dbos") == ["dbos"]
    assert bench_run.peer_names(" dbos, ") == ["dbos"]
    with pytest.raises(argparse.ArgumentTypeError, match="unknown peer nats"):
        bench_run.peer_names("dbos,nats")


def test_a_missing_peer_script_is_an_error_in_its_cells(monkeypatch, tmp_path):
    monkeypatch.setattr(peers, "DBOS_DIR", tmp_path)
    result = peers.run_dbos(e2e_n=10, burst_n=10, lead=1)
    assert "bench.py not found" in result.error
    assert result.cell(result.journeys_per_s, 6_000) == (result.error, "")
    assert result.burst_summary() == result.error


def test_the_table_gives_every_row_the_peer_columns(capsys, monkeypatch):
    monkeypatch.setenv("EMAIL_BACKEND", "bench.backends.NullProviderBackend")
    peer = peers.PeerResult(name="DBOS 3.4.0", journeys_per_s=24.3)
    rows = [("database", "6,000", "1.00"),
            ("(e2e) journeys/s", "30.0", bench_run.ratio(30, 6_000),
             *peer.cell(peer.journeys_per_s, 6_000))]
    bench_run.print_table(rows, "vs pgbench limit (6,000 commits/s)", [peer], quick=True)
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("|")]
    assert table[0] == ("| measure | Hogsend | vs pgbench limit (6,000 commits/s) | "
                        "DBOS 3.4.0 | vs the same limit |")
    assert table[2] == "| database | 6,000 | 1.00 |  |  |"
    assert table[3] == "| (e2e) journeys/s | 30.0 | 0.005 | 24.3 | 0.00405 |"
