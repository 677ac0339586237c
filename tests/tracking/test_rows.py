"""`rows_insert` writes exactly what `bulk_create` writes, in one statement."""

from __future__ import annotations

import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tracking.models import EmailSend, TrackedLink
from tracking.rows import LinkRow, SendRow, rows_insert, text_array, uuid_array
from tracking.send_rows import mark_sent_many

pytestmark = pytest.mark.django_db


def _send(**fields) -> EmailSend:
    return EmailSend(template_key="support/followup", category="journey", to_email="a@x.io",
                     from_email="f@x.io", subject="S", user_key="u", journey_id="j",
                     status=EmailSend.Status.QUEUED, html="<p>tab\there\nline\\ é</p>",
                     text="t", metadata={"headers": {"A": "b"}, "replyTo": ""}, **fields)


def test_rows_and_their_links_are_written_in_one_statement_each():
    sends = [_send(idempotency_key=f"k{i}") for i in range(3)]
    links = [TrackedLink(id=uuid.uuid4(), email_send_id=send.pk, original_url="https://e.x/",
                         event="a.b", event_properties={"answer": "yes", "n": None})
             for send in sends]
    with CaptureQueriesContext(connection) as queries:
        rows_insert(EmailSend, sends)
        rows_insert(TrackedLink, links)
    assert len(queries) == 2
    stored = EmailSend.objects.get(pk=sends[1].pk)
    assert stored.html == sends[1].html and stored.metadata == sends[1].metadata
    assert stored.status == "queued" and stored.idempotency_key == "k1"
    assert stored.created_at == sends[1].created_at and stored.updated_at is not None
    link = TrackedLink.objects.get(pk=links[2].pk)
    assert link.email_send_id == sends[2].pk
    assert link.event_properties == {"answer": "yes", "n": None}


def test_a_taken_key_is_an_integrity_error_and_writes_nothing():
    rows_insert(EmailSend, [_send(idempotency_key="taken")])
    with pytest.raises(IntegrityError), transaction.atomic():
        rows_insert(EmailSend, [_send(idempotency_key="fresh"), _send(idempotency_key="taken")])
    assert not EmailSend.objects.filter(idempotency_key="fresh").exists()


def test_plain_rows_are_written_as_their_model_instances_would_be():
    now = timezone.now()
    send = SendRow(to_email="a@x.io", template_key="support/followup", category="journey",
                   from_email="f@x.io", subject="S", created_at=now, status="queued",
                   idempotency_key="plain", html="<p>tab\there\nline\\ é</p>",
                   metadata={"headers": {"A": "b"}, "replyTo": ""}, attempts=1)
    link = LinkRow(id=uuid.uuid4(), email_send_id=send.id, original_url="https://e.x/",
                   event="a.b", event_properties={"answer": "yes", "n": None})
    with CaptureQueriesContext(connection) as queries:
        rows_insert(EmailSend, [send])
        rows_insert(TrackedLink, [link])
    assert len(queries) == 2
    stored = EmailSend.objects.get(pk=send.id)
    assert (stored.html, stored.metadata, stored.status, stored.attempts) == (
        send.html, send.metadata, "queued", 1)
    assert stored.created_at == now and stored.updated_at is not None
    assert (stored.message_id, stored.opens_dropped, stored.sent_at) == ("", 0, None)
    stored_link = TrackedLink.objects.get(pk=link.id)
    assert stored_link.email_send_id == send.id and stored_link.click_count == 0
    assert stored_link.event_properties == {"answer": "yes", "n": None}
    assert stored_link.created_at is not None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL array literals")
def test_array_parameters_carry_any_text_and_every_id():
    texts = ["plain", 'with "quotes"', "back\\slash", "comma, {brace}", "", "NULL", "it's é"]
    ids = [uuid.uuid4() for _ in range(3)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::text[], %s::uuid[]", [text_array(texts), uuid_array(ids)])
        assert cursor.fetchone() == (texts, ids)


def test_a_batch_marks_each_row_sent_with_its_own_message_id():
    sends = [_send(idempotency_key=f"m{i}") for i in range(3)]
    rows_insert(EmailSend, sends)
    mark_sent_many([(send, f"msg-{i}") for i, send in enumerate(sends)], [])
    stored = dict(EmailSend.objects.values_list("idempotency_key", "message_id"))
    assert stored == {"m0": "msg-0", "m1": "msg-1", "m2": "msg-2"}
    assert set(EmailSend.objects.values_list("status", flat=True)) == {"sent"}
