"""The previous author forms, kept for one release as shims that warn.

Each old form (`send_email(to=user.email, user_id=user.id, ...)` inside a run,
`ctx.trigger(..., user_id=user.id)`, `trigger={"event": ...}` without a
`where`) still behaves exactly as before and emits one `DeprecationWarning` per
call site saying what to write instead. Once per site, not per call: a journey
function re-runs from the top on every resume, so a per-call warning would
repeat for every parked run.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from journeys.engine import sends
from journeys.engine.context import current

_warned: set[tuple[str, int, str]] = set()


def warn_once(message: str, *, depth: int = 1, site: tuple[str, int] | None = None) -> None:
    """Warn about a call site once: `site` (file, line), else the frame `depth`
    levels above the caller of this function."""
    if site is None:
        frame = sys._getframe(depth + 1)
        site = (frame.f_code.co_filename, frame.f_lineno)
    if (*site, message) in _warned:
        return
    _warned.add((*site, message))
    warnings.warn_explicit(message, DeprecationWarning, filename=site[0], lineno=site[1])


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
    if current.get() is not None:
        warn_once(
            f"send_email(to=..., user_id=..., ...) inside a journey is deprecated: write "
            f"ctx.send({template!r}, subject=..., props=...); the recipient, contact, run "
            f"and journey name come from the run",
            depth=1,
        )
    return sends.send_email(
        to=to,
        template=template,
        user_id=user_id,
        subject=subject,
        props=props,
        journey_name=journey_name,
        idempotency_key=idempotency_key,
        idempotency_label=idempotency_label,
    )
