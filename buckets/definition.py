"""`define_bucket(...)`: a bucket is a named membership predicate, declared in code.

One module per bucket under `buckets/definitions/` (or a package listed in
BUCKET_PACKAGES), found at start-up like the journeys and filtered by
ENABLED_BUCKETS. A bucket has no code of its own: membership follows its
criteria (see `buckets.criteria`), and every join or leave is ingested as the
event `bucket:entered:<id>` / `bucket:left:<id>`, which journeys trigger and
exit on like any other event.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from buckets import criteria as criteria_mod
from buckets.criteria import Condition, CriteriaError

ENTRY_LIMITS = ("unlimited", "once", "once_per_period")
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")


class DefinitionError(TypeError):
    """A bucket definition is invalid; the message names the bucket and the place."""


@dataclass(frozen=True)
class Bucket:
    id: str
    name: str
    criteria: Condition
    description: str = ""
    entry_limit: str = "unlimited"
    entry_period: timedelta | None = None
    max_dwell: timedelta | None = None
    # As declared; `time_based` (below) also infers it from the criteria.
    declared_time_based: bool = False
    backfill_emits: bool = False
    source: str = ""
    # The property keys and event names the criteria read (the ingest index).
    property_keys: frozenset[str] = frozenset()
    event_names: frozenset[str] = frozenset()
    # 12 hex of SHA-256 over what decides membership (criteria, max_dwell): a
    # change starts a new backfill.
    criteria_hash: str = ""

    @property
    def entered_event(self) -> str:
        return f"bucket:entered:{self.id}"

    @property
    def left_event(self) -> str:
        return f"bucket:left:{self.id}"

    @functools.cached_property
    def compiled(self) -> criteria_mod.Compiled:
        """The criteria as closures, built on first use (the evaluation hot path)."""
        return criteria_mod.compile_tree(self.criteria)

    @functools.cached_property
    def time_based(self) -> bool:
        """Time alone can change membership (an event window, or a max_dwell box), so
        the reconcile sweep keeps checks for it. Inferred from the definition; the
        declared flag only forces it on (nothing is scheduled unless a window or a
        max_dwell gives a time to look again)."""
        return (self.declared_time_based or self.max_dwell is not None
                or criteria_mod.is_time_dependent(self.criteria))


def _duration(value: Any, name: str, where: str) -> timedelta | None:
    if value is None:
        return None
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise DefinitionError(f"{where}: {name} must be a positive timedelta "
                              f"(use days()/hours()), got {value!r}")
    return value


def define_bucket(
    *,
    id: str,
    name: str,
    criteria: Any,
    description: str = "",
    entry_limit: str = "unlimited",
    entry_period: timedelta | None = None,
    max_dwell: timedelta | None = None,
    time_based: bool = False,
    backfill_emits: bool = False,
    kind: str = "dynamic",
) -> Bucket:
    """Declare a bucket (assign it to a module-level name so discovery finds it).

    `entry_limit` decides only whether `bucket:entered:<id>` is emitted when a
    person joins (`once`: on their first entry only; `once_per_period`: when at
    least `entry_period` has passed since they last left); the membership row
    is written and its `entry_count` advances either way. `max_dwell` removes a
    member that long after they joined (leave reason `max_dwell`); a person who
    still matches is held out until they stop matching, then may join again. `backfill_emits` makes
    the backfill (first deploy, changed criteria) emit `entered`/`left` like any
    transition; by default it is silent.
    """
    where = f"bucket {id!r}"
    if not isinstance(id, str) or not ID_RE.match(id):
        raise DefinitionError(f"{where}: id must be a lower-case slug "
                              f"(letters, digits, - and _; at most 80)")
    if not isinstance(name, str) or not name.strip():
        raise DefinitionError(f"{where}: name must be a non-empty string")
    if kind != "dynamic":
        raise DefinitionError(f"{where}: kind {kind!r} is not supported; buckets are dynamic "
                              f"(membership follows the criteria)")
    if entry_limit not in ENTRY_LIMITS:
        raise DefinitionError(f"{where}: entry_limit must be one of {', '.join(ENTRY_LIMITS)}, "
                              f"got {entry_limit!r}")
    period = _duration(entry_period, "entry_period", where)
    if entry_limit == "once_per_period" and period is None:
        raise DefinitionError(f"{where}: entry_limit 'once_per_period' needs entry_period")
    if entry_limit != "once_per_period" and period is not None:
        raise DefinitionError(f"{where}: entry_period applies only to 'once_per_period'")
    dwell = _duration(max_dwell, "max_dwell", where)
    try:
        tree = criteria_mod.normalize(criteria)
    except CriteriaError as exc:
        raise DefinitionError(f"{where}: {exc}") from exc
    if not any(criteria_mod.is_anchor(leaf, positive)
               for leaf, positive in criteria_mod.leaves(tree)):
        raise DefinitionError(
            f"{where}: criteria need at least one positive condition (a property that has a "
            f"value, an event that happened, or one that did not happen *within* a window); "
            f"otherwise every person with no data at all would be a member")
    meta = {"criteria": tree, "max_dwell": dwell.total_seconds() if dwell else None}
    digest = hashlib.sha256(("bucket-v1\n" + json.dumps(meta, sort_keys=True, default=str))
                            .encode()).hexdigest()[:12]
    return Bucket(
        id=id, name=name.strip(), criteria=tree, description=description,
        entry_limit=entry_limit, entry_period=period, max_dwell=dwell,
        declared_time_based=bool(time_based), backfill_emits=bool(backfill_emits),
        property_keys=criteria_mod.property_keys(tree), event_names=criteria_mod.event_names(tree),
        criteria_hash=digest, source=_caller_module(),
    )


def _caller_module() -> str:
    import inspect

    frame = inspect.currentframe()
    caller = frame.f_back.f_back if frame and frame.f_back else None
    return str(caller.f_globals.get("__name__", "")) if caller else ""
