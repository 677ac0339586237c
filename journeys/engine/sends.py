"""Journey-side `send_email`: the tracked mailer with the run's derived key."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from hogsend_site.errors import HogsendError
from journeys.engine.batch import Deferred, current_batch, deferring
from journeys.engine.context import RunContext, Suspend, current

# A provider outage parks the run and retries the send with backoff instead of
# failing it; after this many attempts the run fails with the provider's error.
SEND_MAX_ATTEMPTS = 8
SEND_RETRY_BASE = timedelta(seconds=30)
SEND_RETRY_CAP = timedelta(hours=1)


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
    """Send a template from inside a journey run.

    Inside a run the key is `journeySend:<run>:<site>:<template>` (site = the
    idempotency label, else the last wait/checkpoint label, else the template),
    so a replay sends nothing twice. Category is the journey's (default
    `journey`) and preferences are always checked. A suppressed or skipped send
    returns normally; the run continues.
    """
    from tracking.mailer import PreparedSend, SendUnsettled, email_send

    ctx = current.get()
    if ctx is None:
        return email_send(
            to=to,
            template=template,
            user_id=user_id,
            subject=subject,
            props=props,
            idempotency_key=idempotency_key,
            journey_name=journey_name or "",
        )
    site = idempotency_label or ctx.current_label or template
    key = idempotency_key or f"journeySend:{ctx.run.pk}:{site}:{template}"
    ctx.side_effect_key(key)
    memo_key = _memo_key(ctx, key)
    if (memo := ctx.recorded(memo_key, "record")) is not None:
        return _result_from_json(memo.value["v"])  # a replay: no statement at all
    batch = current_batch.get()
    outcome = batch.send_result(key) if batch is not None else None
    defer = outcome is None and deferring() is not None
    if outcome is None and not defer:
        ctx.ensure_live()  # (a batch reads the status of all its senders at once)
    journey = ctx.journey
    try:
        if outcome is not None:
            if isinstance(outcome, Exception):
                raise outcome  # the provider's error, from the batch's dispatch
            result = outcome
        else:
            result = email_send(
                to=to,
            template=template,
                subject=subject,
                props=props,
                user_id=user_id or ctx.run.user_key,
                contact=ctx.run.contact,
                category=journey.category or "journey",
                idempotency_key=key,
                journey_run_id=ctx.run.pk,
                journey_id=journey.id,
                journey_name=journey_name or journey.name,
                suppress=journey.suppress,
                record_once=ctx.record_verdict,
                key_is_new=True,
                defer=defer,
            )
            if isinstance(result, PreparedSend):
                batch.add_send(ctx.run, result)  # written and sent with the batch's others
                raise Deferred(key)
    except SendUnsettled:
        # Its suppress gap or frequency cap hangs on a send the batch has not
        # written yet: decide once that one has gone out (or not), next pass.
        raise Deferred(key) from None
    except HogsendError:
        raise  # bad template, link or recipient: retrying cannot help, the run fails
    except Exception:
        _park_for_retry(ctx, key)
        raise
    if result.reason == "in_flight":
        # Another worker holds this send's dispatch lease (a crashed attempt):
        # come back when it expires rather than carry on without the email.
        from tracking.mailer import DISPATCH_LEASE

        raise Suspend(wake_at=timezone.now() + DISPATCH_LEASE, step=ctx.run.current_step)
    # Journaled with the run's next park, so later resumes replay the result
    # instead of calling the mailer again; a crash before that finds the row by key.
    ctx.remember(memo_key, lambda: _result_to_json(result))
    ctx.log(
        "send",
        f"send:{site}",
        template=template,
        status=result.status,
        reason=result.reason,
        email_send_id=result.email_send_id,
    )
    return result


def _memo_key(ctx: RunContext, key: str) -> str:
    """The journal key of a send's result (the journal is per run: drop the run id)."""
    memo = "__send__:" + key.removeprefix(f"journeySend:{ctx.run.pk}:")
    return memo if len(memo) <= 255 else "__send__:" + hashlib.sha256(key.encode()).hexdigest()


def _result_to_json(result: Any) -> dict[str, Any]:
    return {"id": result.email_send_id, "status": result.status, "reason": result.reason,
            "sentAt": result.sent_at.isoformat() if result.sent_at else None}


def _result_from_json(value: dict[str, Any]) -> Any:
    from tracking.mailer import SendResult

    sent_at = datetime.fromisoformat(value["sentAt"]) if value.get("sentAt") else None
    return SendResult(email_send_id=value["id"], status=value["status"],
                      reason=value.get("reason", ""), sent_at=sent_at)


def _park_for_retry(ctx: RunContext, key: str) -> None:
    """Count the failed attempt; suspend with backoff unless attempts are spent."""
    record_key = f"__sendretry__:{key}"
    record = ctx.recorded(record_key, "retry")
    attempts = (record.value.get("attempts", 0) if record else 0) + 1
    ctx.record(record_key, "retry", {"attempts": attempts}, done=False, existing=record)
    if attempts >= SEND_MAX_ATTEMPTS:
        return
    delay = min(SEND_RETRY_BASE * 2 ** (attempts - 1), SEND_RETRY_CAP)
    ctx.log(
        "send",
        f"send-retry:{key.rsplit(':', 2)[-2]}",
        attempts=attempts,
        retry_in=int(delay.total_seconds()),
    )
    raise Suspend(wake_at=timezone.now() + delay, step=ctx.run.current_step)
