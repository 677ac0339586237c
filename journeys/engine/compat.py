"""The previous author forms, kept for one release as shims that warn.

Each old form (`send_email(to=user.email, user_id=user.id, ...)` inside a run,
`ctx.trigger(..., user_id=user.id)`, `trigger={"event": ...}` without a
`where`) still behaves exactly as before and emits one `DeprecationWarning` per
call site saying what to write instead (journeys.engine.deprecation).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from journeys.engine import sends
from journeys.engine.deprecation import _warned, warn_once
from journeys.engine.execution import Execution

__all__ = ["_warned", "current", "send_email", "warn_once"]

# The run the current thread is executing, set by the runner around a journey
# function. Only for this release's `send_email(to=...)` shim, which has no ctx to
# find its run by, and for log lines (hogsend_site.logging): the engine itself
# passes the run explicitly and never reads this.
current: ContextVar[Execution | None] = ContextVar("hogsend_run_context", default=None)


def send_email(
    *,
    to: str,
    template: str,
    user_id: str | None = None,
    subject: str | None = None,
    props: dict[str, Any] | None = None,
    journey_state_id: str | None = None,
    journey_name: str | None = None,
    idempotency_key: str | None = None,
    idempotency_label: str | None = None,
) -> Any:
    """Deprecated inside a journey: write `ctx.send(template, subject=..., props=...)`.

    Outside a run this is the plain tracked send it always was (no warning).
    `journey_state_id` is accepted and ignored, as before.
    """
    from tracking.mailer import email_send
    from tracking.send_types import Origin

    execution = current.get()
    if execution is None:
        return email_send(to=to, template=template, user_id=user_id, subject=subject,
                          props=props, idempotency_key=idempotency_key,
                          origin=Origin(journey_name=journey_name or ""))
    warn_once(
        f"send_email(to=..., user_id=..., ...) inside a journey is deprecated: write "
        f"ctx.send({template!r}, subject=..., props=...); the recipient, contact, run "
        f"and journey name come from the run",
        depth=1,
    )
    return sends.journey_send(
        execution, to=to, template=template, user_id=user_id, subject=subject, props=props,
        journey_name=journey_name, idempotency_key=idempotency_key,
        idempotency_label=idempotency_label,
    )
