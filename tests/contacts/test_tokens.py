from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import signing

from contacts.tokens import (
    SALT,
    ExpiredToken,
    InvalidToken,
    PreferenceToken,
    token_make,
    token_read,
)

NOON = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)


def test_a_token_round_trips_its_key_address_category_and_action():
    token = token_read(token_make(key="u_ada", email="ada@example.com", category="digest"))
    assert (token.key, token.email, token.category, token.action) == (
        "u_ada", "ada@example.com", "digest", "unsubscribe")


def test_a_tampered_token_fails():
    token = token_make(key="u_ada", email="ada@example.com")
    payload, _, signature = token.rpartition(":")
    with pytest.raises(InvalidToken):
        token_read(token[:-1] + ("A" if token[-1] != "A" else "B"))
    with pytest.raises(InvalidToken):
        token_read(payload + ":" + signature[::-1])


def test_a_token_cannot_be_pointed_at_another_contact():
    ada = token_make(key="u_ada", email="ada@example.com")
    bob_payload = signing.dumps({"k": "u_bob", "e": "bob@example.com", "a": "unsubscribe"},
                                salt=SALT, compress=True)
    # Bob's payload with Ada's signature does not verify.
    forged = bob_payload.rsplit(":", 1)[0] + ":" + ada.rsplit(":", 1)[1]
    with pytest.raises(InvalidToken):
        token_read(forged)


def test_a_token_signed_for_another_purpose_fails():
    other = signing.dumps({"k": "u_ada", "e": "ada@example.com", "a": "unsubscribe"},
                          salt="something-else")
    with pytest.raises(InvalidToken):
        token_read(other)


@pytest.mark.parametrize("action", ["unsubscribe", "manage"])
def test_unsubscribe_and_preference_tokens_never_expire(action):
    with time_machine.travel(NOON, tick=False) as clock:
        token = token_make(key="u_ada", email="ada@example.com", action=action,
                           category="digest")
        for days in (31, 400, 3650):
            clock.move_to(NOON + timedelta(days=days))
            assert token_read(token) == PreferenceToken(key="u_ada", email="ada@example.com",
                                                        action=action, category="digest")


def test_a_resubscribe_token_expires_after_30_days_but_still_names_its_person():
    with time_machine.travel(NOON, tick=False) as clock:
        token = token_make(key="u_ada", email="ada@example.com", action="resubscribe",
                           category="digest")
        clock.shift(timedelta(days=29))
        assert token_read(token).action == "resubscribe"
        clock.shift(timedelta(days=1, seconds=1))
        with pytest.raises(ExpiredToken) as expired:
            token_read(token)
    assert expired.value.token == PreferenceToken(key="u_ada", email="ada@example.com",
                                                  action="resubscribe", category="digest")


def test_an_old_tampered_token_is_invalid_not_expired():
    with time_machine.travel(NOON, tick=False) as clock:
        token = token_make(key="u_ada", email="ada@example.com", action="resubscribe")
        clock.shift(timedelta(days=400))
        with pytest.raises(InvalidToken) as caught:
            token_read(token[:-1] + ("A" if token[-1] != "A" else "B"))
    assert not isinstance(caught.value, ExpiredToken)


@pytest.mark.parametrize("payload", [
    {"k": "u", "e": "a@b.c", "a": "delete"},
    {"k": "", "e": "a@b.c", "a": "unsubscribe"},
    {"k": "u", "e": "a@b.c", "a": "unsubscribe", "c": "bad category!"},
    ["not", "a", "dict"],
])
def test_a_malformed_payload_fails(payload):
    with pytest.raises(InvalidToken):
        token_read(signing.dumps(payload, salt=SALT))


def test_a_link_signed_before_a_key_rotation_still_unsubscribes(settings):
    old = settings.SECRET_KEY
    token = token_make(key="u_ada", email="ada@example.com")
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-key-" + "y" * 40, [old]

    assert token_read(token).email == "ada@example.com"

    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(InvalidToken):
        token_read(token)


def test_a_token_is_what_django_signing_writes_and_reads():
    token = token_make(key="u_ada", email="ada@example.com", category="digest")
    assert signing.loads(token, salt=SALT) == {
        "k": "u_ada", "e": "ada@example.com", "a": "unsubscribe", "c": "digest"}
    with time_machine.travel(NOON, tick=False):
        assert token_make(key="u_ada", email="ada@example.com") == signing.dumps(
            {"k": "u_ada", "e": "ada@example.com", "a": "unsubscribe"}, salt=SALT)


def test_a_compressed_token_from_an_old_email_still_verifies():
    # Tokens were once written with compress=True; a long address compresses.
    email = "ada" + "a" * 60 + "@example.com"
    old = signing.dumps({"k": "u_ada", "e": email, "a": "unsubscribe"}, salt=SALT, compress=True)
    assert old.startswith(".")
    assert token_read(old) == PreferenceToken(key="u_ada", email=email)


def test_a_compressed_token_signed_with_a_rotated_key_still_verifies(settings):
    email = "ada" + "a" * 60 + "@example.com"
    old = signing.dumps({"k": "u_ada", "e": email, "a": "manage"}, salt=SALT, compress=True)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-new-key-" + "z" * 40, [
        settings.SECRET_KEY]
    assert token_read(old).action == "manage"
