"""`@define_journey(...)`: a journey is metadata plus a plain function."""

from __future__ import annotations

import hashlib
import inspect
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from journeys.engine.conditions import Condition, WhereSpec, normalize_where
from journeys.engine.deprecation import warn_once

ENTRY_LIMITS = ("once", "once_per_period", "unlimited")
DEFAULT_ENTRY_PERIOD = timedelta(hours=24)
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


class DefinitionError(TypeError):
    """A journey definition is invalid; the message says what and where."""


@dataclass(frozen=True)
class ExitRule:
    event: str
    where: list[Condition] = field(default_factory=list)


@dataclass(frozen=True)
class Journey:
    id: str
    name: str
    run: Callable[..., Any]
    trigger_event: str
    trigger_where: list[Condition]
    enabled: bool = True
    entry_limit: str = "unlimited"
    entry_period: timedelta | None = None
    suppress: timedelta | None = None
    exit_on: tuple[ExitRule, ...] = ()
    category: str | None = None
    description: str = ""
    version: str = ""
    holdout_percent: float = 0
    holdout_salt: str = ""
    version_hash: str = ""
    source: str = ""

    def __call__(self, user: Any, ctx: Any) -> Any:
        return self.run(user, ctx)

    @property
    def exit_events(self) -> frozenset[str]:
        return frozenset(rule.event for rule in self.exit_on)

    @property
    def effective_entry_period(self) -> timedelta:
        return self.entry_period or DEFAULT_ENTRY_PERIOD


def _where_of(spec: WhereSpec, where: str) -> list[Condition]:
    try:
        return normalize_where(spec)
    except TypeError as exc:
        raise DefinitionError(f"{where}: {exc}") from exc


def _duration(value: Any, name: str, journey_id: str) -> timedelta | None:
    if value is None:
        return None
    if not isinstance(value, timedelta) or value < timedelta(0):
        raise DefinitionError(
            f"journey {journey_id!r}: {name} must be a non-negative timedelta "
            f"(use days()/hours()/minutes()), got {value!r}"
        )
    return value


TriggerSpec = str | dict[str, Any]
ExitSpec = str | dict[str, Any] | list[str | dict[str, Any]] | tuple[str | dict[str, Any], ...]


def _event_rule(spec: Any, place: str, site: tuple[str, int]) -> ExitRule:
    """`"event.name"`, or `{"event": "event.name", "where": ...}` when a where is needed."""
    if isinstance(spec, str) and spec:
        return ExitRule(spec)
    if not isinstance(spec, dict) or not isinstance(spec.get("event"), str) or not spec["event"]:
        raise DefinitionError(
            f"{place} must be an event name or {{'event': '<name>', 'where': ...}}, got {spec!r}"
        )
    if spec.get("where") is None:
        warn_once(
            f"{place}={{'event': {spec['event']!r}}} without a 'where' is deprecated: "
            f"write the event name, {spec['event']!r}",
            site=site,
        )
    return ExitRule(spec["event"], _where_of(spec.get("where"), f"{place}.where"))


def _exit_rules(exit_on: ExitSpec, where: str, site: tuple[str, int]) -> tuple[ExitRule, ...]:
    specs = [exit_on] if isinstance(exit_on, str | dict) else exit_on
    if not isinstance(specs, list | tuple):
        raise DefinitionError(
            f"{where}: exit_on must be an event name or a list of them, got {exit_on!r}"
        )
    return tuple(
        _event_rule(spec, f"{where}: exit_on[{index}]", site) for index, spec in enumerate(specs)
    )


def _default_name(fn: Callable[..., Any], journey_id: str) -> str:
    """The first line of the function's docstring, else the id (a display field only)."""
    doc = inspect.getdoc(fn) or ""
    return doc.strip().splitlines()[0].strip() if doc.strip() else journey_id


