"""Bucket criteria: a small builder, the plain condition tree it produces, and
its evaluation over what ingest knows about a person.

A tree is plain dicts, so a definition can be written with the builder or by
hand and hashed, stored and shown as JSON:

- ``{"type": "property", "property": "plan", "operator": "eq", "value": "trial"}``
  (operators ``eq neq gt gte lt lte in exists not_exists contains``; strict, as a
  journey's ``where``: ``"3" != 3``);
- ``{"type": "event", "event": "app.active", "check": "exists" | "not_exists" |
  "count", "within": <seconds> | None, "operator": "gte", "value": 3}`` (count
  only takes ``operator``/``value``: ``eq gt gte lt lte``);
- ``{"type": "all" | "any", "conditions": [...]}`` and ``{"type": "not",
  "condition": {...}}``.

The builder::

    all_(prop("plan").eq("trial"), prop("trial_days_left").lte(3))
    all_(event("app.active"), not_(event("app.active").within(days(30))))
    event("report.created").within(days(7)).at_least(3)

``event(name)`` on its own means "has happened (ever)", ``.within(d)`` narrows it
to the last ``d``; a list is ``all_``. Evaluation is pure: `evaluate` takes a
`Facts` (the person's properties and, per event name, the few aggregates the
criteria need) and never touches the database; `next_change` says when time
alone could change the answer (a window closing), which is when the reconcile
sweep looks again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from journeys.engine import conditions as property_conditions

PROPERTY_OPERATORS = (*property_conditions.OPERATORS, "in")
COUNT_OPERATORS = ("eq", "gt", "gte", "lt", "lte")
EVENT_CHECKS = ("exists", "not_exists", "count")
# Events the engine writes for bucket transitions: never criteria, so a
# transition can never cause another one (ingest's recursion stops at one level).
BUCKET_EVENT_PREFIX = "bucket:"

Condition = dict[str, Any]


class CriteriaError(TypeError):
    """A criteria tree is malformed; the message names the place (``criteria.all[1]``)."""


# --- The builder ---------------------------------------------------------------------


class _Prop(property_conditions._Prop):
    """The journeys' property builder (one vocabulary), plus `in_` for buckets."""

    def __init__(self, name: str) -> None:
        try:
            super().__init__(name)
        except TypeError as exc:
            raise CriteriaError(str(exc)) from exc

    def in_(self, values: Sequence[Any]) -> Condition:
        return self._cond("in", list(values))


