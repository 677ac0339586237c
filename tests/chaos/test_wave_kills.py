"""When the fault driver kills a qcluster (chaos/wave.py): only once the victim has had
its workers up for `kill_every` seconds by django-q's own status report, so a slow
start on a loaded machine is never killed before the cluster could take a task."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from django.db.utils import OperationalError
from django_q.conf import Conf
from django_q.status import Stat

from chaos.wave import START_LIMIT, Options, Wave


class FakeCluster:
    def __init__(self, name: str, pid: int, *, started_ago: float) -> None:
        self.name, self.popen = name, SimpleNamespace(pid=pid)
        self.started_at = time.monotonic() - started_ago
        self.kills = 0

    def supervise(self) -> bool:
        return False

    def kill(self) -> None:
        self.kills += 1

    def start(self) -> None:
        self.started_at = time.monotonic()


def make_wave(tmp_path, procs=None, kill_every: float = 3.0) -> Wave:
    options = Options(port=1, api_key="sk", mail_log=tmp_path / "mail.jsonl",
                      fault_file=tmp_path / "mail.fault", runs=1, kill_every=kill_every)
    return Wave(options, procs or {})


def report(monkeypatch, *stats) -> None:
    monkeypatch.setattr(Stat, "get_all", staticmethod(lambda: list(stats)))


def stat(pid: int, status: str, uptime: float) -> SimpleNamespace:
    return SimpleNamespace(pid=pid, status=status, uptime=lambda: uptime)


def test_a_cluster_still_starting_is_not_killed(monkeypatch, tmp_path):
    report(monkeypatch, stat(7, Conf.STARTING, 10.0))
    assert not make_wave(tmp_path).worked_long_enough(FakeCluster("q", 7, started_ago=10.0))


def test_a_cluster_is_killed_once_its_workers_were_up_for_kill_every_seconds(
        monkeypatch, tmp_path):
    wave, cluster = make_wave(tmp_path), FakeCluster("q", 7, started_ago=8.0)
    report(monkeypatch, stat(7, Conf.IDLE, 2.5))
    assert not wave.worked_long_enough(cluster)
    report(monkeypatch, stat(7, Conf.WORKING, 3.0))
    assert wave.worked_long_enough(cluster)


def test_another_clusters_status_does_not_count(monkeypatch, tmp_path):
    report(monkeypatch, stat(8, Conf.WORKING, 60.0))
    assert not make_wave(tmp_path).worked_long_enough(FakeCluster("q", 7, started_ago=8.0))


def test_a_cluster_that_never_reports_is_killed_after_the_start_limit(monkeypatch, tmp_path):
    report(monkeypatch)
    wave = make_wave(tmp_path)
    assert not wave.worked_long_enough(FakeCluster("q", 7, started_ago=START_LIMIT - 1))
    assert wave.worked_long_enough(FakeCluster("q", 7, started_ago=START_LIMIT + 1))


def test_an_unreadable_status_store_kills_nothing_yet(monkeypatch, tmp_path):
    def away():
        raise OperationalError("the database is restarting")

    monkeypatch.setattr(Stat, "get_all", staticmethod(away))
    assert not make_wave(tmp_path).worked_long_enough(FakeCluster("q", 7, started_ago=8.0))


@pytest.mark.parametrize("up", [False, True])
def test_the_kill_loop_kills_only_clusters_that_have_been_up(monkeypatch, tmp_path, up):
    clusters = {"qcluster-1": FakeCluster("qcluster-1", 7, started_ago=5.0),
                "qcluster-2": FakeCluster("qcluster-2", 8, started_ago=5.0)}
    status = Conf.WORKING if up else Conf.STARTING
    report(monkeypatch, stat(7, status, 5.0), stat(8, status, 5.0))
    wave = make_wave(tmp_path, clusters, kill_every=0.05)
    loop = threading.Thread(target=wave.chaos_loop)
    loop.start()
    time.sleep(1.0)
    wave.stop.set()
    loop.join(10)
    kills = sum(cluster.kills for cluster in clusters.values())
    assert wave.f.cluster_kills == kills
    assert (kills >= 1) if up else (kills == 0)
