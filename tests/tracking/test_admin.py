"""The tracking admin: every page renders, history is read-only, the preview is inert."""

from __future__ import annotations

import html as html_lib

import pytest
from django.urls import reverse

from tests.tracking.conftest import answer_link
from tracking.models import EmailSend, LinkClick, ProviderEvent, TrackedLink, UserEvent

pytestmark = pytest.mark.django_db


def url(model: str, action: str, *args) -> str:
    return reverse(f"admin:tracking_{model}_{action}", args=args)


@pytest.fixture
def history(client, followup):
    """A sent follow-up with one human click on "No", an event and a provider event."""
    client.get(f"/v1/t/c/{answer_link(followup, 'no').pk}", HTTP_USER_AGENT="Mozilla/5.0")
    UserEvent.objects.create(contact=followup.contact, user_key="u_ada", event="ticket.resolved",
                             properties={"ticket_id": "T-9"}, idempotency_key="zd:T-9")
    ProviderEvent.objects.create(esp_name="Postmark", dedupe_key="pm:1", event_type="bounced",
                                 bounce_class="permanent", recipient="ada@example.com",
                                 email_send=followup, outcome="applied")
    return followup


@pytest.mark.parametrize("model", ["userevent", "emailsend", "trackedlink", "linkclick",
                                   "providerevent"])
def test_every_changelist_renders_and_searches(admin_client, history, model):
    assert admin_client.get(url(model, "changelist")).status_code == 200
    for term in ("ada@example.com", str(history.pk), "nothing-matches"):
        assert admin_client.get(url(model, "changelist"), {"q": term}).status_code == 200


def test_every_change_page_renders(admin_client, history):
    link = answer_link(history, "no")
    for model, obj in (("userevent", UserEvent.objects.first()), ("emailsend", history),
                       ("trackedlink", link), ("linkclick", LinkClick.objects.get()),
                       ("providerevent", ProviderEvent.objects.get())):
        assert admin_client.get(url(model, "change", obj.pk)).status_code == 200, model


def test_the_send_page_shows_an_inert_preview_links_and_clicks(admin_client, history):
    page = admin_client.get(url("emailsend", "change", history.pk)).content.decode()
    assert "<iframe sandbox srcdoc=" in page
    srcdoc = html_lib.unescape(page.split('srcdoc="')[1].split('"')[0])
    assert "Did that fix it?" in srcdoc and "/v1/t/o/" not in srcdoc
    assert srcdoc.startswith('<base target="_blank">')
    assert "<script" not in page.split("srcdoc=")[1].split("</iframe>")[0]
    assert "support.followup_answered" in page and "human" in page


def test_the_event_search_is_exact(admin_client, history):
    page = admin_client.get(url("userevent", "changelist"), {"q": "ticket.resolved"})
    assert "zd:T-9" in page.content.decode() or "ticket.resolved" in page.content.decode()


def test_history_is_read_only(admin_client, history):
    assert admin_client.get(url("emailsend", "add")).status_code == 403
    assert admin_client.get(url("userevent", "add")).status_code == 403
    response = admin_client.post(url("emailsend", "delete", history.pk), {"post": "yes"})
    assert response.status_code == 403
    assert EmailSend.objects.filter(pk=history.pk).exists()
    assert TrackedLink.objects.filter(email_send=history).count() == 2
