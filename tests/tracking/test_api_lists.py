"""Lists on the data plane: `GET /v1/lists`, subscribe/unsubscribe one person, and
the account-wide switch, with the polarity the mailer uses and an audit row per change."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from contacts.models import Contact, EmailPreference, PreferenceChange
from contacts.preferences import preference_update
from hogsend_site.auth import api_key_create

APP = "https://app.example.com"

BETA = {"id": "beta", "name": "Beta programme", "description": "Early features.",
        "defaultOptIn": False, "kind": "topic"}
DIGEST = {"id": "digest", "name": "Weekly digest",
          "description": "A Monday summary of what happened in your projects.",
          "defaultOptIn": True, "kind": "topic"}


@pytest.fixture(autouse=True)
def lists(settings) -> None:
    """`digest` (opt-out) is declared in code; add an opt-in list and a channel."""
    settings.EMAIL_LISTS = [
        {"id": "beta", "name": "Beta programme", "description": "Early features.",
         "default_opt_in": False},
        {"id": "sms-alerts", "name": "SMS alerts", "kind": "channel", "default_opt_in": False},
    ]


def by_id(body: dict) -> dict[str, bool]:
    return {item["id"]: item["subscribed"] for item in body["lists"]}


def subscribe(client: APIClient, list_id: str, body: dict, action: str = "subscribe"):
    return client.post(f"/v1/lists/{list_id}/{action}", body, format="json")


def send_with(client: APIClient, category: str):
    return client.post("/v1/emails", {"to": "ada@example.com", "template": "feedback/referral-ask",
                                       "category": category}, format="json")


# --- reading --------------------------------------------------------------------------


def test_an_anonymous_read_shows_every_enabled_list_at_its_default(api, db):
    response = api.get("/v1/lists")
    assert response.status_code == 200
    body = response.json()
    assert body["unsubscribedAll"] is False
    assert {**DIGEST, "subscribed": True} in body["lists"]
    assert {**BETA, "subscribed": False} in body["lists"]
    assert by_id(body) == {"digest": True, "beta": False, "sms-alerts": False}
    assert [item["kind"] for item in body["lists"] if item["id"] == "sms-alerts"] == ["channel"]


def test_an_unknown_person_reads_the_defaults_and_is_not_created(api, db):
    for query in ("?email=new@example.com", "?userId=u_new"):
        response = api.get(f"/v1/lists{query}")
        assert response.status_code == 200
        assert by_id(response.json()) == {"digest": True, "beta": False, "sms-alerts": False}
    assert not Contact.objects.exists() and not EmailPreference.objects.exists()


def test_a_person_reads_their_own_state_by_user_id_or_email(api, ada):
    preference_update(contact=ada, email=ada.email,
                      categories={"digest": False, "beta": True}, source="staff")
    for query in ("?userId=u_ada", "?email=ADA@example.com"):
        body = api.get(f"/v1/lists{query}").json()
        assert by_id(body) == {"digest": False, "beta": True, "sms-alerts": False}


def test_an_address_unsubscribed_before_it_was_a_contact_reads_so(api, db):
    preference_update(contact=None, email="walk-in@example.com", categories={"digest": False},
                      source="link")
    body = api.get("/v1/lists?email=walk-in@example.com").json()
    assert by_id(body)["digest"] is False


def test_a_list_switched_off_is_not_shown_and_takes_no_members(api, ada, settings):
    settings.ENABLED_LISTS = ["digest"]
    assert by_id(api.get("/v1/lists").json()) == {"digest": True}
    response = subscribe(api, "beta", {"email": "ada@example.com"})
    assert response.status_code == 404
    assert response.json() == {"error": "List not found"}
    assert not EmailPreference.objects.exists() and not PreferenceChange.objects.exists()


def test_a_bad_address_in_the_query_is_400(api, db):
    response = api.get("/v1/lists?email=not-an-address")
    assert response.status_code == 400 and response.json()["error"].startswith("email:")


# --- subscribe / unsubscribe --------------------------------------------------------------


def test_subscribing_creates_the_contact_and_records_an_api_change(api, db):
    response = subscribe(api, "beta", {"email": "New@Example.com", "userId": "u_new"})
    assert response.status_code == 200, response.content
    assert response.json() == {"list": {**BETA, "subscribed": True}, "subscribed": True,
                               "unsubscribedAll": False}
    contact = Contact.objects.get()
    assert (contact.external_id, contact.email) == ("u_new", "new@example.com")
    change = PreferenceChange.objects.get()
    assert (change.source, change.contact_id) == ("api", contact.pk)
    assert change.changes == {"categories": [{}, {"beta": True}]}
    assert change.actor.startswith("api-key:hsk_")
    assert by_id(api.get("/v1/lists?userId=u_new").json())["beta"] is True


def test_a_repeated_subscribe_changes_nothing_and_writes_no_second_row(api, ada):
    first = subscribe(api, "beta", {"userId": "u_ada"})
    again = subscribe(api, "beta", {"userId": "u_ada"})
    assert first.json() == again.json()
    assert again.json()["subscribed"] is True
    assert PreferenceChange.objects.count() == 1


def test_unsubscribing_from_an_opt_out_list_blocks_its_sends(api, ada, mailoutbox):
    assert send_with(api, "digest").json()["status"] == "sent"
    response = subscribe(api, "digest", {"userId": "u_ada"}, action="unsubscribe")
    assert response.status_code == 200
    assert response.json()["list"] == {**DIGEST, "subscribed": False}
    assert PreferenceChange.objects.get().changes == {"categories": [{}, {"digest": False}]}

    blocked = send_with(api, "digest").json()
    assert (blocked["status"], blocked["reason"]) == ("unsubscribed", "category_unsubscribed")
    assert len(mailoutbox) == 1
    # Other categories still send.
    assert send_with(api, "journey").json()["status"] == "sent"


def test_an_opt_in_list_sends_only_once_subscribed(api, ada, mailoutbox):
    assert send_with(api, "beta").json()["status"] == "unsubscribed"
    assert subscribe(api, "beta", {"email": "ada@example.com"}).json()["subscribed"] is True
    assert send_with(api, "beta").json()["status"] == "sent"
    assert len(mailoutbox) == 1
    assert subscribe(api, "beta", {"email": "ada@example.com"},
                     action="unsubscribe").json()["subscribed"] is False
    assert send_with(api, "beta").json()["status"] == "unsubscribed"


def test_subscribing_clears_an_opt_out_left_on_another_row_of_the_person(api, ada):
    # An opt-out recorded under a key merged into Ada long ago still wins until cleared.
    preference_update(contact=ada, email=ada.email, user_key="old-key",
                      categories={"beta": False}, source="link")
    response = subscribe(api, "beta", {"userId": "u_ada"})
    assert response.json()["subscribed"] is True
    assert {row.user_key: row.categories["beta"] for row in EmailPreference.objects.all()} == {
        "old-key": True, "u_ada": True}
    assert PreferenceChange.objects.filter(source="api").count() == 2


def test_subscribing_does_not_undo_an_unsubscribe_from_everything(api, unsubscribed):
    response = subscribe(api, "digest", {"email": "gone@example.com"})
    assert response.status_code == 200
    assert response.json() == {"list": {**DIGEST, "subscribed": False}, "subscribed": False,
                               "unsubscribedAll": True}
    assert EmailPreference.objects.get().unsubscribed_all is True


@pytest.mark.parametrize("body", [{}, {"email": None, "userId": None}])
def test_a_missing_recipient_is_400_and_writes_nothing(api, db, body):
    response = subscribe(api, "beta", body)
    assert response.status_code == 400
    assert response.json() == {"error": "email or userId is required"}
    assert not Contact.objects.exists() and not EmailPreference.objects.exists()


def test_a_person_without_an_address_is_400_and_nothing_is_created(api, anon):
    Contact.objects.filter(pk=anon.pk).update(external_id="u_anon")
    for body in ({"userId": "u_anon"}, {"userId": "u_brand_new"}):
        response = subscribe(api, "beta", body)
        assert response.status_code == 400
        assert response.json() == {"error": "Contact has no email address"}
    assert list(Contact.objects.values_list("external_id", flat=True)) == ["u_anon"]
    assert not EmailPreference.objects.exists() and not PreferenceChange.objects.exists()


def test_an_unknown_list_is_404_and_creates_no_contact(api, db):
    for action in ("subscribe", "unsubscribe"):
        response = subscribe(api, "no-such-list", {"email": "new@example.com"}, action=action)
        assert response.status_code == 404
        assert response.json() == {"error": "List not found"}
    # A built-in category is not a list either.
    assert subscribe(api, "journey", {"email": "new@example.com"}).status_code == 404
    assert not Contact.objects.exists() and not EmailPreference.objects.exists()


# --- the account-wide switch ------------------------------------------------------------


def test_unsubscribing_from_everything_overrides_every_list_until_undone(api, ada, mailoutbox):
    subscribe(api, "beta", {"userId": "u_ada"})
    response = api.post("/v1/lists/preferences", {"userId": "u_ada", "unsubscribedAll": True},
                        format="json")
    assert response.status_code == 200
    assert response.json()["unsubscribedAll"] is True
    assert by_id(response.json()) == {"digest": False, "beta": False, "sms-alerts": False}
    assert PreferenceChange.objects.filter(source="api").count() == 2
    assert send_with(api, "journey").json()["status"] == "unsubscribed"

    back = api.post("/v1/lists/preferences", {"email": "ada@example.com",
                                              "unsubscribedAll": False}, format="json")
    assert back.json()["unsubscribedAll"] is False
    # The lists come back as they were before.
    assert by_id(back.json()) == {"digest": True, "beta": True, "sms-alerts": False}
    assert send_with(api, "beta").json()["status"] == "sent"


def test_the_switch_creates_the_contact_it_names(api, db):
    response = api.post("/v1/lists/preferences", {"email": "new@example.com",
                                                  "unsubscribedAll": True}, format="json")
    assert response.status_code == 200
    contact = Contact.objects.get(email="new@example.com")
    change = PreferenceChange.objects.get()
    assert (change.contact_id, change.source) == (contact.pk, "api")
    assert change.changes == {"unsubscribed_all": [False, True]}


@pytest.mark.parametrize(("body", "error"), [
    ({"email": "ada@example.com"}, "unsubscribedAll: This field is required."),
    ({"unsubscribedAll": True}, "email or userId is required"),
    ({"userId": "u_brand_new", "unsubscribedAll": True}, "Contact has no email address"),
])
def test_bad_preferences_are_400_and_write_nothing(api, ada, body, error):
    response = api.post("/v1/lists/preferences", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": error}
    assert Contact.objects.count() == 1
    assert not EmailPreference.objects.exists() and not PreferenceChange.objects.exists()


# --- keys -------------------------------------------------------------------------------


def test_the_lists_need_a_data_plane_key(db):
    client = APIClient()
    assert client.get("/v1/lists").json() == {"error": "Unauthorized"}
    assert subscribe(client, "beta", {"email": "a@example.com"}).status_code == 401
    assert not Contact.objects.exists()


@pytest.fixture
def browser(db) -> APIClient:
    key = api_key_create(name="web", scopes=["ingest-public"], allowed_origins=[APP])[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_ORIGIN=APP)
    return client


def test_a_browser_key_reads_the_catalogue_and_writes_but_reads_nobody(browser, ada):
    assert by_id(browser.get("/v1/lists").json())["beta"] is False
    refused = browser.get("/v1/lists?email=ada@example.com")
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "Forbidden: a publishable key reads the lists without email or userId"}
    assert subscribe(browser, "beta", {"email": "ada@example.com"}).json()["subscribed"] is True
    assert browser.post("/v1/lists/preferences", {"email": "ada@example.com",
                                                  "unsubscribedAll": False},
                        format="json").status_code == 200
