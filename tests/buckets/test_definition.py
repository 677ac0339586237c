"""define_bucket's checks, and how buckets are discovered and enabled."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from buckets import DefinitionError, all_, days, define_bucket, event, not_, prop
from buckets.registry import Registry, discover, enabled_ids, load, registry

TRIAL = all_(prop("plan").eq("trial"), prop("trial_days_left").lte(3))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"id": "Trial Soon"}, "id must be a lower-case slug"),
    ({"name": " "}, "name must be a non-empty string"),
    ({"entry_limit": "twice"}, "entry_limit must be one of"),
    ({"entry_limit": "once_per_period"}, "'once_per_period' needs entry_period"),
    ({"entry_period": days(3)}, "entry_period applies only to 'once_per_period'"),
    ({"max_dwell": days(-1)}, "max_dwell must be a positive timedelta"),
    ({"max_dwell": 14}, "max_dwell must be a positive timedelta"),
    ({"kind": "manual"}, "kind 'manual' is not supported"),
    ({"criteria": {"type": "property", "property": "plan", "operator": "like", "value": 1}},
     "unknown operator 'like'"),
])
def test_a_bad_definition_fails_naming_the_bucket(kwargs, message):
    options = {"id": "trial-soon", "name": "Trial soon", "criteria": TRIAL, **kwargs}
    with pytest.raises(DefinitionError, match=message) as caught:
        define_bucket(**options)
    assert str(caught.value).startswith(f"bucket {options['id']!r}")


def test_bucket_events_cannot_be_criteria_and_the_error_says_where():
    with pytest.raises(DefinitionError) as caught:
        define_bucket(id="winback-again", name="Win-back again",
                      criteria=all_(event("app.active"), event("bucket:entered:dormant-30d")))
    message = str(caught.value)
    assert message.startswith("bucket 'winback-again': criteria.all[1]:")
    assert "'bucket:entered:dormant-30d'" in message


@pytest.mark.parametrize("criteria", [
    not_(event("app.active")),  # never active: everyone with no history
    prop("plan").neq("pro"),
    prop("plan").not_exists(),
    event("app.active").at_most(2),
])
def test_criteria_that_everyone_without_data_matches_are_refused(criteria):
    with pytest.raises(DefinitionError, match="at least one positive condition"):
        define_bucket(id="everyone", name="Everyone", criteria=criteria)


@pytest.mark.parametrize("criteria", [
    # A time-bounded absence is an anchor, as in the reference.
    not_(event("app.active").within(days(30))),
    not_(prop("plan").neq("pro")),
    not_(event("app.active").at_most(2)),
    event("app.active").at_least(1),
])
def test_anchored_criteria_are_accepted(criteria):
    assert define_bucket(id="anchored", name="Anchored", criteria=criteria).id == "anchored"


def test_a_definition_indexes_what_it_reads_and_infers_time_dependence():
    trial = define_bucket(id="trial", name="Trial", criteria=TRIAL, max_dwell=days(14),
                          entry_limit="once")
    dormant = define_bucket(id="dormant", name="Dormant", criteria=all_(
        event("app.active"), not_(event("app.active").within(days(30)))))
    plain = define_bucket(id="plain", name="Plain", criteria=TRIAL)
    assert trial.property_keys == {"plan", "trial_days_left"} and not trial.event_names
    assert dormant.event_names == {"app.active"}
    assert (trial.time_based, dormant.time_based, plain.time_based) == (True, True, False)
    assert trial.entered_event == "bucket:entered:trial"
    assert dormant.left_event == "bucket:left:dormant"


def test_the_criteria_hash_follows_what_decides_membership_only():
    base = define_bucket(id="trial", name="Trial", criteria=TRIAL)
    renamed = define_bucket(id="trial", name="Trial (renamed)", criteria=TRIAL,
                            entry_limit="once", description="x")
    changed = define_bucket(id="trial", name="Trial", criteria=all_(
        prop("plan").eq("trial"), prop("trial_days_left").lte(5)))
    boxed = define_bucket(id="trial", name="Trial", criteria=TRIAL, max_dwell=days(14))
    assert base.criteria_hash == renamed.criteria_hash
    assert len({base.criteria_hash, changed.criteria_hash, boxed.criteria_hash}) == 3


def test_discovery_finds_every_bucket_of_a_module():
    found = {bucket.id: bucket for bucket in discover("tests.buckets.sample_buckets")}
    assert set(found) == {"sample-trial", "sample-dormant"}
    assert found["sample-trial"].source == "tests.buckets.sample_buckets"


def test_enabled_buckets_filters_and_an_unknown_id_suggests_the_close_one(settings):
    settings.ENABLED_BUCKETS = "*"
    assert enabled_ids(["a", "b"]) is None
    settings.ENABLED_BUCKETS = "sample-trial"
    assert enabled_ids(["sample-trial", "sample-dormant"]) == {"sample-trial"}
    settings.ENABLED_BUCKETS = "sample-trail"
    with pytest.raises(ImproperlyConfigured, match="Did you mean 'sample-trial'"):
        enabled_ids(["sample-trial", "sample-dormant"])


def test_load_registers_only_the_enabled_buckets_of_the_packages(settings, add_bucket):
    settings.BUCKET_PACKAGES = ["tests.buckets.sample_buckets"]
    settings.ENABLED_BUCKETS = "sample-dormant"
    load()
    assert [bucket.id for bucket in registry] == ["sample-dormant"]
    assert registry.by_event["app.active"][0].id == "sample-dormant"
    assert "plan" not in registry.by_property


def test_one_id_defined_twice_fails_start_up():
    fresh = Registry()
    fresh.add(define_bucket(id="trial", name="Trial", criteria=TRIAL))
    with pytest.raises(ImproperlyConfigured, match="defined twice"):
        fresh.add(define_bucket(id="trial", name="Trial", criteria=TRIAL))


def test_a_journey_waiting_for_an_undefined_bucket_is_a_start_up_warning(add_bucket, add_journey):
    from buckets.checks import check_bucket_events
    from journeys.engine import define_journey

    add_bucket(define_bucket(id="trial-soon", name="Trial", criteria=TRIAL))

    @define_journey(id="reminder", name="Reminder", trigger="bucket:entered:trial-son",
                    exit_on=["bucket:left:trial-soon"])
    def reminder(user, ctx):
        pass

    add_journey(reminder)
    [warning] = check_bucket_events(None)
    assert warning.id == "hogsend.W701"
    assert "journey 'reminder'" in warning.msg and "trigger" in warning.msg
    assert "Did you mean 'trial-soon'?" in warning.msg
