"""Properties of the `where` evaluator (journeys/engine/conditions.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from journeys.engine.conditions import evaluate, matches, normalize_where

NAMES = st.sampled_from(["band", "score", "answer", "plan", "x"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000),
                    st.floats(allow_nan=False, allow_infinity=False, width=32),
                    st.text(max_size=8))
PROPERTIES = st.dictionaries(NAMES, SCALARS, max_size=5)


def cond(name: str, operator: str, *value: object) -> dict:
    condition = {"type": "property", "property": name, "operator": operator}
    if value:
        condition["value"] = value[0]
    return condition


@given(NAMES, SCALARS, PROPERTIES)
def test_eq_and_neq_are_complements(name, value, properties):
    assert evaluate(cond(name, "eq", value), properties) != evaluate(
        cond(name, "neq", value), properties)


@given(NAMES, PROPERTIES)
def test_exists_and_not_exists_are_complements(name, properties):
    assert evaluate(cond(name, "exists"), properties) != evaluate(
        cond(name, "not_exists"), properties)


@given(st.integers(-10_000, 10_000))
def test_equality_is_strict_about_types(number):
    assert not evaluate(cond("score", "eq", str(number)), {"score": number})
    assert not evaluate(cond("score", "eq", number), {"score": str(number)})
    assert evaluate(cond("score", "eq", number), {"score": number})
    assert evaluate(cond("score", "eq", float(number)), {"score": number})  # 50 == 50.0


@given(st.booleans())
def test_booleans_never_equal_numbers(flag):
    assert not evaluate(cond("x", "eq", int(flag)), {"x": flag})
    assert not evaluate(cond("x", "eq", flag), {"x": int(flag)})


def test_the_reference_example_50_is_not_the_string_50():
    assert not evaluate(cond("score", "eq", "50"), {"score": 50})
    assert evaluate(cond("score", "neq", "50"), {"score": 50})


@given(PROPERTIES)
def test_an_empty_condition_list_is_true(properties):
    assert matches([], properties) is True
    assert matches([], None) is True


@given(st.lists(st.tuples(NAMES, st.sampled_from(["eq", "neq", "exists", "not_exists"]),
                          SCALARS), max_size=4), PROPERTIES)
def test_a_list_is_the_and_of_its_conditions(specs, properties):
    conditions = [cond(n, op) if op in ("exists", "not_exists") else cond(n, op, v)
                  for n, op, v in specs]
    assert matches(conditions, properties) == all(evaluate(c, properties) for c in conditions)


@given(NAMES, st.integers(-100, 100), st.one_of(st.integers(-100, 100), st.text(max_size=3),
                                                st.none(), st.booleans()))
def test_comparisons_need_two_numbers(name, bound, actual):
    properties = {name: actual}
    for operator in ("gt", "gte", "lt", "lte"):
        result = evaluate(cond(name, operator, bound), properties)
        if isinstance(actual, bool) or not isinstance(actual, int):
            assert result is False
    if isinstance(actual, int) and not isinstance(actual, bool):
        assert evaluate(cond(name, "gte", bound), properties) == (
            evaluate(cond(name, "gt", bound), properties) or actual == bound)
        assert evaluate(cond(name, "lt", bound), properties) != evaluate(
            cond(name, "gte", bound), properties)


@given(NAMES, SCALARS)
def test_the_builder_and_the_literal_dict_are_the_same_condition(name, value):
    built = normalize_where(lambda b: b.prop(name).eq(value))
    assert built == [cond(name, "eq", value)]
