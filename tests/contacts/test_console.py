"""The contact page of the support console: subscription switches written through the
audited service, the audit shown on the page; and the services behind them."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from contacts.models import Contact, EmailPreference, PreferenceChange
from contacts.preferences import contact_preferences_set, preference_update
from contacts.selectors import contacts_by_refs
from hogsend_site.errors import HogsendError
from tracking.preferences import block_reason

pytestmark = pytest.mark.django_db


def page_url(contact: Contact) -> str:
    return reverse("admin:contacts_contact_change", args=[contact.pk])


def switch_url(contact: Contact) -> str:
    return reverse("admin:contacts_contact_preferences", args=[contact.pk])


@pytest.mark.parametrize("who", ["admin_client", "support_client"])
def test_the_contact_page_shows_profile_subscription_and_switches(request, who, ada):
    client = request.getfixturevalue(who)
    response = client.get(page_url(ada))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ('id="support-panel"', "Europe/Berlin — local time now", "subscribed",
                 'id="unsubscribe-all"', "Journey emails", "Enrol in a journey"):
        assert text in html, text


def test_unsubscribing_from_the_page_is_audited_with_the_staff_username(support_client, ada):
    response = support_client.post(switch_url(ada), {"action": "unsubscribe_all"}, follow=True)
    assert "ada@example.com: unsubscribed from everything." in " ".join(
        str(m) for m in get_messages(response.wsgi_request))
    change = PreferenceChange.objects.get()
    assert (change.source, change.actor, change.changes) == (
        "staff", "sam", {"unsubscribed_all": [False, True]})
    assert block_reason(contact=ada, email=ada.email, category="journey") == "unsubscribed"
    html = response.content.decode()
    assert 'id="resubscribe-all"' in html
    audit = html.split("Preference audit")[1]
    assert "sam" in audit and "staff" in audit and "unsubscribed from everything" in audit


def test_a_list_switch_writes_one_category(admin_client, ada):
    admin_client.post(switch_url(ada), {"action": "category", "category": "journey",
                                        "subscribed": "0"})
    pref = EmailPreference.objects.get()
    assert pref.categories == {"journey": False}
    assert block_reason(contact=ada, email=ada.email, category="journey") == \
        "category_unsubscribed"
    admin_client.post(switch_url(ada), {"action": "category", "category": "journey",
                                        "subscribed": "1"})
    assert block_reason(contact=ada, email=ada.email, category="journey") is None
    html = admin_client.get(page_url(ada)).content.decode()
    assert "journey: off" in html and "journey: on" in html


@pytest.mark.parametrize("body", [{"action": "nope"}, {"action": "category", "category": "a b",
                                                        "subscribed": "1"},
                                  {"action": "category", "category": "tips"}])
def test_a_malformed_switch_changes_nothing(admin_client, ada, body):
    admin_client.post(switch_url(ada), body)
    assert not PreferenceChange.objects.exists()


def test_switches_need_the_preference_permission_and_a_post(ada, django_user_model,
                                                           admin_client):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_contact"))
    client = Client()
    client.force_login(viewer)
    page = client.get(page_url(ada))
    assert page.status_code == 200 and b'id="unsubscribe-all"' not in page.content
    assert client.post(switch_url(ada), {"action": "unsubscribe_all"}).status_code == 403
    assert admin_client.get(switch_url(ada)).status_code == 405
    assert not PreferenceChange.objects.exists()


def test_a_contact_without_an_address_has_nothing_to_switch(admin_client, anon):
    html = admin_client.get(page_url(anon)).content.decode()
    assert "No email address" in html
    response = admin_client.post(switch_url(anon), {"action": "unsubscribe_all"}, follow=True)
    assert "nothing changed (Contact has no email address)" in response.content.decode()


# --- the service --------------------------------------------------------------------


def test_resubscribing_clears_every_row_that_still_blocks(ada):
    # An old key's row (say, from before a merge) unsubscribed by a link.
    preference_update(contact=ada, email=ada.email, user_key="anon-old", unsubscribed_all=True,
                      categories={"journey": False}, source="link")
    preference_update(contact=ada, email=ada.email, unsubscribed_all=True, source="api")
    written = contact_preferences_set(contact=ada, unsubscribed_all=False,
                                      categories={"journey": True}, source="staff", actor="sam")
    assert {row.user_key for row in written} == {"u_ada", "anon-old"}
    assert block_reason(contact=ada, email=ada.email, category="journey") is None
    assert PreferenceChange.objects.filter(source="staff", actor="sam").count() == 2


def test_opting_out_writes_only_the_contacts_own_row(ada):
    preference_update(contact=ada, email=ada.email, user_key="anon-old", source="link",
                      categories={"tips": True})
    written = contact_preferences_set(contact=ada, unsubscribed_all=True, source="staff")
    assert [(row.user_key, row.unsubscribed_all) for row in written] == [("u_ada", True)]
    assert EmailPreference.objects.get(user_key="anon-old").unsubscribed_all is False


def test_the_service_needs_an_address(anon):
    with pytest.raises(HogsendError, match="no email address"):
        contact_preferences_set(contact=anon, unsubscribed_all=True, source="staff")


def test_contacts_by_refs_finds_live_contacts_by_email_uuid_or_external_id(ada, anon):
    gone = Contact.objects.create(external_id="u_gone_for_good", email="x@example.com")
    gone.deleted_at = gone.created_at
    gone.save()
    found = contacts_by_refs(refs=["ADA@example.com", str(anon.pk), "u_ada", "u_gone_for_good",
                                   "x@example.com", "nobody"])
    assert found == {"ADA@example.com": ada, str(anon.pk): anon, "u_ada": ada}
