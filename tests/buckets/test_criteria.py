"""The criteria builder, its plain tree and its evaluation: pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from buckets.criteria import (
    CriteriaError,
    EventStat,
    Facts,
    StatNeed,
    all_,
    any_,
    compile_tree,
    evaluate,
    event,
    event_names,
    is_time_dependent,
    needs,
    next_change,
    normalize,
    not_,
    prop,
    property_keys,
)
from journeys.engine.durations import days

NOW = datetime(2026, 4, 1, 12, tzinfo=UTC)


def props(**properties) -> Facts:
    return Facts(properties=properties)


def check(spec, facts: Facts, now: datetime = NOW) -> bool:
    """The tree's answer, which the compiled form (what ingest runs) must give too."""
    tree = normalize(spec)
    answer = evaluate(tree, facts, now)
    assert compile_tree(tree).matches(facts, now) is answer
    return answer


def changes_at(tree, facts: Facts, now: datetime = NOW) -> datetime | None:
    instant = next_change(tree, facts, now)
    assert compile_tree(tree).next_change(facts, now) == instant
    return instant


@pytest.mark.parametrize(("condition", "properties", "expected"), [
    (prop("plan").eq("trial"), {"plan": "trial"}, True),
    (prop("plan").eq("trial"), {"plan": "pro"}, False),
    (prop("plan").eq("trial"), {}, False),
    (prop("days").eq(3), {"days": "3"}, False),  # strict: no coercion
    (prop("converted").eq(True), {"converted": 1}, False),
    (prop("plan").neq("trial"), {"plan": "pro"}, True),
    (prop("plan").neq("trial"), {}, True),
    (prop("plan").neq("trial"), {"plan": "trial"}, False),
    (prop("days").gt(3), {"days": 4}, True),
    (prop("days").gt(3), {"days": 3}, False),
    (prop("days").gte(3), {"days": 3}, True),
    (prop("days").lt(3), {"days": 2.5}, True),
    (prop("days").lte(3), {"days": 3}, True),
    (prop("days").lte(3), {"days": "2"}, False),
    (prop("days").lte(3), {"days": True}, False),
    (prop("plan").in_(["trial", "free"]), {"plan": "free"}, True),
    (prop("plan").in_(["trial", "free"]), {"plan": "pro"}, False),
    (prop("plan").in_(["trial", "free"]), {}, False),
    (prop("n").in_([1, 2]), {"n": "1"}, False),
    (prop("company").exists(), {"company": "Acme"}, True),
    (prop("company").exists(), {"company": None}, False),
    (prop("company").not_exists(), {}, True),
    (prop("email").contains("@acme."), {"email": "a@acme.io"}, True),
    (prop("email").contains("@acme."), {"email": 5}, False),
])
def test_property_operators_are_strict(condition, properties, expected):
    assert check(condition, props(**properties)) is expected


def stat(last: datetime | None = None, total: int = 0, **windows) -> EventStat:
    return EventStat(last=last, total=total, windows={
        days(int(k[1:])).total_seconds(): v for k, v in windows.items()})


DORMANT = all_(event("app.active"), not_(event("app.active").within(days(30))))


def test_dormancy_needs_one_activity_ever_and_none_in_the_window():
    never = Facts(properties={})
    recent = Facts(properties={}, events={"app.active": stat(last=NOW - days(3))})
    lapsed = Facts(properties={}, events={"app.active": stat(last=NOW - days(31))})
    assert check(DORMANT, never) is False
    assert check(DORMANT, recent) is False
    assert check(DORMANT, lapsed) is True


def test_an_event_exactly_a_window_ago_has_left_the_window():
    edge = Facts(properties={}, events={"x": stat(last=NOW - days(30))})
    assert check(event("x").within(days(30)), edge, NOW - timedelta(seconds=1)) is True
    assert check(event("x").within(days(30)), edge) is False
    assert check(DORMANT, Facts(properties={}, events={"app.active": edge.events["x"]})) is True


def test_counts_compare_within_a_window_or_over_all_history():
    facts = Facts(properties={}, events={"report.created": stat(
        last=NOW, total=7, d7=(3, NOW - days(5)))})
    assert check(event("report.created").within(days(7)).at_least(3), facts) is True
    assert check(event("report.created").within(days(7)).more_than(3), facts) is False
    assert check(event("report.created").within(days(7)).exactly(3), facts) is True
    assert check(event("report.created").at_least(7), facts) is True
    assert check(event("report.created").less_than(7), facts) is False
    assert check(event("other").at_most(0), facts) is True


