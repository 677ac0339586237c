"""Admin sign-in: failed attempts are limited per username and per client address
(5 a minute each by default); past either the login page answers 429 and checks no
password, until the minute ends. Correct sign-ins are never counted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client, override_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

THROTTLED = "Too many failed sign-in attempts"


@pytest.fixture(autouse=True)
def traveller():
    """The windows are fixed minutes: start at :00 (time still runs) and let a test
    move past the minute."""
    with time_machine.travel(datetime(2026, 6, 17, 12, 0, 0, tzinfo=UTC), tick=True) as t:
        yield t


@pytest.fixture
def olga(django_user_model):
    return django_user_model.objects.create_user("olga", password="right-pw", is_staff=True)


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="bob-pw", is_staff=True)


def sign_in(username: str, password: str, ip: str = "203.0.113.1") -> tuple[Client, object]:
    client = Client()
    response = client.post(reverse("admin:login"),
                           {"username": username, "password": password, "next": "/admin/"},
                           REMOTE_ADDR=ip)
    return client, response


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_sixth_try_after_five_wrong_passwords_is_refused_even_when_right(olga):
    for n in range(5):
        _, response = sign_in("olga", f"guess-{n}", ip=f"198.51.100.{n}")
        assert response.status_code == 200 and THROTTLED not in response.content.decode()
    client, response = sign_in("olga", "right-pw", ip="198.51.100.99")
    assert response.status_code == 429
    assert THROTTLED in response.content.decode()
    assert 1 <= int(response["Retry-After"]) <= 60
    assert not signed_in(client)


def test_the_sixth_wrong_password_from_one_address_is_refused_for_any_username(olga, bob):
    for name in ("a", "b", "c", "d", "e"):
        assert sign_in(name, "nope", ip="198.51.100.7")[1].status_code == 200
    client, response = sign_in("bob", "bob-pw", ip="198.51.100.7")
    assert response.status_code == 429 and not signed_in(client)


def test_another_username_from_another_address_is_unaffected(olga, bob):
    for n in range(6):
        sign_in("olga", f"guess-{n}", ip="198.51.100.1")
    client, response = sign_in("bob", "bob-pw", ip="198.51.100.2")
    assert response.status_code == 302 and signed_in(client)


def test_the_same_username_is_counted_however_it_is_capitalised(olga):
    for n in range(5):
        sign_in("OLGA" if n % 2 else "olga", f"guess-{n}", ip=f"198.51.100.{n}")
    assert sign_in("olga", "right-pw", ip="198.51.100.50")[1].status_code == 429


def test_after_the_window_the_right_password_works_again(olga, traveller):
    for n in range(7):
        sign_in("olga", f"guess-{n}")
    assert sign_in("olga", "right-pw")[1].status_code == 429
    traveller.shift(61)
    client, response = sign_in("olga", "right-pw")
    assert response.status_code == 302 and signed_in(client)


def test_right_passwords_are_never_counted(olga):
    for _ in range(12):
        client, response = sign_in("olga", "right-pw")
        assert response.status_code == 302 and signed_in(client)


def test_signing_in_forgives_the_users_own_typos_but_not_the_addresss(olga):
    for n in range(4):
        sign_in("olga", f"typo-{n}", ip="198.51.100.1")
    assert sign_in("olga", "right-pw", ip="198.51.100.1")[1].status_code == 302
    # Her count starts again; the first address has used 4 of its 5.
    for n in range(4):
        assert sign_in("olga", f"typo-{n}", ip="198.51.100.2")[1].status_code == 200
    assert sign_in("olga", "right-pw", ip="198.51.100.2")[1].status_code == 302
    sign_in("someone", "nope", ip="198.51.100.1")
    assert sign_in("olga", "right-pw", ip="198.51.100.1")[1].status_code == 429


@override_settings(ADMIN_LOGIN_RATE_LIMIT="2/min", ADMIN_LOGIN_IP_RATE_LIMIT="")
def test_the_limits_are_settings(olga):
    for n in range(2):
        sign_in("olga", f"guess-{n}", ip=f"198.51.100.{n}")
    assert sign_in("olga", "right-pw", ip="198.51.100.9")[1].status_code == 429
    for n in range(10):
        sign_in(f"user-{n}", "nope", ip="198.51.100.200")
    assert sign_in("bob", "nope", ip="198.51.100.200")[1].status_code == 200
