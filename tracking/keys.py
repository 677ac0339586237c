"""Idempotency keys the engine writes itself, which API callers may not use.

Event and send keys are permanent and first-writer-wins, so a caller who could
store `sem:<send>:<event>` first would decide a person's answer (the real click
is then a duplicate), and one who stored a `journeySend:` or operator-alert key
would silently stop that email. Every prefix the engine, the journeys and the
alerts build keys from is listed here, once; the public and admin APIs refuse
a caller key that starts with one of them. The match is exact (case and all),
as the unique indexes that make keys collide are.
"""

from __future__ import annotations

from tracking.models import (
    ANSWER_KEY_PREFIX,
    CHANGED_ANSWER_KEY_PREFIX,
    COMMENT_KEY_PREFIX,
    LATER_NOTE_KEY_PREFIX,
)

RESERVED_KEY_PREFIXES: tuple[str, ...] = (
    ANSWER_KEY_PREFIX,  # a confirmed answer (tracking.semantic)
    COMMENT_KEY_PREFIX,  # its comment (tracking.services.answer_comment_record)
    LATER_NOTE_KEY_PREFIX,  # the notes after it (the same service)
    CHANGED_ANSWER_KEY_PREFIX,  # a later, different answer (tracking.semantic)
    "journeySend:",  # a journey's send without an explicit key (journeys.engine.sends)
    "journeyTrigger:",  # ctx.trigger's event (journeys.engine.context)
    "journey:",  # a held-out enrolment's event (journeys.services)
    "digest:",  # the weekly digest email (alerts.cron)
    "support-alert:", "nps-detractor:", "lead-alert:", "review-followup:",  # alerts.operator
    "csm-alert:",  # alerts.concierge
    "approval-request:", "approval-decision:",  # alerts.approvals
    "resend:",  # a staff resend (tracking.services.email_resend)
    "send-test:",  # a template test send (tracking.admin_api)
    "src:",  # an inbound webhook source's event (sources.services)
    # Keys the campaign and bucket engines will derive: reserved before they ship,
    # so no caller key stored today can collide with them later.
    "campaign:", "bucket:",
)


def reserved_key_problem(key: str | None) -> str | None:
    """Why a caller may not use `key` (a sentence), or None when it may."""
    if not key:
        return None
    for prefix in RESERVED_KEY_PREFIXES:
        if key.startswith(prefix):
            return f"the prefix {prefix!r} is reserved for keys the engine writes itself"
    return None


__all__ = ["RESERVED_KEY_PREFIXES", "reserved_key_problem"]
