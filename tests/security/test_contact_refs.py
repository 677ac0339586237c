"""A contact reference that is both one contact's uuid and another's external id.

External ids are chosen by whoever holds an ingest key; uuids are minted here. A
reference in uuid form names the contact with that uuid, so nobody can make staff
act on the wrong person by naming their contact after someone else's uuid.
"""

from __future__ import annotations

import uuid

import pytest

from contacts.identity import contact_get
from contacts.models import Contact, EmailPreference
from contacts.selectors import contacts_by_refs
from contacts.tokens import token_make

pytestmark = pytest.mark.django_db

ONE_CLICK = "List-Unsubscribe=One-Click"


@pytest.fixture
def bob(db) -> Contact:
    return Contact.objects.create(id=uuid.UUID("f0000000-0000-4000-8000-000000000001"),
                                  external_id="u_bob", email="bob@example.com")


@pytest.fixture
def squatter(bob) -> Contact:
    """A contact whose external id is Bob's uuid, as an ingest caller could create it.
    Its own uuid sorts first: a lookup that took "the first match" would pick it."""
    return Contact.objects.create(id=uuid.UUID("00000000-0000-4000-8000-000000000002"),
                                  external_id=str(bob.pk), email="mallory@example.com")


def test_a_uuid_reference_names_the_contact_with_that_uuid(bob, squatter):
    assert contact_get(ref=str(bob.pk)) == bob
    assert contact_get(ref=str(bob.pk).upper()) == bob
    assert contact_get(ref=str(squatter.pk)) == squatter  # still reachable by its own uuid
    assert contact_get(ref="u_bob") == bob


def test_the_console_search_resolves_the_same_way(bob, squatter):
    ref, other = str(bob.pk), str(squatter.pk)
    assert contacts_by_refs(refs=[ref, other, "bob@example.com"]) == {
        ref: bob, other: squatter, "bob@example.com": bob}


def test_a_uuid_like_external_id_with_no_such_contact_is_still_found(db):
    ref = str(uuid.uuid4())
    holder = Contact.objects.create(external_id=ref)
    assert contact_get(ref=ref) == holder
    assert contacts_by_refs(refs=[ref]) == {ref: holder}


def test_the_admin_api_reads_and_writes_the_uuids_contact(admin_api, bob, squatter):
    detail = admin_api.get(f"/v1/admin/contacts/{bob.pk}").json()
    assert detail["contact"]["email"] == "bob@example.com"
    response = admin_api.put(f"/v1/admin/contacts/{bob.pk}/preferences",
                             {"unsubscribedAll": True}, format="json")
    assert response.status_code == 200
    assert response.json()["preferences"]["email"] == "bob@example.com"
    assert EmailPreference.objects.get().contact_id == bob.pk


def test_the_data_plane_user_id_is_always_an_external_id(api, bob, squatter):
    response = api.post("/v1/events", {"name": "x.y", "userId": str(bob.pk)}, format="json")
    assert response.status_code == 202
    assert response.json()["contactKey"] == str(bob.pk)
    assert squatter.events.count() == 1 and bob.events.count() == 0


def test_an_unsubscribe_link_acts_on_its_own_contact_not_on_the_uuids(client, bob, squatter):
    token = token_make(key=squatter.key, email="mallory@example.com")
    response = client.post(f"/v1/email/unsubscribe?token={token}", ONE_CLICK,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    pref = EmailPreference.objects.get()
    assert (pref.contact_id, pref.email, pref.unsubscribed_all) == (
        squatter.pk, "mallory@example.com", True)
