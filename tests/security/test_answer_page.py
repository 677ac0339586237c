"""The hosted answer page: escapes what it shows, limits size, resists CSRF without a login."""

from __future__ import annotations

import re

import pytest

from alerts.operator import latest_comment  # noqa: F401  (registers the support alert)
from tests.tracking.conftest import answer_link
from tracking.forms import answer_form_token
from tracking.mailer import email_send
from tracking.models import TrackedLink, UserEvent

pytestmark = pytest.mark.django_db
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def token_of(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def test_answer_properties_are_shown_as_text(client, followup):
    link = TrackedLink.objects.create(email_send=followup, original_url="x", event="e.answered",
                                      event_properties={"answer": SCRIPT})
    html = client.get(f"/v1/t/a/{link.pk}").content.decode()
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html


def test_a_comment_with_markup_is_stored_as_text_and_escaped_where_shown(client, followup,
                                                                         mailoutbox):
    no = answer_link(followup, "no")
    response = client.post(f"/v1/t/a/{no.pk}", {"comment": SCRIPT,
                                                 "form_token": answer_form_token(no.pk)})
    assert response.status_code == 200 and "<script>" not in response.content.decode()
    stored = UserEvent.objects.get(event="support.followup_answered.comment")
    assert stored.properties["comment"] == SCRIPT  # data, kept verbatim
    # Where staff read it: the support alert email renders it escaped.
    email_send(to="support@example.com", template="transactional/support-alert",
               props={"ticketId": "T-9", "comment": SCRIPT}, skip_preference_check=True)
    html = mailoutbox[-1].alternatives[0][0]
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_rejected_comment_is_echoed_back_escaped(client, followup):
    no = answer_link(followup, "no")
    response = client.post(f"/v1/t/a/{no.pk}", {"comment": SCRIPT + "x" * 2000,
                                                 "form_token": answer_form_token(no.pk)})
    assert response.status_code == 400
    assert "<script>" not in response.content.decode()
    assert not UserEvent.objects.filter(event__endswith=".comment").exists()


@pytest.mark.parametrize(("size", "stored"), [(2000, True), (2001, False)])
def test_comments_are_limited_to_2000_characters(client, followup, size, stored):
    no = answer_link(followup, "no")
    response = client.post(f"/v1/t/a/{no.pk}", {"comment": "y" * size,
                                                 "form_token": answer_form_token(no.pk)})
    assert response.status_code == (200 if stored else 400)
    assert UserEvent.objects.filter(event__endswith=".comment").exists() is stored


def test_a_huge_body_is_refused_without_storing_anything(client, followup):
    no = answer_link(followup, "no")
    response = client.post(f"/v1/t/a/{no.pk}", {"comment": "z" * 3_000_000,
                                                 "form_token": answer_form_token(no.pk)})
    assert response.status_code in (400, 413)
    assert not UserEvent.objects.filter(event__endswith=".comment").exists()


def test_a_cross_site_post_without_the_pages_token_is_refused(client, followup):
    no, yes = answer_link(followup, "no"), answer_link(followup, "yes")
    for token in ("", "forged", answer_form_token(yes.pk), answer_form_token(no.pk) + "x"):
        response = client.post(f"/v1/t/a/{no.pk}", {"comment": "hi", "form_token": token},
                               HTTP_ORIGIN="https://evil.example",
                               HTTP_REFERER="https://evil.example/page")
        assert response.status_code == 400, token
    assert not UserEvent.objects.exists()


def test_the_page_token_works_without_any_session_or_cookie(client, followup):
    no = answer_link(followup, "no")
    token = token_of(client.get(f"/v1/t/a/{no.pk}").content.decode())
    client.cookies.clear()
    response = client.post(f"/v1/t/a/{no.pk}", {"comment": "fine", "form_token": token})
    assert response.status_code == 200
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies


def test_the_page_cannot_be_framed_or_cached(client, followup):
    no = answer_link(followup, "no")
    response = client.get(f"/v1/t/a/{no.pk}")
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "no-referrer"