class EventRef:
    """`event(name)`, optionally `.within(duration)`; used bare it means "exists"."""

    def __init__(self, name: str, within: timedelta | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise CriteriaError("event() needs a non-empty event name")
        self.name = name
        self.window = within

    def within(self, duration: timedelta) -> EventRef:
        return EventRef(self.name, duration)

    def _cond(self, check: str, operator: str | None = None, value: int | None = None
              ) -> Condition:
        within = self.window.total_seconds() if isinstance(self.window, timedelta) else self.window
        condition: Condition = {"type": "event", "event": self.name, "check": check,
                                "within": within}
        if operator is not None:
            condition["operator"], condition["value"] = operator, value
        return condition

    def exists(self) -> Condition:
        return self._cond("exists")

    def not_exists(self) -> Condition:
        return self._cond("not_exists")

    def count(self, operator: str, value: int) -> Condition:
        return self._cond("count", operator, value)

    def at_least(self, n: int) -> Condition:
        return self._cond("count", "gte", n)

    def more_than(self, n: int) -> Condition:
        return self._cond("count", "gt", n)

    def at_most(self, n: int) -> Condition:
        return self._cond("count", "lte", n)

    def less_than(self, n: int) -> Condition:
        return self._cond("count", "lt", n)

    def exactly(self, n: int) -> Condition:
        return self._cond("count", "eq", n)


def prop(name: str) -> _Prop:
    return _Prop(name)


def event(name: str) -> EventRef:
    return EventRef(name)


def all_(*conditions: Any) -> Condition:
    return {"type": "all", "conditions": list(conditions)}


def any_(*conditions: Any) -> Condition:
    return {"type": "any", "conditions": list(conditions)}


def not_(condition: Any) -> Condition:
    return {"type": "not", "condition": condition}


# --- Normalising and validating ------------------------------------------------------


def normalize(spec: Any, where: str = "criteria") -> Condition:
    """Builder output, dicts or a list (= all) into a validated plain tree."""
    if isinstance(spec, EventRef):
        return _event_leaf(spec.exists(), where)
    if isinstance(spec, list | tuple):
        return normalize({"type": "all", "conditions": list(spec)}, where)
    if not isinstance(spec, Mapping):
        raise CriteriaError(f"{where}: a condition must be a dict or a builder "
                            f"(prop/event/all_/any_/not_), got {type(spec).__name__}")
    kind = spec.get("type", "property")
    if kind in ("all", "any"):
        children = spec.get("conditions")
        if not isinstance(children, list | tuple) or not children:
            raise CriteriaError(f"{where}: {kind!r} needs a non-empty list of conditions")
        return {"type": kind, "conditions": [
            normalize(child, f"{where}.{kind}[{index}]") for index, child in enumerate(children)]}
    if kind == "not":
        if "condition" not in spec:
            raise CriteriaError(f"{where}: 'not' needs a 'condition'")
        return {"type": "not", "condition": normalize(spec["condition"], f"{where}.not")}
    if kind == "property":
        return _property_leaf(spec, where)
    if kind == "event":
        return _event_leaf(spec, where)
    raise CriteriaError(f"{where}: unknown condition type {kind!r}; expected property, event, "
                        f"all, any or not")


def _property_leaf(spec: Mapping[str, Any], where: str) -> Condition:
    name = spec.get("property")
    if not isinstance(name, str) or not name:
        raise CriteriaError(f"{where}: a property condition needs a non-empty 'property'")
    operator = spec.get("operator")
    if operator not in PROPERTY_OPERATORS:
        raise CriteriaError(f"{where}: unknown operator {operator!r} for property {name!r}; "
                            f"expected one of {', '.join(PROPERTY_OPERATORS)}")
    leaf: Condition = {"type": "property", "property": name, "operator": operator}
    if operator in ("exists", "not_exists"):
        return leaf
    if "value" not in spec:
        raise CriteriaError(f"{where}: operator {operator!r} on {name!r} needs a 'value'")
    value = spec["value"]
    if operator == "in" and (not isinstance(value, list | tuple) or not value):
        raise CriteriaError(f"{where}: 'in' on {name!r} needs a non-empty list of values")
    if operator in ("gt", "gte", "lt", "lte") and not _is_number(value):
        raise CriteriaError(f"{where}: {operator!r} on {name!r} needs a number, got {value!r}")
    if operator == "contains" and not isinstance(value, str):
        raise CriteriaError(f"{where}: 'contains' on {name!r} needs a string, got {value!r}")
    leaf["value"] = list(value) if operator == "in" else value
    return leaf


def _event_leaf(spec: Mapping[str, Any], where: str) -> Condition:
    name = spec.get("event")
    if not isinstance(name, str) or not name:
        raise CriteriaError(f"{where}: an event condition needs a non-empty 'event'")
    if name.startswith(BUCKET_EVENT_PREFIX):
        raise CriteriaError(f"{where}: bucket events ({name!r}) cannot be criteria: a "
                            f"bucket's membership may not depend on another bucket's transitions")
    check = spec.get("check", "exists")
    if check not in EVENT_CHECKS:
        raise CriteriaError(f"{where}: unknown check {check!r} on event {name!r}; expected one "
                            f"of {', '.join(EVENT_CHECKS)}")
    within = spec.get("within")
    if isinstance(within, timedelta):
        within = within.total_seconds()
    if within is not None and (not _is_number(within) or within <= 0):
        raise CriteriaError(f"{where}: 'within' on event {name!r} must be a positive duration "
                            f"(days(30)), got {spec.get('within')!r}")
    leaf: Condition = {"type": "event", "event": name, "check": check,
                       "within": float(within) if within is not None else None}
    if check == "count":
        operator, value = spec.get("operator"), spec.get("value")
        if operator not in COUNT_OPERATORS:
            raise CriteriaError(f"{where}: count on event {name!r} needs an operator among "
                                f"{', '.join(COUNT_OPERATORS)}, got {operator!r}")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise CriteriaError(f"{where}: count on event {name!r} needs a whole number >= 0, "
                                f"got {value!r}")
        leaf["operator"], leaf["value"] = operator, value
    return leaf


def leaves(tree: Condition) -> list[tuple[Condition, bool]]:
    """Every leaf with its polarity (False under an odd number of `not`s)."""
    found: list[tuple[Condition, bool]] = []

    def walk(node: Condition, positive: bool) -> None:
        if node["type"] in ("all", "any"):
            for child in node["conditions"]:
                walk(child, positive)
        elif node["type"] == "not":
            walk(node["condition"], not positive)
        else:
            found.append((node, positive))

    walk(tree, True)
    return found


def is_anchor(leaf: Condition, positive: bool) -> bool:
    """A leaf that says something a person *has* (so not everyone matches by default).

    A time-bounded "did not happen lately" counts as one, as in the reference;
    a bare "never did X" or "X is not Y" does not.
    """
    if leaf["type"] == "property":
        negative = leaf["operator"] in ("neq", "not_exists")
        return negative != positive
    if leaf["check"] == "count":
        # An anchor when the (possibly negated) count cannot hold for someone with none.
        return _compare(0, leaf["operator"], leaf["value"]) != positive
    # What the leaf asks once the `not`s above it are applied.
    happened = (leaf["check"] == "exists") == positive
    return happened or leaf["within"] is not None


def property_keys(tree: Condition) -> frozenset[str]:
    return frozenset(leaf["property"] for leaf, _ in leaves(tree) if leaf["type"] == "property")


def event_names(tree: Condition) -> frozenset[str]:
    return frozenset(leaf["event"] for leaf, _ in leaves(tree) if leaf["type"] == "event")


def is_time_dependent(tree: Condition) -> bool:
    """True when time passing alone can change the answer (some event window)."""
    return any(leaf["type"] == "event" and leaf["within"] is not None for leaf, _ in leaves(tree))


# --- Evaluating ----------------------------------------------------------------------


@dataclass(frozen=True)
class EventStat:
    """What the criteria need about one event name for one person.

    `last` is the latest occurrence (None: never); `total` the count ever (only
    when a count without a window asks); `windows` maps a window in seconds to
    (count within it, earliest occurrence within it).
    """

    last: datetime | None = None
    total: int = 0
    windows: Mapping[float, tuple[int, datetime | None]] = field(default_factory=dict)


NO_EVENTS = EventStat()


@dataclass(frozen=True)
class Facts:
    properties: Mapping[str, Any]
    events: Mapping[str, EventStat] = field(default_factory=dict)


@dataclass(frozen=True)
class StatNeed:
    """One aggregate the database must supply: kind is last | total | count | first."""

    kind: str
    event: str
    within: float | None = None


def needs(tree: Condition) -> set[StatNeed]:
    """The aggregates over event history that evaluating `tree` reads."""
    wanted: set[StatNeed] = set()
    for leaf, _ in leaves(tree):
        if leaf["type"] != "event":
            continue
        if leaf["check"] in ("exists", "not_exists"):
            wanted.add(StatNeed("last", leaf["event"]))
        elif leaf["within"] is None:
            wanted.add(StatNeed("total", leaf["event"]))
        else:
            wanted.add(StatNeed("count", leaf["event"], leaf["within"]))
            wanted.add(StatNeed("first", leaf["event"], leaf["within"]))
    return wanted


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _compare(actual: int, operator: str, expected: int) -> bool:
    return {"eq": actual == expected, "gt": actual > expected, "gte": actual >= expected,
            "lt": actual < expected, "lte": actual <= expected}[operator]


def _property_matches(leaf: Condition, properties: Mapping[str, Any]) -> bool:
    if leaf["operator"] == "in":
        if leaf["property"] not in properties:
            return False
        return any(property_conditions.evaluate({**leaf, "operator": "eq", "value": option},
                                                properties) for option in leaf["value"])
    return property_conditions.evaluate(leaf, properties)


def _event_matches(leaf: Condition, stat: EventStat, now: datetime) -> bool:
    window = leaf["within"]
    if leaf["check"] in ("exists", "not_exists"):
        # A window is (now - within, now]: an event exactly `within` ago has left it,
        # so the sweep that runs at that instant already sees the change.
        happened = stat.last is not None and (
            window is None or stat.last > now - timedelta(seconds=window))
        return happened if leaf["check"] == "exists" else not happened
    count = stat.total if window is None else stat.windows.get(window, (0, None))[0]
    return _compare(count, leaf["operator"], leaf["value"])


def evaluate(tree: Condition, facts: Facts, now: datetime) -> bool:
    kind = tree["type"]
    if kind == "all":
        return all(evaluate(child, facts, now) for child in tree["conditions"])
    if kind == "any":
        return any(evaluate(child, facts, now) for child in tree["conditions"])
    if kind == "not":
        return not evaluate(tree["condition"], facts, now)
    if kind == "property":
        return _property_matches(tree, facts.properties)
    return _event_matches(tree, facts.events.get(tree["event"], NO_EVENTS), now)


def next_change(tree: Condition, facts: Facts, now: datetime) -> datetime | None:
    """The earliest instant after `now` at which a window closes on an event the
    criteria read (the answer may change then without any new event), or None.

    Conservative: a window closing on a branch that cannot change the overall
    answer still counts (the sweep then finds nothing to do and looks again at
    the next instant).
    """
    instants: list[datetime] = []
    for leaf, _ in leaves(tree):
        if leaf["type"] != "event" or leaf["within"] is None:
            continue
        window = timedelta(seconds=leaf["within"])
        stat = facts.events.get(leaf["event"], NO_EVENTS)
        if leaf["check"] == "count":
            first = stat.windows.get(leaf["within"], (0, None))[1]
            closes = first + window if first is not None else None
        else:
            closes = stat.last + window if stat.last is not None else None
        if closes is not None and closes > now:
            instants.append(closes)
    return min(instants, default=None)


# --- Compiled form (the hot path) ------------------------------------------------------


@dataclass(frozen=True)
class Compiled:
    """A tree turned into closures once per bucket: ingest evaluates thousands of
    (bucket, person) pairs per batch, and walking the dicts (and collecting the
    windowed leaves for `next_change`) every time cost more than the reads."""

    matches: Any  # Callable[[Facts, datetime], bool]
    # (event name, window seconds, window, is a count) of each windowed leaf.
    windows: tuple[tuple[str, float, timedelta, bool], ...]
    # Callable[[Mapping[str, Sequence[datetime]], datetime], Settled]: see `settle`.
    settle: Any = None

    def next_change_from(self, fresh: Mapping[str, Sequence[datetime]], now: datetime
                         ) -> datetime | None:
        """The earliest instant a window could close on the `fresh` occurrences
        (each occurrence plus its window, if still open): no later than the
        `next_change` those occurrences bring, whatever the rest of the history."""
        soonest = None
        for name, _seconds, window, _is_count in self.windows:
            for occurred_at in fresh.get(name, ()):
                closes = occurred_at + window
                if closes > now and (soonest is None or closes < soonest):
                    soonest = closes
        return soonest

    def next_change(self, facts: Facts, now: datetime) -> datetime | None:
        """As `next_change(tree, ...)`, from the precomputed windowed leaves."""
        soonest = None
        events = facts.events
        for name, seconds, window, is_count in self.windows:
            stat = events.get(name, NO_EVENTS)
            since = stat.windows.get(seconds, (0, None))[1] if is_count else stat.last
            if since is not None:
                closes = since + window
                if closes > now and (soonest is None or closes < soonest):
                    soonest = closes
        return soonest


def compile_tree(tree: Condition) -> Compiled:
    windows = tuple((leaf["event"], leaf["within"], timedelta(seconds=leaf["within"]),
                     leaf["check"] == "count")
                    for leaf, _ in leaves(tree)
                    if leaf["type"] == "event" and leaf["within"] is not None)
    return Compiled(matches=_compile(tree), windows=windows, settle=_compile_settle(tree))


@dataclass(frozen=True, slots=True)
class Settled:
    """What new occurrences alone say about a tree, without the rest of the history.

    `value` is the answer when those occurrences decide it (None: it depends on
    facts not at hand); `rises` / `falls` say whether adding them can turn the
    answer from false to true / from true to false. Adding an occurrence only
    ever makes "exists" and "count at least" truer and "not exists" and "count
    at most" falser, and `all`/`any` pass those directions up (a `not` swaps
    them), so a tree none of whose leaves can fall keeps a true answer.
    """

    value: bool | None
    rises: bool
    falls: bool


UNTOUCHED = Settled(None, False, False)


def _compile_settle(node: Condition) -> Any:
    kind = node["type"]
    if kind in ("all", "any"):
        children = tuple(_compile_settle(child) for child in node["conditions"])
        decisive = kind == "any"  # the child value that decides the node

        def combined(fresh: Mapping[str, Sequence[datetime]], now: datetime) -> Settled:
            parts = [child(fresh, now) for child in children]
            values = [part.value for part in parts]
            if decisive in values:
                value = decisive
            elif all(v is not None for v in values):
                value = not decisive
            else:
                value = None
            return Settled(value, any(p.rises for p in parts), any(p.falls for p in parts))

        return combined
    if kind == "not":
        inner = _compile_settle(node["condition"])

        def negated(fresh: Mapping[str, Sequence[datetime]], now: datetime) -> Settled:
            part = inner(fresh, now)
            return Settled(None if part.value is None else not part.value, part.falls,
                           part.rises)

        return negated
    if kind == "property":
        return lambda fresh, now: UNTOUCHED
    name, seconds, check = node["event"], node["within"], node["check"]
    window = timedelta(seconds=seconds) if seconds is not None else None
    operator, value = node.get("operator"), node.get("value")

    def leaf(fresh: Mapping[str, Sequence[datetime]], now: datetime) -> Settled:
        # The window is (now - within, now], as in `_event_matches`.
        added = sum(1 for occurred_at in fresh.get(name, ())
                    if window is None or occurred_at > now - window)
        if not added:
            return UNTOUCHED
        if check == "exists":
            return Settled(True, True, False)
        if check == "not_exists":
            return Settled(False, False, True)
        if operator in ("gte", "gt"):
            # The count is at least `added`: enough of them settle it.
            return Settled(True if _compare(added, operator, value) else None, True, False)
        if operator in ("lte", "lt"):
            return Settled(None if _compare(added, operator, value) else False, False, True)
        return Settled(False if added > value else None, True, True)  # eq

    return leaf


def _compile(node: Condition) -> Any:
    kind = node["type"]
    if kind in ("all", "any"):
        children = tuple(_compile(child) for child in node["conditions"])
        if kind == "all":
            return lambda facts, now: all(child(facts, now) for child in children)
        return lambda facts, now: any(child(facts, now) for child in children)
    if kind == "not":
        inner = _compile(node["condition"])
        return lambda facts, now: not inner(facts, now)
    if kind == "property":
        return lambda facts, now: _property_matches(node, facts.properties)
    return _compile_event(node)


def _compile_event(leaf: Condition) -> Any:
    name, seconds, check = leaf["event"], leaf["within"], leaf["check"]
    window = timedelta(seconds=seconds) if seconds is not None else None
    if check in ("exists", "not_exists"):
        wanted = check == "exists"

        def happened(facts: Facts, now: datetime) -> bool:
            last = facts.events.get(name, NO_EVENTS).last
            # A window is (now - within, now], as in `_event_matches`.
            return (last is not None and (window is None or last > now - window)) == wanted

        return happened
    operator, value = leaf["operator"], leaf["value"]

    def counted(facts: Facts, now: datetime) -> bool:
        stat = facts.events.get(name, NO_EVENTS)
        count = stat.total if seconds is None else stat.windows.get(seconds, (0, None))[0]
        return _compare(count, operator, value)

    return counted
