"""A tracked link redirects only to the URL recorded at send: no open redirect."""

from __future__ import annotations

import uuid

import pytest

from tests.tracking.conftest import answer_link
from tracking.models import TrackedLink

pytestmark = pytest.mark.django_db
HOME = "http://testserver"


@pytest.fixture
def link(followup) -> TrackedLink:
    return TrackedLink.objects.create(email_send=followup,
                                      original_url="https://docs.example.com/a?b=1")


def location(client, path: str) -> str:
    response = client.get(path, HTTP_USER_AGENT="Mozilla/5.0")
    assert response.status_code == 302, (path, response.status_code)
    return response["Location"]


def test_a_known_link_goes_exactly_where_it_was_recorded(client, link):
    assert location(client, f"/v1/t/c/{link.pk}") == "https://docs.example.com/a?b=1"


@pytest.mark.parametrize("suffix", [
    "?next=https://evil.example", "?url=//evil.example&redirect=https://evil.example",
    "?original_url=https://evil.example",
])
def test_query_parameters_never_change_the_destination(client, link, suffix):
    assert location(client, f"/v1/t/c/{link.pk}{suffix}") == "https://docs.example.com/a?b=1"


@pytest.mark.parametrize("tail", [
    "{id}x", "{short}", "https://evil.example", "https:%2F%2Fevil.example", "%2F%2Fevil.example",
    "{id}%2F..%2F..%2Fevil", "..%2F..%2Fadmin", "{upper}", "00000000-0000-0000-0000-000000000000",
    "{other}",
])
def test_a_tampered_or_unknown_id_goes_home(client, link, tail):
    path = "/v1/t/c/" + tail.format(id=link.pk, short=str(link.pk)[:-1],
                                    upper=str(uuid.uuid4()).upper(), other=uuid.uuid4())
    response = client.get(path, HTTP_USER_AGENT="Mozilla/5.0")
    assert response.status_code in (302, 404)
    if response.status_code == 302:
        assert response["Location"] in (HOME, "https://docs.example.com/a?b=1")
        assert "evil" not in response["Location"]


def test_path_tricks_after_the_id_do_not_resolve_to_the_click_view(client, link):
    for path in (f"/v1/t/c/{link.pk}/https://evil.example", f"/v1/t/c/{link.pk}//evil.example",
                 f"/v1/t/c//{link.pk}", "/v1/t/c/"):
        response = client.get(path)
        assert response.status_code in (302, 404), path
        assert "evil" not in response.get("Location", ""), path


def test_an_answer_link_goes_to_its_own_answer_page(client, followup):
    no = answer_link(followup, "no")
    assert location(client, f"/v1/t/c/{no.pk}") == f"{HOME}/v1/t/a/{no.pk}"


def test_the_recorded_destination_is_fixed_at_send(client, link):
    original = location(client, f"/v1/t/c/{link.pk}")
    # Nothing on the public surface can rewrite a link: the row is the only source.
    client.post(f"/v1/t/c/{link.pk}", {"original_url": "https://evil.example"})
    link.refresh_from_db()
    assert link.original_url == original
