"""The ingest service itself: keys, money, pinned contacts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from contacts.models import Contact
from tracking.ingest import EventInput, events_ingest
from tracking.models import UserEvent

pytestmark = pytest.mark.django_db


def test_money_rounds_half_away_from_zero_and_drops_bad_currency():
    (result,) = events_ingest([EventInput(name="paid", user_id="m", value=12.345, currency="eur")])
    assert (result.event.value, result.event.currency) == (Decimal("12.35"), "EUR")
    (bad,) = events_ingest([EventInput(name="paid", user_id="m", value=1, currency="euro")])
    assert bad.event.currency == ""


def test_a_key_repeated_after_a_failed_event_is_stored_by_the_valid_one():
    first, second = events_ingest([
        EventInput(name="x", idempotency_key="k"),  # no identity: fails
        EventInput(name="x", user_id="u", idempotency_key="k"),
    ])
    assert first.error and second.stored
    assert UserEvent.objects.get().idempotency_key == "k"


def test_a_key_repeated_in_one_call_is_stored_once():
    results = events_ingest([EventInput(name="x", user_id="u", idempotency_key="k"),
                             EventInput(name="x", user_id="u", idempotency_key="k")])
    assert [r.stored for r in results] == [True, False]


def test_a_pinned_contact_may_be_given_as_a_string_id():
    contact = Contact.objects.create(external_id="pin")
    (result,) = events_ingest([EventInput(name="x", contact_id=str(contact.pk))])
    assert result.stored and result.event.contact_id == contact.pk
    (missing,) = events_ingest([EventInput(name="x", contact_id="not-a-uuid")])
    assert missing.error == "unknown contact not-a-uuid"
