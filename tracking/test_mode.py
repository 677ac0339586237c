"""Test mode: run journeys against real customers' data without emailing them.

With `HOGSEND_TEST_MODE` on, every email still goes through the whole path
(preferences are checked against the real recipient, links are tracked, answers
work), but the provider is handed the test inbox (`HOGSEND_TEST_EMAIL`) instead
of the customer, with the original recipient in the subject. Without a test
inbox nothing is sent at all: the send is recorded as blocked. The mode is loud
on purpose (a banner in the admin, the flag in /healthz, a system-check warning,
one log line per redirected send), because a deployment left in it silently
stops emailing its customers.
"""

from __future__ import annotations

import logging

from django.conf import settings

logger = logging.getLogger("hogsend.test_mode")

BLOCKED_REASON = "test_mode_blocked"


def is_active() -> bool:
    return bool(getattr(settings, "HOGSEND_TEST_MODE", False))


def inbox() -> str:
    return (getattr(settings, "HOGSEND_TEST_EMAIL", "") or "").strip()


def blocks_sending() -> bool:
    """On, with nowhere to redirect to: nothing may reach a provider."""
    return is_active() and not inbox()


def redirect(*, send_id: str, to: str, subject: str) -> tuple[str, str]:
    """The recipient and subject that actually go out for a send addressed to `to`."""
    if not is_active():
        return to, subject
    target = inbox()
    logger.warning("email.test_mode_redirect send=%s original_to=%s redirected_to=%s",
                   send_id, to, target)
    return target, f"[TEST → {to}] {subject}"


def status() -> dict[str, object]:
    """What /healthz and the admin banner say about it."""
    if not is_active():
        return {"enabled": False}
    return {"enabled": True, "redirectTo": inbox() or None, "blocking": blocks_sending()}


def context_processor(request: object) -> dict[str, object]:
    """`hogsend_test_mode` for the admin's banner (templates/admin/base_site.html)."""
    return {"hogsend_test_mode": status()}
