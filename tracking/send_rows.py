"""A send's `EmailSend` row through its life: the columns it is written with,
written queued with its links, marked sent, failed or dropped, or written
suppressed (a row without key, so a later retry sends)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from hogsend_site import outbound
from hogsend_site.bulk import bulk_set
from tracking import test_mode
from tracking.models import EmailSend, TrackedLink
from tracking.rows import LinkRow, SendRow, rows_insert, text_array, uuid_array
from tracking.send_types import Row, SendRequest, SendResult

logger = logging.getLogger(__name__)

Status = EmailSend.Status
# How long one caller holds a queued row while it calls the provider (the row's
# `next_attempt_at`): a crashed attempt's lease expires and a retry re-drives it.
DISPATCH_LEASE = timedelta(minutes=2)


def prior(idempotency_key: str) -> EmailSend | None:
    """The row an earlier attempt wrote under this key, if any."""
    return EmailSend.objects.filter(idempotency_key=idempotency_key).first()


def row_fields(request: SendRequest) -> dict[str, Any]:
    return {
        "journey_run_id": request.origin.journey_run_id, "journey_id": request.origin.journey_id,
        "contact_id": request.contact.pk if request.contact else None,
        "user_key": request.user_key,
        "template_key": request.template.key, "category": request.category,
        "from_email": request.from_email, "to_email": request.to, "subject": request.subject,
        "metadata": _row_metadata(request),
        "created_at": request.now,
    }


def _row_metadata(request: SendRequest) -> dict[str, Any]:
    metadata: dict[str, Any] = {"headers": request.headers, "replyTo": request.reply_to or ""}
    if request.origin.campaign_id:
        metadata["campaignId"] = request.origin.campaign_id
    if test_mode.is_active():
        # The row keeps the real recipient (preferences, suppression and answers
        # are hers); where the message actually went is recorded beside it.
        metadata["testMode"] = {"redirectedTo": test_mode.inbox()}
    return metadata


def write_suppressed(request: SendRequest, orphan: EmailSend | None, reason: str) -> EmailSend:
    """A `suppressed` row never holds the key, so a retry after re-subscribing sends."""
    if orphan is not None:
        EmailSend.objects.filter(pk=orphan.pk).update(
            status=Status.SUPPRESSED, reason=reason, idempotency_key=None, updated_at=request.now)
        return orphan
    return EmailSend.objects.create(**row_fields(request), status=Status.SUPPRESSED,
                                    reason=reason, idempotency_key=None)


def insert_queued(request: SendRequest, row: SendRow, links: list[LinkRow]) -> Any:
    """Insert-or-nothing on the key; on conflict the winner's row is returned.

    The row and its tracked links commit together: a worker killed between the
    two would otherwise leave a queued row whose stored body links to nothing,
    and the retry would send an email whose answer buttons lead nowhere.
    """
    try:
        with transaction.atomic():
            rows_insert(EmailSend, [row])
            rows_insert(TrackedLink, links)
        return row
    except IntegrityError:
        winner = prior(request.idempotency_key)
        if winner is None:
            raise
        return winner


def mark_sent(row: Row, message_id: Any) -> SendResult:
    """One accepted message: its row `sent`, and `email.sent` announced."""
    sent_at = timezone.now()
    EmailSend.objects.filter(pk=row.pk).update(
        status=Status.SENT, sent_at=sent_at, next_attempt_at=None, updated_at=sent_at,
        message_id="" if message_id is None else str(message_id)[:255])
    outbound.emit("email.sent", {"send": row, "sent_at": sent_at, "message_id": message_id},
                  dedupe_key=f"email.sent:{row.pk}")
    return SendResult(email_send_id=str(row.pk), status="sent", sent_at=sent_at)


def mark_sent_many(accepted: list[tuple[Row, Any]], results: list) -> None:
    """Accepted messages (row, provider message id) marked `sent` with one UPDATE
    (on other databases than PostgreSQL a second when their message ids differ);
    `results` get the time."""
    sent_at = timezone.now()
    for row, message_id in accepted:
        row.message_id = "" if message_id is None else str(message_id)[:255]
    rows = [row for row, _ in accepted]
    if connection.vendor == "postgresql":
        _set_sent_pg(rows, sent_at)
    else:
        ids = {row.message_id for row in rows}
        EmailSend.objects.filter(pk__in=[row.pk for row in rows]).update(
            status=Status.SENT, sent_at=sent_at, next_attempt_at=None, updated_at=sent_at,
            **({"message_id": ids.pop()} if len(ids) == 1 else {}))
        if len(ids) > 1:
            bulk_set(EmailSend, rows, ["message_id"])
    for result in results:
        if isinstance(result, SendResult):
            result.sent_at = sent_at
    outbound.emit_many(
        outbound.Emission("email.sent", {"send": row, "sent_at": sent_at,
                                         "message_id": message_id},
                          dedupe_key=f"email.sent:{row.pk}")
        for row, message_id in accepted)


# Each row its own message id, from two arrays (one parameter each, however many rows).
_SENT_SQL = (f"UPDATE {EmailSend._meta.db_table} AS s SET status = %s, sent_at = %s, "
             "next_attempt_at = NULL, updated_at = %s, message_id = v.message_id "
             "FROM unnest(%s::uuid[], %s::text[]) AS v(id, message_id) WHERE s.id = v.id")


def _set_sent_pg(rows: list[Row], sent_at: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_SENT_SQL, [Status.SENT.value, sent_at, sent_at,
                                   uuid_array(row.pk for row in rows),
                                   text_array(row.message_id for row in rows)])


def mark_failed(row: Row, exc: BaseException) -> None:
    """Failed rows release their key, so a retry genuinely sends again."""
    logger.warning("email send %s failed: %s", row.pk, exc)
    EmailSend.objects.filter(pk=row.pk).update(
        status=Status.FAILED, idempotency_key=None, error=f"{type(exc).__name__}: {exc}",
        next_attempt_at=None, updated_at=timezone.now())


def drop(row: Row, reason: str) -> None:
    """A written send that must not go out after all (its run exited meanwhile)."""
    EmailSend.objects.filter(pk=row.pk, status=Status.QUEUED).update(
        status=Status.FAILED, reason=reason, idempotency_key=None, next_attempt_at=None,
        updated_at=timezone.now())
