"""Property conditions and the `where` builder.

`lambda b: b.prop("band").eq("detractor")` is resolved once, at definition
time, into plain condition dicts; evaluation is strict (no type coercion).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "exists", "not_exists", "contains")
Condition = dict[str, Any]


class _Prop:
    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError("prop() needs a non-empty property name")
        self.name = name

    def _cond(self, operator: str, *value: Any) -> Condition:
        condition: Condition = {"type": "property", "property": self.name, "operator": operator}
        if value:
            condition["value"] = value[0]
        return condition

    def eq(self, value: Any) -> Condition:
        return self._cond("eq", value)

    def neq(self, value: Any) -> Condition:
        return self._cond("neq", value)

    def gt(self, value: float) -> Condition:
        return self._cond("gt", value)

    def gte(self, value: float) -> Condition:
        return self._cond("gte", value)

    def lt(self, value: float) -> Condition:
        return self._cond("lt", value)

    def lte(self, value: float) -> Condition:
        return self._cond("lte", value)

    def exists(self) -> Condition:
        return self._cond("exists")

    def not_exists(self) -> Condition:
        return self._cond("not_exists")

    def contains(self, value: str) -> Condition:
        return self._cond("contains", value)


class WhereBuilder:
    """What a `where` lambda receives: only `prop(...)`."""

    def prop(self, name: str) -> _Prop:
        return _Prop(name)


WhereSpec = (
    Callable[[WhereBuilder], Condition | list[Condition]] | Condition | list[Condition] | None
)


def normalize_where(where: WhereSpec) -> list[Condition]:
    """Resolve a builder function or literal into a validated list of conditions."""
    if where is None:
        return []
    if callable(where):
        where = where(WhereBuilder())
    conditions = [where] if isinstance(where, Mapping) else list(where)
    for condition in conditions:
        validate_condition(condition)
    return [dict(c) for c in conditions]


def validate_condition(condition: Any) -> None:
    if not isinstance(condition, Mapping):
        raise TypeError(f"a condition must be a dict, got {type(condition).__name__}")
    if condition.get("type", "property") != "property":
        raise TypeError("only property conditions are allowed in where")
    if not isinstance(condition.get("property"), str) or not condition["property"]:
        raise TypeError(f"condition {dict(condition)!r} needs a non-empty 'property'")
    operator = condition.get("operator")
    if operator not in OPERATORS:
        raise TypeError(f"unknown operator {operator!r}; expected one of {', '.join(OPERATORS)}")
    if operator not in ("exists", "not_exists") and "value" not in condition:
        raise TypeError(f"operator {operator!r} needs a 'value'")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _same(actual: Any, expected: Any) -> bool:
    # Strict equality: "50" != 50, True != 1.
    if isinstance(actual, bool) or isinstance(expected, bool):
        return type(actual) is type(expected) and actual == expected
    if _is_number(actual) and _is_number(expected):
        return actual == expected
    return type(actual) is type(expected) and actual == expected


def evaluate(condition: Condition, properties: Mapping[str, Any]) -> bool:
    operator = condition["operator"]
    actual = properties.get(condition["property"])
    expected = condition.get("value")
    if operator == "eq":
        return condition["property"] in properties and _same(actual, expected)
    if operator == "neq":
        return condition["property"] not in properties or not _same(actual, expected)
    if operator in ("gt", "gte", "lt", "lte"):
        if not (_is_number(actual) and _is_number(expected)):
            return False
        return {
            "gt": actual > expected,
            "gte": actual >= expected,
            "lt": actual < expected,
            "lte": actual <= expected,
        }[operator]
    if operator == "exists":
        return actual is not None
    if operator == "not_exists":
        return actual is None
    if operator == "contains":
        return isinstance(actual, str) and isinstance(expected, str) and expected in actual
    raise TypeError(f"unknown operator {operator!r}")


def matches(conditions: list[Condition], properties: Mapping[str, Any] | None) -> bool:
    """AND of all conditions; an empty list is true."""
    properties = properties or {}
    return all(evaluate(c, properties) for c in conditions)


def scalars(properties: Mapping[str, Any] | None) -> dict[str, Any]:
    """The scalar-only subset (what triggers and wait results see)."""
    return {
        k: v
        for k, v in (properties or {}).items()
        if v is None or isinstance(v, str | int | float | bool)
    }
