"""A send by address to someone the system knows is theirs: the row, its
`email.sent` webhook and its unsubscribe link name that contact."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from alerts.destinations import shape
from contacts.models import Contact
from contacts.tokens import token_read
from hogsend_site import outbound
from tracking.models import EmailSend

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_events() -> Iterator[list[dict]]:
    """The `data` of every `email.sent` emission, as a webhook endpoint would receive it."""
    seen: list[dict] = []

    def sink(emissions: list[outbound.Emission]) -> None:
        seen.extend(shape(e) for e in emissions if e.event_type == "email.sent")

    outbound.register_sink("test-email-sent", sink)
    yield seen
    outbound._sinks.pop("test-email-sent", None)


def test_email_sent_for_a_send_by_address_carries_the_known_contacts_user_id(
        api, ada, mailoutbox, sent_events):
    response = api.post("/v1/emails", {"to": "ADA@example.com",
                                       "template": "feedback/referral-ask"}, format="json")
    assert response.status_code == 202, response.content
    [data] = sent_events
    assert data["userId"] == "u_ada" and data["to"] == "ada@example.com"
    send = EmailSend.objects.get()
    assert (send.contact_id, send.user_key) == (ada.pk, "u_ada")
    unsubscribe = mailoutbox[0].extra_headers["List-Unsubscribe"]
    assert token_read(unsubscribe.split("token=", 1)[1].rstrip(">")).key == "u_ada"


def test_email_sent_for_an_unknown_address_has_an_empty_user_id(api, db, mailoutbox,
                                                                sent_events):
    api.post("/v1/emails", {"to": "stranger@example.com", "template": "feedback/referral-ask"},
             format="json")
    [data] = sent_events
    assert data["userId"] == "" and EmailSend.objects.get().contact_id is None


def test_a_user_id_given_with_the_address_still_decides_the_contact(api, ada, mailoutbox,
                                                                    sent_events):
    Contact.objects.create(external_id="u_bob")
    response = api.post("/v1/emails", {"to": "ada@example.com", "userId": "u_bob",
                                       "template": "feedback/referral-ask"}, format="json")
    assert response.status_code == 202, response.content
    assert sent_events[0]["userId"] == "u_bob"