def test_all_any_and_not_combine():
    facts = props(plan="trial", days=2)
    assert check(all_(prop("plan").eq("trial"), prop("days").lte(3)), facts) is True
    assert check(all_(prop("plan").eq("trial"), prop("days").gt(3)), facts) is False
    assert check(any_(prop("plan").eq("pro"), prop("days").lte(3)), facts) is True
    assert check(not_(any_(prop("plan").eq("pro"), prop("days").gt(3))), facts) is True
    # A list is `all`.
    assert check([prop("plan").eq("trial"), prop("days").eq(2)], facts) is True


def test_dicts_and_the_builder_produce_the_same_tree():
    built = normalize(all_(prop("plan").eq("trial"), event("app.active").within(days(30))))
    written = normalize({"type": "all", "conditions": [
        {"type": "property", "property": "plan", "operator": "eq", "value": "trial"},
        {"type": "event", "event": "app.active", "within": 30 * 86400},
    ]})
    assert built == written


def test_the_index_names_every_property_key_and_event_name_read():
    tree = normalize(all_(prop("plan").eq("trial"), any_(prop("seats").gt(1),
                                                         not_(event("app.active")))))
    assert property_keys(tree) == {"plan", "seats"}
    assert event_names(tree) == {"app.active"}


def test_needs_ask_only_for_the_aggregates_read():
    tree = normalize(all_(event("a"), event("b").within(days(7)).at_least(2),
                          event("c").at_most(4)))
    week = days(7).total_seconds()
    assert needs(tree) == {StatNeed("last", "a"), StatNeed("count", "b", week),
                           StatNeed("first", "b", week), StatNeed("total", "c")}


def test_the_next_change_is_when_the_earliest_window_closes():
    tree = normalize(DORMANT)
    last = NOW - days(3)
    facts = Facts(properties={}, events={"app.active": stat(last=last)})
    assert changes_at(tree, facts, NOW) == last + days(30)
    # Nothing to wait for: never active, or the window already closed.
    assert changes_at(tree, Facts(properties={}), NOW) is None
    lapsed = Facts(properties={}, events={"app.active": stat(last=NOW - days(40))})
    assert changes_at(tree, lapsed, NOW) is None


def test_a_count_window_changes_when_its_oldest_event_leaves_it():
    tree = normalize(event("report.created").within(days(7)).at_least(3))
    facts = Facts(properties={}, events={"report.created": stat(
        last=NOW, d7=(3, NOW - days(5)))})
    assert changes_at(tree, facts, NOW) == NOW + days(2)


def test_only_windows_make_criteria_time_dependent():
    assert is_time_dependent(normalize(DORMANT)) is True
    assert is_time_dependent(normalize(all_(prop("plan").eq("trial"), event("x")))) is False


@pytest.mark.parametrize(("spec", "message"), [
    (prop("plan").gt("3"), "needs a number"),
    (prop("plan").in_([]), "non-empty list"),
    ({"type": "property", "property": "plan", "operator": "like", "value": "x"},
     "unknown operator 'like'"),
    ({"type": "property", "property": "plan", "operator": "eq"}, "needs a 'value'"),
    ({"type": "event", "event": "x", "within": -5}, "positive duration"),
    ({"type": "event", "event": "x", "check": "count", "operator": "gte", "value": -1},
     "whole number"),
    ({"type": "event", "event": "x", "check": "sometimes"}, "unknown check"),
    ({"type": "all", "conditions": []}, "non-empty list"),
    ({"type": "xor"}, "unknown condition type 'xor'"),
    ("plan == trial", "must be a dict or a builder"),
])
def test_malformed_criteria_say_what_is_wrong(spec, message):
    with pytest.raises(CriteriaError, match=message):
        normalize(spec)


def test_a_bucket_event_in_criteria_is_refused_with_its_place():
    with pytest.raises(CriteriaError) as caught:
        normalize(all_(prop("plan").eq("trial"), not_(event("bucket:left:dormant-30d"))))
    assert "criteria.all[1].not" in str(caught.value)
    assert "'bucket:left:dormant-30d'" in str(caught.value)
