"""The server processes' garbage-collector settings (hogsend_site/gc_tuning.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from django_q.signals import post_spawn

from hogsend_site.gc_tuning import YOUNG_THRESHOLD, server_gc_tune


@pytest.fixture
def gc_restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_a_qcluster_worker_freezes_its_start_up_heap_and_collects_young_objects_rarely(
    gc_restored: None,
) -> None:
    post_spawn.send(sender="django_q", proc_name="Process-test")

    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == YOUNG_THRESHOLD


def test_tuning_twice_changes_nothing_more(gc_restored: None) -> None:
    server_gc_tune()
    threshold = gc.get_threshold()
    server_gc_tune()

    assert gc.get_threshold() == threshold
