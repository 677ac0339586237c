from __future__ import annotations

import re

import pytest

from tests.tracking.conftest import answer_link
from tracking.forms import answer_form_token
from tracking.models import TrackedLink, UserEvent


def form_token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def test_the_answer_page_shows_the_question_the_button_tapped_and_a_comment_form(
        client, followup):
    no = answer_link(followup, "no")
    response = client.get(f"/v1/t/a/{no.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Thanks — that&#x27;s recorded" in html or "Thanks — that's recorded" in html
    assert '<strong id="question">Did that fix it?</strong>' in html
    assert "You answered: No, still broken" in html
    # The link's properties are data, never shown as raw pairs.
    assert "answer:" not in html and "ticketId" not in html and "T-9" not in html
    assert 'name="comment"' in html and 'maxlength="2000"' in html
    assert response["Cache-Control"] == "no-store"
    # Viewing the page records nothing.
    assert not UserEvent.objects.exists()


def test_every_comment_is_ingested_the_first_paired_with_the_answer(client, followup):
    no = answer_link(followup, "no")
    token = form_token(client.get(f"/v1/t/a/{no.pk}").content.decode())
    body = {"comment": "Still crashes on save", "form_token": token}
    first = client.post(f"/v1/t/a/{no.pk}", body)
    assert first.status_code == 200 and "Thank you" in first.content.decode()
    second = client.post(f"/v1/t/a/{no.pk}", {"comment": "And again", "form_token": token})
    assert second.status_code == 200
    assert "We've added your note to your answer “No, still broken”" in second.content.decode()
    event, later = UserEvent.objects.filter(
        event="support.followup_answered.comment").order_by("id")
    assert later.properties["comment"] == "And again"
    assert later.idempotency_key.startswith(f"semnote:{followup.pk}:")
    assert event.idempotency_key == f"semc:{followup.pk}:support.followup_answered"
    assert event.contact_id == followup.contact_id
    assert event.properties == {
        "emailSendId": str(followup.pk), "templateKey": "support/followup",
        "journeyId": "support-followup", "comment": "Still crashes on save",
        "parentEvent": "support.followup_answered", "answer": "no", "ticketId": "T-9",
        "linkId": str(no.pk)}


def test_a_comment_without_the_links_form_token_is_refused(client, followup):
    no, yes = answer_link(followup, "no"), answer_link(followup, "yes")
    forged = client.post(f"/v1/t/a/{no.pk}", {"comment": "hi", "form_token": "forged"})
    other = client.post(f"/v1/t/a/{no.pk}", {"comment": "hi",
                                             "form_token": answer_form_token(yes.pk)})
    assert forged.status_code == other.status_code == 400
    assert not UserEvent.objects.exists()


@pytest.mark.parametrize("comment", ["", "   ", "x" * 2001])
def test_an_empty_or_too_long_comment_is_shown_again_with_an_error(client, followup, comment):
    no = answer_link(followup, "no")
    response = client.post(f"/v1/t/a/{no.pk}", {"comment": comment,
                                                 "form_token": answer_form_token(no.pk)})
    assert response.status_code == 400
    assert 'class="errors"' in response.content.decode()
    assert not UserEvent.objects.exists()


def test_everything_on_the_page_is_escaped(client, followup):
    link = TrackedLink.objects.create(email_send=followup, original_url="x", event="q.a",
                                      event_properties={"answer": "<script>alert(1)</script>"})
    html = client.get(f"/v1/t/a/{link.pk}").content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


def test_a_plain_link_or_unknown_id_has_no_answer_page(client, followup):
    plain = TrackedLink.objects.create(email_send=followup, original_url="https://x.test")
    for link_id in (plain.pk, "00000000-0000-4000-8000-000000000000", "junk"):
        response = client.get(f"/v1/t/a/{link_id}")
        assert response.status_code == 404 and "Nothing here" in response.content.decode()
    assert client.post(f"/v1/t/a/{plain.pk}", {"comment": "x"}).status_code == 404


@pytest.mark.usefixtures("start_of_a_minute")
def test_hosted_page_posts_are_rate_limited_per_ip(client, followup, settings):
    settings.HOSTED_PAGE_RATE_LIMIT = "2/min"
    no = answer_link(followup, "no")
    body = {"comment": "hi", "form_token": answer_form_token(no.pk)}
    statuses = [client.post(f"/v1/t/a/{no.pk}", body, REMOTE_ADDR="192.0.2.50").status_code
                for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert client.post(f"/v1/t/a/{no.pk}", body, REMOTE_ADDR="192.0.2.51").status_code == 200
