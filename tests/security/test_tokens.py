"""Unsubscribe and preference tokens: unforgeable, bound to one person, working at any age."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.utils import timezone

from contacts.models import Contact, EmailPreference
from contacts.tokens import SALT, InvalidToken, PreferenceToken, token_make, token_read
from tracking.forms import answer_form_token

pytestmark = pytest.mark.django_db
ONE_CLICK = "List-Unsubscribe=One-Click"


def post_unsubscribe(client, token: str, **extra: str):
    return client.post(f"/v1/email/unsubscribe?token={token}", {**extra},
                       HTTP_USER_AGENT="Mozilla/5.0")


def unsubscribed(email: str) -> bool:
    return EmailPreference.objects.filter(email=email, unsubscribed_all=True).exists()


@pytest.fixture
def bob(db) -> Contact:
    return Contact.objects.create(external_id="u_bob", email="bob@example.com")


def tampered(token: str) -> str:
    """Swap the payload for Bob's while keeping Ada's signature."""
    _, _, rest = token.partition(":")
    fake = signing.b64_encode(json.dumps({"k": "u_bob", "e": "bob@example.com",
                                          "a": "unsubscribe"}).encode()).decode()
    return f"{fake}:{rest}"


def test_a_token_with_a_rewritten_payload_is_refused(client, ada, bob):
    token = token_make(key=ada.key, email=ada.email)
    response = post_unsubscribe(client, tampered(token))
    assert response.status_code == 400
    assert not unsubscribed("bob@example.com") and not unsubscribed("ada@example.com")


@pytest.mark.parametrize("forge", [
    lambda: signing.dumps({"k": "u_bob", "e": "bob@example.com", "a": "unsubscribe"},
                          key="not-the-secret-key-" + "z" * 40, salt=SALT),
    lambda: signing.dumps({"k": "u_bob", "e": "bob@example.com", "a": "unsubscribe"}),
    lambda: answer_form_token("u_bob"),  # another feature's signature
    lambda: base64.urlsafe_b64encode(b'{"k":"u_bob","e":"bob@example.com"}').decode(),
    lambda: "",
])
def test_forged_tokens_are_refused_and_change_nothing(client, bob, forge):
    token = forge()
    with pytest.raises(InvalidToken):
        token_read(token)
    assert post_unsubscribe(client, token).status_code == 400
    assert client.get(f"/v1/email/preferences?token={token}").status_code == 400
    assert not EmailPreference.objects.exists()


def test_a_token_acts_only_on_its_own_person_whatever_the_request_says(client, ada, bob):
    token = token_make(key=ada.key, email=ada.email)
    response = post_unsubscribe(client, token, email="bob@example.com", key="u_bob",
                                user_id="u_bob", contact="u_bob")
    assert response.status_code == 200
    assert unsubscribed("ada@example.com") and not unsubscribed("bob@example.com")
    assert not EmailPreference.objects.filter(user_key="u_bob").exists()


def test_a_preference_token_saves_only_its_own_person(client, ada, bob):
    token = token_make(key=ada.key, email=ada.email, action="manage")
    response = client.post(f"/v1/email/preferences?token={token}",
                           {"unsubscribed_all": "on", "email": "bob@example.com",
                            "token": token_make(key=bob.key, email=bob.email, action="manage")})
    assert response.status_code == 200
    assert unsubscribed("ada@example.com") and not unsubscribed("bob@example.com")


def test_a_400_day_old_token_still_acts_only_on_its_own_person(client, ada, bob):
    token = token_make(key=ada.key, email=ada.email)
    with time_machine.travel(timezone.now() + timedelta(days=400), tick=False):
        response = post_unsubscribe(client, token, email="bob@example.com", key="u_bob")
    assert response.status_code == 200
    assert unsubscribed("ada@example.com") and not unsubscribed("bob@example.com")


def test_a_400_day_old_forged_token_is_still_refused(client, bob):
    forged = signing.dumps({"k": "u_bob", "e": "bob@example.com", "a": "unsubscribe"},
                           key="not-the-secret-key-" + "z" * 40, salt=SALT)
    with time_machine.travel(timezone.now() + timedelta(days=400), tick=False):
        assert post_unsubscribe(client, forged).status_code == 400
        assert client.get(f"/v1/email/preferences?token={forged}").status_code == 400
    assert not EmailPreference.objects.exists()


def test_an_expired_resubscribe_link_offers_only_its_own_person_a_fresh_unsubscribe(
        client, ada, bob):
    token = token_make(key=ada.key, email=ada.email, action="resubscribe")
    with time_machine.travel(timezone.now() + timedelta(days=31), tick=False):
        response = client.get(f"/v1/email/unsubscribe?token={token}&email=bob@example.com")
    assert response.status_code == 400
    fresh = re.search(r'action="[^"]*\?token=([^"]+)"', response.content.decode()).group(1)
    assert token_read(fresh) == PreferenceToken(key=ada.key, email=ada.email)


def test_the_one_click_post_needs_the_signed_token_too(client, ada):
    response = client.post("/v1/email/unsubscribe?token=nope", ONE_CLICK,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert not EmailPreference.objects.exists()