def define_journey(
    *,
    id: str,
    trigger: TriggerSpec,
    name: str | None = None,
    enabled: bool = True,
    entry_limit: str = "unlimited",
    entry_period: timedelta | None = None,
    suppress: timedelta | None = None,
    exit_on: ExitSpec = (),
    category: str | None = None,
    description: str = "",
    version: str = "",
    holdout: dict[str, Any] | None = None,
) -> Callable[[Callable[..., Any]], Journey]:
    """Decorate `def run(user: User, ctx: RunContext) -> None` into a `Journey`.

    `trigger` is an event name (`"ticket.resolved"`), or
    `{"event": ..., "where": ...}` when a where is needed; `exit_on` is an event
    name or a list of names and such dicts. `name` defaults to the first line of
    the function's docstring, else the id. Errors name the journey and function.
    """

    def decorate(fn: Callable[..., Any]) -> Journey:
        where = f"journey {id!r} ({fn.__module__}.{fn.__qualname__})"
        _check_meta(where, id=id, name=name, entry_limit=entry_limit, version=version)
        if isinstance(trigger, list | tuple):
            raise DefinitionError(
                f"{where}: trigger takes one event name (a journey starts on one event), "
                f"got {trigger!r}"
            )
        # Deprecations point at the decorated function's first line.
        site = (fn.__code__.co_filename, fn.__code__.co_firstlineno)
        start = _event_rule(trigger, f"{where}: trigger", site)
        percent = float((holdout or {}).get("percent", 0) or 0)
        journey = Journey(
            id=id,
            name=name if name is not None else _default_name(fn, id),
            run=fn,
            enabled=bool(enabled),
            trigger_event=start.event,
            trigger_where=start.where,
            entry_limit=entry_limit,
            entry_period=_duration(entry_period, "entry_period", id),
            suppress=_duration(suppress, "suppress", id),
            exit_on=_exit_rules(exit_on or (), where, site),
            category=category,
            description=description,
            version=version,
            holdout_percent=min(max(percent, 0.0), 50.0),
            holdout_salt=str((holdout or {}).get("salt") or ""),
            source=fn.__module__,
        )
        return _with_hash(journey)

    return decorate


def _check_meta(where: str, *, id: str, name: str | None, entry_limit: str, version: str) -> None:
    if not isinstance(id, str) or not ID_RE.match(id):
        raise DefinitionError(f"{where}: id must be a non-empty slug (letters, digits, . _ : -)")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise DefinitionError(f"{where}: name must be a non-empty string")
    if entry_limit not in ENTRY_LIMITS:
        raise DefinitionError(
            f"{where}: entry_limit must be one of {', '.join(ENTRY_LIMITS)}, got {entry_limit!r}"
        )
    if version and not 1 <= len(version) <= 64:
        raise DefinitionError(f"{where}: version must be 1-64 characters")


def _normalized_source(fn: Callable[..., Any]) -> str:
    try:
        text = inspect.getsource(fn)
    except (OSError, TypeError):
        text = fn.__qualname__
    text = re.sub(r"#[^\n]*", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _with_hash(journey: Journey) -> Journey:
    """12 hex of SHA-256 over the run's source and meta (minus display fields)."""
    meta = {
        "id": journey.id,
        "trigger": {"event": journey.trigger_event, "where": journey.trigger_where},
        "entry_limit": journey.entry_limit,
        "entry_period": journey.entry_period.total_seconds() if journey.entry_period else None,
        "suppress": journey.suppress.total_seconds() if journey.suppress else None,
        "exit_on": [{"event": r.event, "where": r.where} for r in journey.exit_on],
        "category": journey.category,
        "holdout": journey.holdout_percent,
    }
    payload = "hsv1\n" + _normalized_source(journey.run) + "\n" + json.dumps(meta, sort_keys=True)
    digest = hashlib.sha256(payload.encode()).hexdigest()[:12]
    object.__setattr__(journey, "version_hash", digest)
    return journey
