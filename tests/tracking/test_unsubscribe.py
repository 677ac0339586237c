from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from contacts.models import EmailPreference, PreferenceChange
from contacts.tokens import token_make
from tracking.mailer import email_send
from tracking.send_types import Origin

ONE_CLICK = "List-Unsubscribe=One-Click"
SENT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def unsubscribe_url(mailoutbox, index: int = 0) -> str:
    url = mailoutbox[index].extra_headers["List-Unsubscribe"].strip("<>")
    return url.removeprefix("http://testserver")


def pref(email: str = "ada@example.com") -> EmailPreference | None:
    return EmailPreference.objects.filter(email=email).first()


def test_a_get_only_asks_and_changes_nothing(client, followup, mailoutbox):
    response = client.get(unsubscribe_url(mailoutbox))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Unsubscribe?" in html and "ada@example.com" in html
    assert 'method="post"' in html and "Yes, unsubscribe me" in html
    assert pref() is None or not pref().unsubscribed_all


def test_the_rfc_8058_one_click_post_unsubscribes_globally(client, followup, mailoutbox):
    response = client.post(unsubscribe_url(mailoutbox), ONE_CLICK,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and "You're unsubscribed" in response.content.decode()
    assert pref().unsubscribed_all is True
    change = PreferenceChange.objects.get()
    assert change.source == "link" and change.changes == {"unsubscribed_all": [False, True]}
    assert change.contact_id == followup.contact_id
    again = email_send(to="ada@example.com", template="support/followup", user_id="u_ada")
    assert again.status == "unsubscribed"


def test_the_pages_own_button_unsubscribes(client, followup, mailoutbox):
    url = unsubscribe_url(mailoutbox)
    token = url.split("token=")[1]
    assert client.post(url, {"token": token}).status_code == 200
    assert pref().unsubscribed_all is True


def test_a_category_link_unsubscribes_from_that_category_only(client, ada, mailoutbox):
    email_send(to=ada.email, template="retention-weekly-digest", contact=ada)
    client.post(unsubscribe_url(mailoutbox), ONE_CLICK,
                content_type="application/x-www-form-urlencoded")
    row = pref()
    assert row.categories == {"digest": False} and row.unsubscribed_all is False
    assert email_send(to=ada.email, template="retention-weekly-digest",
                      contact=ada).reason == "category_unsubscribed"
    assert email_send(to=ada.email, template="support/followup", contact=ada).status == "sent"


def test_a_resubscribe_link_clears_the_opt_out(client, unsubscribed):
    token = token_make(key="u_gone", email="gone@example.com", action="resubscribe")
    assert "Subscribe again?" in client.get(f"/v1/email/unsubscribe?token={token}").content.decode()
    client.post(f"/v1/email/unsubscribe?token={token}")
    assert pref("gone@example.com").unsubscribed_all is False


@pytest.mark.parametrize("token", ["", "garbage", "a:b:c"])
def test_an_invalid_token_is_a_400_page(client, db, token):
    for response in (client.get(f"/v1/email/unsubscribe?token={token}"),
                     client.post(f"/v1/email/unsubscribe?token={token}", ONE_CLICK,
                                 content_type="application/x-www-form-urlencoded"),
                     client.get(f"/v1/email/preferences?token={token}")):
        assert response.status_code == 400
        assert "This link is incomplete or was changed" in response.content.decode()
    assert not EmailPreference.objects.exists()


def send_at(when: datetime, mailoutbox) -> tuple[str, str]:
    """A journey email sent to Ada at `when`: its (unsubscribe, preferences) paths."""
    with time_machine.travel(when, tick=False):
        email_send(to="ada@example.com", template="support/followup", user_id="u_ada",
                   props={"ticketId": "T-9"}, origin=Origin(journey_id="support-followup"))
    preferences = re.search(r"Email preferences: (\S+)", mailoutbox[-1].body).group(1)
    return unsubscribe_url(mailoutbox, -1), preferences.removeprefix("http://testserver")


def test_a_link_from_an_email_400_days_old_asks_on_get_and_changes_nothing(client, ada,
                                                                            mailoutbox):
    url, _ = send_at(SENT, mailoutbox)
    with time_machine.travel(SENT + timedelta(days=400), tick=False):
        response = client.get(url)
    assert response.status_code == 200
    assert "Unsubscribe?" in response.content.decode() and pref() is None


def test_a_link_from_an_email_400_days_old_unsubscribes_by_one_click_post(client, ada,
                                                                          mailoutbox):
    url, _ = send_at(SENT, mailoutbox)
    with time_machine.travel(SENT + timedelta(days=400), tick=False):
        response = client.post(url, ONE_CLICK, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200 and "You're unsubscribed" in response.content.decode()
    assert pref().unsubscribed_all is True
    change = PreferenceChange.objects.get()
    assert (change.source, change.contact_id) == ("link", ada.pk)
    assert change.changes == {"unsubscribed_all": [False, True]}
    assert email_send(to=ada.email, template="support/followup",
                      user_id="u_ada").status == "unsubscribed"


def test_the_preference_centre_from_an_email_400_days_old_saves_choices(client, ada,
                                                                        mailoutbox):
    _, url = send_at(SENT, mailoutbox)
    with time_machine.travel(SENT + timedelta(days=400), tick=False):
        assert client.get(url).status_code == 200
        response = client.post(url, {"topic_journey": "on"})
    assert response.status_code == 200 and "saved" in response.content.decode()
    assert pref().categories == {"journey": True, "digest": False}


def test_an_expired_resubscribe_link_changes_nothing_but_offers_a_way_out(client, ada):
    with time_machine.travel(SENT, tick=False):
        token = token_make(key="u_ada", email="ada@example.com", action="resubscribe")
    with time_machine.travel(SENT + timedelta(days=31), tick=False):
        assert client.get(f"/v1/email/unsubscribe?token={token}").status_code == 400
        response = client.post(f"/v1/email/unsubscribe?token={token}")
        html = response.content.decode()
        assert response.status_code == 400 and "This link has expired" in html
        assert pref() is None
        assert "/v1/email/preferences?token=" in html
        fresh = re.search(r'<form method="post" action="http://testserver([^"]+)"', html).group(1)
        done = client.post(fresh, ONE_CLICK, content_type="application/x-www-form-urlencoded")
    assert done.status_code == 200 and pref().unsubscribed_all is True
    assert PreferenceChange.objects.get().contact_id == ada.pk


def test_a_tampered_token_is_refused(client, ada):
    token = token_make(key="u_ada", email="ada@example.com")
    response = client.post(f"/v1/email/unsubscribe?token={token[:-2]}xx")
    assert response.status_code == 400 and pref() is None


def test_the_preference_centre_lists_topics_and_saves_choices(client, ada):
    token = token_make(key="u_ada", email="ada@example.com", action="manage")
    url = f"/v1/email/preferences?token={token}"
    html = client.get(url).content.decode()
    assert "Journey &amp; lifecycle emails" in html and "Weekly digest" in html
    assert "Transactional" not in html
    response = client.post(url, {"topic_journey": "on"})
    assert response.status_code == 200 and "saved" in response.content.decode()
    row = pref()
    assert row.categories == {"journey": True, "digest": False}
    assert row.unsubscribed_all is False
    assert email_send(to=ada.email, template="retention-weekly-digest",
                      contact=ada).reason == "category_unsubscribed"
    client.post(url, {"topic_journey": "on", "topic_digest": "on", "unsubscribed_all": "on"})
    row.refresh_from_db()
    assert row.unsubscribed_all is True and row.categories["digest"] is True
    assert PreferenceChange.objects.filter(source="link", actor="preference-centre").count() == 2


def test_the_preference_centre_get_changes_nothing(client, ada):
    token = token_make(key="u_ada", email="ada@example.com", action="manage")
    assert client.get(f"/v1/email/preferences?token={token}").status_code == 200
    assert not EmailPreference.objects.exists()
