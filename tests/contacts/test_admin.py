"""The contacts admin: every page renders, search is exact, staff writes are audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from contacts.identity import contact_identify
from contacts.models import (
    Contact,
    ContactAlias,
    EmailPreference,
    ErasureRecord,
    PreferenceChange,
)
from contacts.preferences import preference_update
from journeys.models import JourneyRun
from tracking.models import EmailSend, UserEvent

pytestmark = pytest.mark.django_db


def url(model: str, action: str, *args) -> str:
    return reverse(f"admin:contacts_{model}_{action}", args=args)


@pytest.fixture
def merged(ada) -> Contact:
    """Ada with history: an event, a send, a run, a preference, and a merged-in alias."""
    Contact.objects.create(email="ada.old@example.com", anonymous_id="anon-ada")
    contact_identify(user_id="u_ada", anonymous_id="anon-ada")
    UserEvent.objects.create(contact=ada, user_key=ada.key, event="signed_up",
                             properties={"plan": "pro"})
    EmailSend.objects.create(contact=ada, template_key="welcome", from_email="a@x",
                             to_email=ada.email, subject="Welcome")
    JourneyRun.objects.create(journey_id="welcome", contact=ada, user_key=ada.key,
                              status="waiting")
    preference_update(contact=ada, email=ada.email, categories={"tips": False}, source="api")
    return ada


def test_contact_changelist_and_change_page_render(admin_client, merged):
    assert admin_client.get(url("contact", "changelist")).status_code == 200
    page = admin_client.get(url("contact", "change", merged.pk))
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("signed_up", "Welcome", "welcome", "anon-ada", "ada.old@example.com"):
        assert text in html, text


@pytest.mark.parametrize("term", ["ADA@example.com", "u_ada", "anon-ada", "{pk}"])
def test_contact_search_matches_exact_keys_and_uuid(admin_client, merged, term):
    response = admin_client.get(url("contact", "changelist"),
                                {"q": term.format(pk=merged.pk), "state": "live"})
    assert list(response.context["cl"].result_list) == [merged]


def test_contact_search_does_not_do_substring_scans(admin_client, merged):
    response = admin_client.get(url("contact", "changelist"), {"q": "ada"})
    assert list(response.context["cl"].result_list) == []


def test_the_state_filter_separates_live_and_merged_contacts(admin_client, merged):
    live = admin_client.get(url("contact", "changelist"), {"state": "live"})
    deleted = admin_client.get(url("contact", "changelist"), {"state": "deleted"})
    assert list(live.context["cl"].result_list) == [merged]
    assert [c.email for c in deleted.context["cl"].result_list] == ["ada.old@example.com"]


def test_adding_a_contact_normalises_its_email(admin_client, db):
    response = admin_client.post(url("contact", "add"), {
        "external_id": "u9", "email": "  Bob@Example.COM ", "anonymous_id": "",
        "timezone": "Europe/Prague", "properties": "{}",
        "aliases-TOTAL_FORMS": 0, "aliases-INITIAL_FORMS": 0,
        "preferences-TOTAL_FORMS": 0, "preferences-INITIAL_FORMS": 0,
    })
    assert response.status_code == 302, response.content
    assert Contact.objects.get(external_id="u9").email == "bob@example.com"


def test_adding_a_contact_with_a_taken_email_or_a_bad_timezone_is_refused(admin_client, ada):
    response = admin_client.post(url("contact", "add"), {
        "email": "ada@example.com", "timezone": "Mars/Base", "properties": "{}",
        "aliases-TOTAL_FORMS": 0, "aliases-INITIAL_FORMS": 0,
        "preferences-TOTAL_FORMS": 0, "preferences-INITIAL_FORMS": 0,
    })
    assert response.status_code == 200
    errors = str(response.context["adminform"].form.errors)
    assert "unknown IANA timezone" in errors
    assert Contact.objects.count() == 1


def test_the_soft_delete_action_frees_the_keys(admin_client, ada):
    admin_client.post(url("contact", "changelist"),
                      {"action": "soft_delete", "_selected_action": [ada.pk]})
    ada.refresh_from_db()
    assert ada.deleted_at is not None


def test_alias_admin_renders_and_is_read_only(admin_client, merged):
    alias = ContactAlias.objects.get(value="ada.old@example.com")
    assert admin_client.get(url("contactalias", "changelist")).status_code == 200
    assert admin_client.get(url("contactalias", "change", alias.pk)).status_code == 200
    found = admin_client.get(url("contactalias", "changelist"), {"q": "ada.old@example.com"})
    assert list(found.context["cl"].result_list) == [alias]
    assert admin_client.get(url("contactalias", "add")).status_code == 403


def test_preference_admin_renders_and_a_staff_edit_is_audited(admin_client, merged):
    pref = EmailPreference.objects.get()
    assert admin_client.get(url("emailpreference", "changelist")).status_code == 200
    for term in ("ADA@example.com", "u_ada"):
        found = admin_client.get(url("emailpreference", "changelist"), {"q": term})
        assert list(found.context["cl"].result_list) == [pref]
    assert admin_client.get(url("emailpreference", "change", pref.pk)).status_code == 200
    response = admin_client.post(url("emailpreference", "change", pref.pk), {
        "unsubscribed_all": "on", "categories": '{"tips": false, "news": true}',
        "changes-TOTAL_FORMS": 0, "changes-INITIAL_FORMS": 0,
    })
    assert response.status_code == 302, response.content
    pref.refresh_from_db()
    assert pref.unsubscribed_all is True
    assert pref.categories == {"tips": False, "news": True}
    change = PreferenceChange.objects.filter(source="staff").get()
    assert change.actor == "admin"
    assert change.changes["unsubscribed_all"] == [False, True]


def test_the_unsubscribe_action_goes_through_the_audited_service(admin_client, merged):
    pref = EmailPreference.objects.get()
    admin_client.post(url("emailpreference", "changelist"),
                      {"action": "unsubscribe_all", "_selected_action": [pref.pk]})
    pref.refresh_from_db()
    assert pref.unsubscribed_all is True
    assert PreferenceChange.objects.filter(source="staff", actor="admin").count() == 1


def test_preference_change_admin_renders_and_is_read_only(admin_client, merged):
    change = PreferenceChange.objects.get()
    assert admin_client.get(url("preferencechange", "changelist")).status_code == 200
    page = admin_client.get(url("preferencechange", "change", change.pk))
    assert page.status_code == 200
    assert b"tips" in page.content
    assert admin_client.get(url("preferencechange", "add")).status_code == 403


def test_erasure_record_admin_renders_read_only_and_finds_by_contact_id(admin_client, ada):
    record = ErasureRecord.objects.create(contact_id=ada.pk, actor="admin",
                                          counts={"events": 3}, created_at=ada.created_at)
    assert admin_client.get(url("erasurerecord", "changelist")).status_code == 200
    page = admin_client.get(url("erasurerecord", "change", record.pk))
    assert page.status_code == 200 and b"events" in page.content
    found = admin_client.get(url("erasurerecord", "changelist"), {"q": str(ada.pk)})
    assert list(found.context["cl"].result_list) == [record]
    assert admin_client.get(url("erasurerecord", "add")).status_code == 403
