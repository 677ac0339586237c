"""Whether a send may go out: suppression, unsubscribes and the category, the
frequency cap, the caller's blockers, and test mode without a test inbox.

A send turned down by a preference is written as a `suppressed` row without
key (so it shows in the admin, and a retry after re-subscribing sends); one
capped or blocked writes nothing and is `skipped`. A crashed earlier attempt's
queued row with the same key (the orphan) is settled the same way.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings

from tracking import categories, preferences, test_mode
from tracking.models import EmailSend
from tracking.send_rows import Status, prior, write_suppressed
from tracking.send_types import SendCheck, SendRequest, SendResult

logger = logging.getLogger(__name__)


def check_preferences(request: SendRequest, orphan: EmailSend | None) -> SendResult | None:
    """The result of a send that may not go out, or None when it may."""
    reason = preferences.block_reason(contact=request.contact, email=request.to,
                                      category=request.category)
    skip = None  # a cap or a blocker: skipped, no row
    if reason is None:
        skip = "frequency_capped" if _frequency_capped(request, orphan) else _blocked(
            request, orphan)
        if skip is None:
            return None
    if request.prior_unknown:
        # Blocked now, but a crashed earlier attempt may have sent it already.
        orphan = prior(request.idempotency_key)
        if orphan is not None and orphan.status != Status.QUEUED:
            return SendResult.duplicate(orphan)
    if skip is not None:
        return _skip(orphan, skip)
    row = write_suppressed(request, orphan, reason)
    status = "suppressed" if reason == "suppressed" else "unsubscribed"
    return SendResult(email_send_id=str(row.pk), status=status, reason=reason)


def blocked_by_test_mode(request: SendRequest, orphan: EmailSend | None) -> SendResult:
    """Test mode without a test inbox: record the send as blocked, keyless, so the
    same send goes out for real once test mode is off."""
    if request.prior_unknown:
        orphan = prior(request.idempotency_key)
        if orphan is not None and orphan.status != Status.QUEUED:
            return SendResult.duplicate(orphan)
    row = write_suppressed(request, orphan, test_mode.BLOCKED_REASON)
    logger.warning("email.test_mode_blocked send=%s to=%s", row.pk, request.to)
    return SendResult(email_send_id=str(row.pk), status="skipped",
                      reason=test_mode.BLOCKED_REASON)


def _skip(orphan: EmailSend | None, reason: str) -> SendResult:
    if orphan is not None:
        # A crashed attempt left a queued row that now must not send: release it.
        EmailSend.objects.filter(pk=orphan.pk, status=Status.QUEUED).update(
            status=Status.FAILED, reason=reason, idempotency_key=None)
    return SendResult(email_send_id="", status="skipped", reason=reason)


def _counted_sends(request: SendRequest, orphan: EmailSend | None, since: datetime) -> Any:
    sends = EmailSend.objects.filter(to_email=request.to, created_at__gte=since).exclude(
        status__in=[Status.FAILED, Status.SUPPRESSED])
    return sends.exclude(pk=orphan.pk) if orphan is not None else sends


def frequency_cap() -> dict[str, Any] | None:
    return getattr(settings, "EMAIL_FREQUENCY_CAP", None) or None


def frequency_cap_scope(category: str) -> tuple[bool, bool]:
    """(whether the frequency cap counts a send of `category`, whether it counts by
    category): off unless `settings.EMAIL_FREQUENCY_CAP = {"count", "window", ...}`."""
    cap = frequency_cap()
    if not cap or category in cap.get("exempt_categories", [categories.TRANSACTIONAL]):
        return False, False
    return True, bool(cap.get("by_category"))


def _frequency_capped(request: SendRequest, orphan: EmailSend | None) -> bool:
    counted, by_category = frequency_cap_scope(request.category)
    if not counted:
        return False
    cap = frequency_cap()
    window = cap["window"]
    window = window if isinstance(window, timedelta) else timedelta(seconds=int(window))
    sends = _counted_sends(request, orphan, request.now - window)
    if by_category:
        sends = sends.filter(category=request.category)
    return sends.count() >= int(cap["count"])


def _blocked(request: SendRequest, orphan: EmailSend | None) -> str | None:
    check = SendCheck(to=request.to, category=request.category, key=request.idempotency_key,
                      now=request.now, origin=request.origin,
                      orphan_id=orphan.pk if orphan is not None else None)
    return next((reason for blocker in request.blockers if (reason := blocker(check))), None)
