"""Garbage-collector settings for the long-lived server processes.

A qcluster worker or a gunicorn worker starts with a large heap of objects that live
as long as the process (modules, settings, URL patterns, compiled templates), and
then allocates and frees many short-lived ones per batch or request, nearly all freed
by reference counting. With CPython's defaults (a young collection every 700 net
container allocations, a full one every hundred young ones or so) the collector keeps
walking that start-up heap and the young objects of a batch in progress, to find
almost no cyclic garbage. The usual production setting (Instagram's, among others):
freeze the start-up heap out of the collector's sight, and collect the young
generation far less often.

    from hogsend_site.gc_tuning import server_gc_tune
    server_gc_tune()   # once, after start-up, before forking workers or in each worker

It is called by gunicorn's master (hogsend_site/wsgi.py; before the fork with
--preload), by each qcluster worker as it spawns (django-q's post_spawn signal,
connected in hogsend_site/apps.py), and by the run_due clock's loop.
"""

from __future__ import annotations

import gc

# A young collection every 50,000 net container allocations instead of 700: a batch's
# objects are freed by reference counting long before that; the collector still runs
# often enough to reclaim the rare cycle.
YOUNG_THRESHOLD = 50_000


def server_gc_tune() -> None:
    """Freeze every object alive now (no collector will walk them again, and after a
    fork their pages stay shared) and make young collections rarer. Idempotent."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
