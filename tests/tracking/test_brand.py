"""The sender's brand on the customer's side: every email and every hosted page,
and greetings that use the person's name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from contacts.tokens import token_make
from tests.recipes.helpers import advance_to, send_event, sent
from tests.tracking.conftest import answer_link
from tracking.forms import answer_form_token
from tracking.mailer import email_send
from tracking.models import EmailSend

pytestmark = pytest.mark.django_db

LOGO = "https://cdn.acme.test/logo.png"


@pytest.fixture
def acme(settings):
    settings.BRAND_NAME = "Acme Support"
    settings.BRAND_LOGO_URL = LOGO
    settings.BRAND_PRIMARY_COLOR = "#C2410C"
    settings.BRAND_BACKGROUND_COLOR = "#fff7ed"
    settings.BRAND_FOOTER = "Acme Ltd · 1 Harbour Street · Bristol BS1 4XX"
    settings.DEFAULT_FROM_EMAIL = "Acme <help@acme.test>"


def test_the_brand_settings_appear_in_an_email(acme, ada, mailoutbox):
    result = email_send(to=ada.email, template="support/followup", contact=ada,
                        props={"ticketId": "T-9", "sender_brand": "spoofed"})
    send = EmailSend.objects.get(pk=result.email_send_id)
    assert f'src="{LOGO}"' in send.html and 'alt="Acme Support"' in send.html
    assert "#c2410c" in send.html  # the buttons and links, inlined
    assert "#fff7ed" in send.html
    assert "Acme Ltd · 1 Harbour Street · Bristol BS1 4XX" in send.html
    assert "help@acme.test" in send.html
    assert "Hogsend" not in send.html and "spoofed" not in send.html
    assert "Acme Support · help@acme.test" in send.text
    assert "Acme Ltd · 1 Harbour Street · Bristol BS1 4XX" in send.text
    (message,) = mailoutbox
    assert message.from_email == "Acme <help@acme.test>"


def hosted_pages(client, send: EmailSend) -> dict[str, str]:
    no = answer_link(send, "no")
    unsubscribe = token_make(key="u_ada", email="ada@example.com", action="unsubscribe")
    manage = token_make(key="u_ada", email="ada@example.com", action="manage")
    thanks = client.post(f"/v1/t/a/{no.pk}", {"comment": "Still broken.",
                                               "form_token": answer_form_token(no.pk)})
    pages = {
        "answer": client.get(f"/v1/t/a/{no.pk}"),
        "thanks": thanks,
        "unsubscribe": client.get(f"/v1/email/unsubscribe?token={unsubscribe}"),
        "preferences": client.get(f"/v1/email/preferences?token={manage}"),
        "invalid link": client.get("/v1/email/preferences?token=mangled"),
    }
    assert [response.status_code for response in pages.values()] == [200, 200, 200, 200, 400]
    return {name: response.content.decode() for name, response in pages.items()}


def test_the_brand_settings_appear_on_every_hosted_page(acme, client, followup):
    for name, html in hosted_pages(client, followup).items():
        assert f'<img src="{LOGO}" alt="Acme Support">' in html, name
        assert "--accent: #c2410c" in html and "--bg: #fff7ed" in html, name
        assert "Acme Ltd · 1 Harbour Street · Bristol BS1 4XX" in html, name
        assert 'href="mailto:help@acme.test"' in html, name
        assert "· Acme Support</title>" in html, name
        assert "Hogsend" not in html, name


def test_without_brand_settings_the_pages_use_the_senders_name_and_the_defaults(
        client, followup, settings):
    settings.DEFAULT_FROM_EMAIL = "Northwind <hi@northwind.test>"
    html = hosted_pages(client, followup)["answer"]
    assert '<span>Northwind</span>' in html and "--accent: #2563eb" in html
    assert "<img" not in html


def test_a_malformed_colour_never_reaches_a_page_or_an_email(client, followup, ada, settings):
    settings.BRAND_PRIMARY_COLOR = "red;} body{visibility:hidden"
    settings.BRAND_LOGO_URL = 'javascript:alert(1)"'
    html = hosted_pages(client, followup)["answer"]
    assert "visibility:hidden" not in html and "--accent: #2563eb" in html
    assert "javascript:" not in html
    result = email_send(to=ada.email, template="support/followup", contact=ada)
    send = EmailSend.objects.get(pk=result.email_send_id)
    assert "visibility:hidden" not in send.html and "javascript:" not in send.html


def test_the_greeting_uses_the_contacts_first_name(ada, mailoutbox):
    ada.properties = {"first_name": "Ada", "name": "Ada Lovelace"}
    ada.save()
    result = email_send(to=ada.email, template="support/followup", contact=ada,
                        props={"ticketId": "T-9"})
    assert "Hi Ada," in EmailSend.objects.get(pk=result.email_send_id).text
    # A name passed with the send wins over the stored one.
    email_send(to=ada.email, template="support/followup", contact=ada,
               props={"firstName": "Augusta"}, idempotency_key="k2")
    assert "Hi Augusta," in mailoutbox[-1].body


def test_a_contact_without_a_name_keeps_the_address_greeting(ada, mailoutbox):
    email_send(to=ada.email, template="support/followup", contact=ada)
    assert "Hi ada," in mailoutbox[-1].body


def test_a_journey_send_greets_the_contact_by_the_name_stored_through_the_api(api, mailoutbox):
    resolved = datetime(2026, 6, 16, 14, 40, tzinfo=UTC)
    with time_machine.travel(resolved, tick=False) as clock:
        response = api.put("/v1/contacts", {
            "userId": "u_grace", "email": "g.hopper@example.com", "timezone": "Europe/Berlin",
            "properties": {"firstName": "Grace"}}, format="json")
        assert response.status_code == 200, response.content
        send_event(api, "ticket.resolved", "u_grace", {"ticket_id": "T-1"})
        advance_to(clock, resolved + timedelta(days=1))
    (email,) = sent("support/followup")
    assert "Hi Grace," in email.text and "Hi Grace," in email.html
