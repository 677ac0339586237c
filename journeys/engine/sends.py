"""Journey-side `send_email`: the tracked mailer with the run's derived key."""

from __future__ import annotations

from typing import Any

from journeys.engine.context import current


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
    """Send a template from inside a journey run (reference 2.7.1-2.7.2).

    Inside a run the key is `journeySend:<run>:<site>:<template>` (site = the
    idempotency label, else the last wait/checkpoint label, else the template),
    so a replay sends nothing twice. Category is the journey's (default
    `journey`) and preferences are always checked. A suppressed or skipped send
    returns normally; the run continues.
    """
    from tracking.mailer import email_send

    ctx = current.get()
    if ctx is None:
        return email_send(to=to, template=template, user_id=user_id, subject=subject, props=props,
                          idempotency_key=idempotency_key, journey_name=journey_name or "")
    site = idempotency_label or ctx.current_label or template
    key = idempotency_key or f"journeySend:{ctx.run.pk}:{site}:{template}"
    ctx.side_effect_key(key)
    ctx.ensure_live()
    journey = ctx.journey
    result = email_send(
        to=to, template=template, subject=subject, props=props,
        user_id=user_id or ctx.run.user_key, contact=ctx.run.contact,
        category=journey.category or "journey", idempotency_key=key,
        journey_run_id=ctx.run.pk, journey_id=journey.id,
        journey_name=journey_name or journey.name, suppress=journey.suppress,
        record_once=ctx.record_once,
    )
    ctx.log("send", f"send:{site}", template=template, status=result.status, reason=result.reason,
            email_send_id=result.email_send_id)
    return result
