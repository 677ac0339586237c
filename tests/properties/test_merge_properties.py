"""Properties of the contact property merge (contacts.identity.merge_properties)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from contacts.identity import merge_properties

KEYS = st.sampled_from(["plan", "name", "trial", "discord", "telegram", "seats"])
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5))
VALUES = st.one_of(LEAVES, st.dictionaries(st.sampled_from(["id", "handle", "x"]), LEAVES,
                                           max_size=3))
PROPS = st.dictionaries(KEYS, VALUES, max_size=6)


@given(PROPS, PROPS)
def test_the_patch_wins_and_none_clears(existing, patch):
    merged = merge_properties(existing, patch)
    for key, value in patch.items():
        if value is None:
            assert key not in merged
        elif key in ("discord", "telegram") and isinstance(value, dict):
            base = existing.get(key) if isinstance(existing.get(key), dict) else {}
            assert merged[key] == {k: v for k, v in {**base, **value}.items() if v is not None}
        else:
            assert merged[key] == value
    for key, value in existing.items():
        if key not in patch and value is not None:
            assert merged[key] == value


@given(PROPS, PROPS)
def test_merging_is_idempotent(existing, patch):
    once = merge_properties(existing, patch)
    assert merge_properties(once, patch) == once


@given(PROPS)
def test_an_empty_patch_only_drops_nones(existing):
    assert merge_properties(existing, {}) == {k: v for k, v in existing.items() if v is not None}
    assert merge_properties(existing, None) == merge_properties(existing, {})


@given(st.dictionaries(st.sampled_from(["id", "handle"]), LEAVES, max_size=2),
       st.dictionaries(st.sampled_from(["id", "handle"]), LEAVES, max_size=2))
def test_discord_merges_one_level_deep(existing, patch):
    merged = merge_properties({"discord": existing}, {"discord": patch})
    expected = {k: v for k, v in {**existing, **patch}.items() if v is not None}
    assert merged["discord"] == expected


@given(PROPS, PROPS)
def test_the_result_never_stores_none_at_the_top(existing, patch):
    assert None not in merge_properties(existing, patch).values()
