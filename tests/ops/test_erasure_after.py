"""After an erasure, the pages her emails link to record nothing more of her.

Her old emails still sit in her mailbox (and in anybody's she forwarded them
to): their open pixel still answers its GIF, their links still redirect (home)
and their answer pages still answer (like an unknown link's), but no hit adds a
row tied to her. The dump of every table (tests/ops/test_erasure_everywhere.py)
still finds nothing of her afterwards.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from contacts.erasure import contact_erase
from tests.ops.test_erasure import person  # noqa: F401  (the fixture)
from tests.ops.test_erasure_everywhere import (  # noqa: F401  (the fixture)
    FORBIDDEN,
    database_text,
    everywhere,
    tables_naming,
)
from tracking import events_due
from tracking.forms import answer_form_token
from tracking.models import EmailSend, LinkClick, PendingEvent, TrackedLink, UserEvent
from tracking.semantic import confirm_click
from tracking.services import answer_comment_record, open_record
from tracking.views import PIXEL

pytestmark = pytest.mark.django_db

BROWSER = {"HTTP_USER_AGENT": "Mozilla/5.0 (Macintosh)"}
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def hosted_answer(send: EmailSend, answer: str, event: str = "survey.answered") -> TrackedLink:
    """A hosted-answer link, as tracking/links.py writes it: its URL is its own page.
    (Not the fixture's `support.followup_answered`: its comment slot is taken.)"""
    link = TrackedLink.objects.create(email_send=send, original_url="", event=event,
                                      event_properties={"answer": answer, "ticketId": "T-1"})
    TrackedLink.objects.filter(pk=link.pk).update(
        original_url=f"http://testserver/v1/t/a/{link.pk}")
    link.refresh_from_db()
    return link


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count()
            for model in (UserEvent, LinkClick, PendingEvent)}


@pytest.fixture
def erased(everywhere) -> dict[str, Any]:  # noqa: F811
    """Ada with an answer link, erased; the answer form token her page handed out."""
    link = hosted_answer(everywhere["send"], "no")
    contact_erase(contact_id=everywhere["contact"].pk, actor="dpo")
    return {**everywhere, "answer": link, "form_token": answer_form_token(link.pk)}


def test_her_pixel_answers_its_gif_and_records_nothing(erased, client):
    sends = list(EmailSend.objects.filter(contact=erased["contact"]))
    assert sends and all(send.to_email == "" for send in sends)
    before = row_counts()

    for send in sends:
        for method in (client.get, client.head):
            response = method(f"/v1/t/o/{send.pk}", **BROWSER)
            assert response.status_code == 200 and response["Content-Type"] == "image/gif"
        assert client.get(f"/v1/t/o/{send.pk}").content == PIXEL

    assert row_counts() == before
    for send in sends:
        row = EmailSend.objects.get(pk=send.pk)
        assert (row.opened_at, row.status) == (send.opened_at, send.status)


def test_her_links_go_home_and_record_nothing(erased, client, settings):
    links = list(TrackedLink.objects.filter(email_send__contact=erased["contact"]))
    assert any(link.is_semantic for link in links)
    before = row_counts()

    for link in links:
        response = client.get(f"/v1/t/c/{link.pk}", **BROWSER)
        assert response.status_code == 302
        assert response["Location"] == settings.PUBLIC_BASE_URL

    assert row_counts() == before
    assert not LinkClick.objects.filter(confirm_at__isnull=False).exists()


def test_her_answer_page_is_an_unknown_links_and_takes_no_comment(erased, client):
    link = erased["answer"]
    before = row_counts()
    unknown = client.get(f"/v1/t/a/{UNKNOWN}")

    page = client.get(f"/v1/t/a/{link.pk}")
    assert unknown.status_code == page.status_code == 404
    assert page.content == unknown.content and "Nothing here" in page.content.decode()
    posted = client.post(f"/v1/t/a/{link.pk}", {"comment": "call me about it",
                                                "form_token": erased["form_token"]})
    assert posted.status_code == 404

    assert row_counts() == before


def test_after_every_hit_nothing_of_her_is_left_in_any_table(erased, client):
    link = erased["answer"]
    for send_id in EmailSend.objects.filter(contact=erased["contact"]).values_list("pk", flat=True):
        client.get(f"/v1/t/o/{send_id}", **BROWSER)
    for link_id in TrackedLink.objects.filter(
            email_send__contact=erased["contact"]).values_list("pk", flat=True):
        client.get(f"/v1/t/c/{link_id}", **BROWSER)
    client.get(f"/v1/t/a/{link.pk}")
    client.post(f"/v1/t/a/{link.pk}", {"comment": "call me, still broken",
                                       "form_token": erased["form_token"]})

    dump = database_text()
    assert {needle: sorted(tables_naming(needle, dump)) for needle in FORBIDDEN} == {
        needle: [] for needle in FORBIDDEN}


def test_the_services_record_nothing_of_her_either(erased):
    link = TrackedLink.objects.select_related("email_send").get(pk=erased["answer"].pk)
    before = row_counts()
    assert answer_comment_record(link=link, comment="call me") is False
    assert open_record(send_id=link.email_send_id) is False
    assert row_counts() == before


def test_an_answer_she_clicked_just_before_her_erasure_is_never_confirmed(
        everywhere, client):  # noqa: F811
    link = hosted_answer(everywhere["send"], "yes")
    client.get(f"/v1/t/c/{link.pk}", **BROWSER)
    click = LinkClick.objects.get(tracked_link=link, confirm_at__isnull=False)
    contact_erase(contact_id=everywhere["contact"].pk, actor="dpo")
    before = row_counts()

    assert confirm_click(click.pk) == LinkClick.Outcome.SKIPPED
    assert row_counts() == before
    assert not UserEvent.objects.filter(event="survey.answered").exists()


def test_a_hit_that_raced_her_erasure_is_dropped_at_ingest(erased):
    send = erased["send"]
    now = timezone.now()
    hit = PendingEvent.objects.create(email_send=send, event="email.opened", due_at=now,
                                      occurred_at=now, properties={"emailSendId": str(send.pk)})
    events = UserEvent.objects.count()

    events_due.process([hit.pk])

    assert UserEvent.objects.count() == events and not PendingEvent.objects.exists()


def test_someone_elses_pages_still_record_after_her_erasure(erased, client):
    bob = erased["bystander"]
    send = EmailSend.objects.create(contact=bob, user_key="u_bob", to_email="bob@example.com",
                                    from_email="f@x.test", template_key="support/followup",
                                    subject="Hi Bob", status="sent")
    link = hosted_answer(send, "no")

    client.get(f"/v1/t/o/{send.pk}", **BROWSER)
    client.get(f"/v1/t/c/{link.pk}", **BROWSER)
    page = client.get(f"/v1/t/a/{link.pk}")
    posted = client.post(f"/v1/t/a/{link.pk}", {"comment": "fine now",
                                                "form_token": answer_form_token(link.pk)})

    assert page.status_code == 200 and posted.status_code == 200
    assert PendingEvent.objects.filter(email_send=send).count() == 2  # the open, the click
    assert LinkClick.objects.filter(tracked_link=link).count() == 1
    assert UserEvent.objects.get(event="survey.answered.comment",
                                 contact=bob).properties["comment"] == "fine now"
    assert EmailSend.objects.get(pk=send.pk).opened_at is not None
