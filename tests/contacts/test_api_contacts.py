"""PUT/POST/DELETE /v1/contacts and GET /v1/contacts/find, in the wire shapes the
reference engine's client SDKs expect: link, additive merge, soft delete, list edges."""

from __future__ import annotations

from datetime import datetime

import pytest

from contacts.models import Contact, EmailPreference


def put(api, body):
    return api.put("/v1/contacts", body, format="json")


def find(api, **params):
    return api.get("/v1/contacts/find", params)


# --- upsert ---------------------------------------------------------------------


def test_it_creates_then_links_and_reports_both(api):
    first = put(api, {"email": "Ada@Example.com"})
    assert first.status_code == 200, first.content
    assert first.json() == {"id": first.json()["id"], "created": True, "linked": False}
    second = put(api, {"email": "ada@example.com", "userId": "u1"})
    assert second.json() == {"id": first.json()["id"], "created": False, "linked": True}
    third = put(api, {"userId": "u1"})
    assert third.json() == {"id": first.json()["id"], "created": False, "linked": False}


def test_find_by_email_or_user_id_returns_the_contact_in_the_reference_shape(api):
    contact_id = put(api, {"email": "ada@example.com", "userId": "u1",
                           "properties": {"plan": "pro"}}).json()["id"]
    by_email = find(api, email="ADA@example.com")
    by_user = find(api, userId="u1")
    assert by_email.status_code == by_user.status_code == 200
    assert by_email.json() == by_user.json()
    [contact] = by_email.json()["contacts"]
    assert contact["id"] == contact_id
    assert (contact["externalId"], contact["email"]) == ("u1", "ada@example.com")
    assert contact["properties"] == {"plan": "pro"}
    for field in ("firstSeenAt", "lastSeenAt", "createdAt", "updatedAt"):
        assert datetime.fromisoformat(contact[field].replace("Z", "+00:00")).tzinfo is not None


def test_find_answers_an_empty_list_when_nothing_matches(api):
    response = find(api, email="nobody@example.com")
    assert response.status_code == 200
    assert response.json() == {"contacts": []}


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({}, "email or userId is required"),
        ({"email": "  "}, "email or userId is required"),
        ({"email": "a@example.com", "userId": "u1"}, "exactly one of email or userId is allowed"),
    ],
)
def test_find_needs_exactly_one_key(api, params, error):
    response = find(api, **params)
    assert response.status_code == 400
    assert response.json() == {"error": error}


def test_properties_merge_additively_and_null_clears_a_key(api):
    put(api, {"userId": "u1", "properties": {"plan": "free", "company": "Acme"}})
    put(api, {"userId": "u1", "properties": {"plan": "pro"}})
    assert Contact.objects.get().properties == {"plan": "pro", "company": "Acme"}
    put(api, {"userId": "u1", "properties": {"company": None}})
    assert Contact.objects.get().properties == {"plan": "pro"}


def test_post_is_accepted_as_an_upsert_too(api):
    response = api.post("/v1/contacts", {"userId": "u1"}, format="json")
    assert response.status_code == 200
    assert response.json()["created"] is True


def test_it_sets_the_contacts_timezone(api):
    put(api, {"userId": "u1", "timezone": "Europe/Prague"})
    assert Contact.objects.get().timezone == "Europe/Prague"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "email or userId is required"),
        ({"anonymousId": "anon-1"}, "email or userId is required"),
        ({"email": "not-an-email"}, "email: Enter a valid email address."),
        ({"userId": "u1", "properties": ["plan"]}, "properties: Expected a dictionary"),
        ({"userId": "u1", "timezone": "Mars/Olympus"}, "timezone: unknown IANA timezone"),
        ({"userId": "u1", "lists": {"tips": "maybe"}}, "lists.tips: Must be a valid boolean."),
        ({"userId": "u1", "lists": {"tips": True}}, "lists: the contact has no email address"),
        ({"email": "a@example.com", "lists": {"bad id": True}}, "lists: invalid list id"),
    ],
)
def test_bad_upserts_are_a_400_that_says_what_is_wrong_and_write_nothing(api, body, error):
    response = put(api, body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(error), response.json()
    assert not Contact.objects.exists()
    assert not EmailPreference.objects.exists()


def test_a_body_that_is_not_json_is_a_400(api):
    response = api.put("/v1/contacts", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid JSON body")


def test_lists_on_upsert_subscribe_and_unsubscribe_the_contact(api, ingest_key):
    response = put(api, {"email": "ada@example.com", "lists": {"tips": True, "news": False}})
    assert response.status_code == 200
    pref = EmailPreference.objects.get()
    assert str(pref.contact_id) == response.json()["id"]
    assert pref.categories == {"tips": True, "news": False}
    assert pref.changes.get().actor == f"api-key:{ingest_key[:12]}"


# --- delete ---------------------------------------------------------------------


def test_delete_soft_deletes_then_404s_and_needs_a_key(api):
    contact_id = put(api, {"email": "ada@example.com", "userId": "u1"}).json()["id"]
    response = api.delete("/v1/contacts", {"userId": "u1"}, format="json")
    assert response.status_code == 200
    assert response.json() == {"deleted": True}
    assert Contact.objects.get(pk=contact_id).deleted_at is not None
    assert find(api, userId="u1").json() == {"contacts": []}
    again = api.delete("/v1/contacts", {"userId": "u1"}, format="json")
    assert again.status_code == 404
    assert again.json() == {"error": "Contact not found"}
    empty = api.delete("/v1/contacts", {}, format="json")
    assert empty.status_code == 400
    assert empty.json() == {"error": "email or userId is required"}


def test_a_deleted_contacts_keys_make_a_new_contact(api):
    old = put(api, {"email": "ada@example.com"}).json()["id"]
    api.delete("/v1/contacts", {"email": "ada@example.com"}, format="json")
    new = put(api, {"email": "ada@example.com"}).json()
    assert new["created"] is True and new["id"] != old


def test_the_contacts_api_needs_a_key(client, db):
    response = client.put("/v1/contacts", {"userId": "u1"}, content_type="application/json")
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}
    assert not Contact.objects.exists()
