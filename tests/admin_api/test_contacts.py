"""Contacts on the admin plane: list, detail, preferences and the timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact, PreferenceChange
from contacts.preferences import preference_update
from journeys.engine import days, define_journey
from journeys.models import JourneyLog, JourneyRun
from tests.journeys.conftest import ingest, run_due
from tracking.models import EmailSend, UserEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db) -> list[Contact]:
    now = timezone.now()
    return [
        Contact.objects.create(external_id="u_old", email="old@example.com",
                               last_seen_at=now - timedelta(days=3)),
        Contact.objects.create(external_id="u_new", email="New.Person@Example.com",
                               last_seen_at=now),
        Contact.objects.create(external_id="u_mid", email="mid@example.org",
                               last_seen_at=now - timedelta(days=1)),
        Contact.objects.create(anonymous_id="anon_never_seen"),
    ]


# --- list -----------------------------------------------------------------------------


def test_the_list_is_newest_last_seen_first_with_never_seen_last(admin_api, people):
    body = admin_api.get("/v1/admin/contacts").json()
    assert [c["externalId"] for c in body["contacts"]] == ["u_new", "u_mid", "u_old", None]
    assert (body["total"], body["limit"], body["offset"]) == (4, 50, 0)


def test_the_list_pages_with_limit_and_offset(admin_api, people):
    body = admin_api.get("/v1/admin/contacts?limit=2&offset=1").json()
    assert [c["externalId"] for c in body["contacts"]] == ["u_mid", "u_old"]
    assert (body["total"], body["limit"], body["offset"]) == (4, 2, 1)


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "offset=-1", "limit=ten",
                                   "offset=9223372036854775808"])
def test_a_bad_page_is_a_400_naming_the_parameter(admin_api, query):
    response = admin_api.get(f"/v1/admin/contacts?{query}")
    assert response.status_code == 400
    assert response.json()["error"].startswith(query.split("=")[0] + ":")


@pytest.mark.parametrize(("search", "found"), [
    ("new.person", ["u_new"]), ("EXAMPLE.ORG", ["u_mid"]), ("U_OL", ["u_old"]), ("nobody", []),
])
def test_search_matches_email_or_external_id_case_insensitively(admin_api, people, search,
                                                                 found):
    body = admin_api.get("/v1/admin/contacts", {"search": search}).json()
    assert [c["externalId"] for c in body["contacts"]] == found
    assert body["total"] == len(found)


def test_soft_deleted_contacts_are_not_listed(admin_api, people):
    Contact.objects.filter(external_id="u_old").update(deleted_at=timezone.now())
    body = admin_api.get("/v1/admin/contacts").json()
    assert "u_old" not in [c["externalId"] for c in body["contacts"]]


# --- detail ---------------------------------------------------------------------------


def test_a_contact_is_found_by_uuid_or_external_id(admin_api, ada):
    by_id = admin_api.get(f"/v1/admin/contacts/{ada.pk}").json()
    by_key = admin_api.get("/v1/admin/contacts/u_ada").json()
    assert by_id == by_key
    assert by_id["contact"]["email"] == "ada@example.com"
    assert by_id["preferences"] is None


def test_the_detail_includes_the_preferences(admin_api, unsubscribed):
    body = admin_api.get("/v1/admin/contacts/u_gone").json()
    assert body["preferences"]["unsubscribedAll"] is True
    assert body["preferences"]["email"] == "gone@example.com"


def test_an_unknown_contact_is_a_404(admin_api):
    for path in ("/v1/admin/contacts/nobody", "/v1/admin/contacts/nobody/preferences",
                 "/v1/admin/contacts/nobody/timeline"):
        response = admin_api.get(path)
        assert response.status_code == 404
        assert response.json() == {"error": "Contact not found"}


# --- preferences ----------------------------------------------------------------------


def test_put_preferences_by_external_id_writes_through_the_service(admin_api, ada):
    response = admin_api.put("/v1/admin/contacts/u_ada/preferences",
                             {"unsubscribedAll": True, "categories": {"digest": False}},
                             format="json")
    assert response.status_code == 200
    prefs = response.json()["preferences"]
    assert prefs["unsubscribedAll"] is True and prefs["categories"] == {"digest": False}
    assert prefs["userId"] == "u_ada" and prefs["email"] == "ada@example.com"
    change = PreferenceChange.objects.get()
    assert (change.source, change.actor) == ("api", "admin")
    assert change.changes["unsubscribed_all"] == [False, True]
    assert admin_api.get("/v1/admin/contacts/u_ada/preferences").json() == {"preferences": prefs}


def test_put_preferences_merges_categories_and_leaves_other_fields(admin_api, ada):
    preference_update(contact=ada, email=ada.email, categories={"digest": False}, source="api")
    response = admin_api.put(f"/v1/admin/contacts/{ada.pk}/preferences",
                             {"suppressed": True, "categories": {"product": True}},
                             format="json")
    prefs = response.json()["preferences"]
    assert prefs["categories"] == {"digest": False, "product": True}
    assert prefs["suppressed"] is True and prefs["suppressedAt"] is not None
    assert prefs["unsubscribedAll"] is False


def test_put_preferences_for_a_contact_without_email_is_a_400(admin_api, anon):
    response = admin_api.put(f"/v1/admin/contacts/{anon.pk}/preferences",
                             {"unsubscribedAll": True}, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "Contact has no email address"}


def test_put_preferences_for_an_unknown_contact_is_a_404(admin_api):
    response = admin_api.put("/v1/admin/contacts/nobody/preferences",
                             {"unsubscribedAll": True}, format="json")
    assert response.status_code == 404
    assert response.json() == {"error": "Contact not found"}


def test_put_preferences_rejects_a_bad_body(admin_api, ada):
    response = admin_api.put("/v1/admin/contacts/u_ada/preferences",
                             {"unsubscribedAll": "perhaps"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("unsubscribedAll:")
    response = admin_api.put("/v1/admin/contacts/u_ada/preferences",
                             {"categories": {"not a list!": False}}, format="json")
    assert response.status_code == 400


def winback():
    @define_journey(id="winback-and-sunset", name="Win-back", trigger="dormant",
                    entry_limit="once_per_period", entry_period=days(180))
    def run(user, ctx):
        ctx.sleep(days(7), label="post-winback")
        ctx.send("support/followup")

    return run


def test_the_sunset_write_makes_later_journey_sends_unsubscribed(
        admin_api, api, ada, register, clock, mailoutbox):
    """Win-back recipe, scenario 5: after `PUT .../preferences {unsubscribedAll: true}`
    every send returns `unsubscribed`; a send that skips the check still delivers."""
    register(winback())
    ingest("dormant", user_id="u_ada")
    run_due()
    response = admin_api.put("/v1/admin/contacts/u_ada/preferences",
                             {"unsubscribedAll": True}, format="json")
    assert response.status_code == 200
    clock.shift(days(8))
    run_due()
    run = JourneyRun.objects.get(journey_id="winback-and-sunset")
    assert run.status == "completed"
    send_log = JourneyLog.objects.get(run=run, action="send")
    assert send_log.detail["status"] == "unsubscribed"
    assert EmailSend.objects.get().reason == "unsubscribed"
    assert mailoutbox == []
    plain = api.post("/v1/emails", {"to": ada.email, "template": "support/followup"},
                     format="json")
    assert plain.json()["status"] == "unsubscribed"
    forced = admin_api.post("/v1/emails", {"to": ada.email, "template": "support/followup",
                                           "skipPreferenceCheck": True}, format="json")
    assert forced.json()["status"] == "sent" and len(mailoutbox) == 1


# --- timeline -------------------------------------------------------------------------


@pytest.fixture
def history(ada, clock) -> dict:
    """An event, then a run, then an email, a minute apart."""
    event = UserEvent.objects.create(contact=ada, user_key=ada.key, event="signed.up",
                                     occurred_at=timezone.now())
    clock.shift(60)
    run = JourneyRun.objects.create(journey_id="support-followup", contact=ada,
                                    user_key=ada.key, status="waiting")
    clock.shift(60)
    send = EmailSend.objects.create(contact=ada, user_key=ada.key, template_key="x",
                                    from_email="a@b.c", to_email=ada.email, subject="Hi",
                                    status="sent")
    return {"event": event, "journey": run, "email": send}


def test_the_timeline_interleaves_events_runs_and_emails_newest_first(admin_api, history):
    body = admin_api.get("/v1/admin/contacts/u_ada/timeline").json()
    assert [item["type"] for item in body["timeline"]] == ["email", "journey", "event"]
    assert body["total"] == 3
    assert body["timeline"][0]["data"]["id"] == str(history["email"].pk)
    assert body["timeline"][1]["data"]["journeyId"] == "support-followup"
    assert body["timeline"][2]["data"]["event"] == "signed.up"
    assert body["timeline"][0]["timestamp"] > body["timeline"][1]["timestamp"]


def test_the_timeline_filters_by_type_and_pages(admin_api, history):
    only = admin_api.get("/v1/admin/contacts/u_ada/timeline?type=journey").json()
    assert [item["type"] for item in only["timeline"]] == ["journey"] and only["total"] == 1
    page = admin_api.get("/v1/admin/contacts/u_ada/timeline?limit=1&offset=1").json()
    assert [item["type"] for item in page["timeline"]] == ["journey"]
    assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1)
    assert admin_api.get("/v1/admin/contacts/u_ada/timeline?type=nope").status_code == 400
