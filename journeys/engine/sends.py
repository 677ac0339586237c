"""Journey sends: the tracked mailer under the run's derived key, exactly once per site.

The key is `journeySend:<run>:<site>:<template>` (site = the idempotency label,
else the last wait/checkpoint label, else the template), so a replay sends
nothing twice; the result is journaled under `__send__:<site>:<template>`.
Category is the journey's (default `journey`) and preferences are always
checked. A suppressed or skipped send returns normally; the run continues.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from hogsend_site.errors import HogsendError
from journeys.engine.errors import Deferred, RunExited, Suspend
from journeys.engine.execution import Execution
from journeys.engine.send_policy import SendUnsettled, journey_blocker
from tracking.mailer import email_dispatch, email_prepare
from tracking.send_rows import DISPATCH_LEASE
from tracking.send_types import Origin, PreparedSend, SendResult

# A provider outage parks the run and retries the send with backoff instead of
# failing it; after this many attempts the run fails with the provider's error.
SEND_MAX_ATTEMPTS = 8
SEND_RETRY_BASE = timedelta(seconds=30)
SEND_RETRY_CAP = timedelta(hours=1)


def send(
    x: Execution,
    template: str,
    *,
    subject: str | None,
    props: dict[str, Any] | None,
    idempotency_label: str | None,
) -> Any:
    """`ctx.send`: to this run's person. A person without an address is a recorded
    skip (status `skipped`, reason `no_address`): the run continues."""
    address = x.user().email
    if not address:
        return _skip(x, template, idempotency_label, reason="no_address")
    return journey_send(x, to=address, template=template, subject=subject, props=props,
                        idempotency_label=idempotency_label)


def journey_send(
    x: Execution,
    *,
    to: str,
    template: str,
    subject: str | None = None,
    props: dict[str, Any] | None = None,
    user_id: str | None = None,
    journey_name: str | None = None,
    idempotency_key: str | None = None,
    idempotency_label: str | None = None,
) -> Any:
    """Send a template from inside a run; returns the mailer's `SendResult`."""
    site = idempotency_label or x.label or template
    key = idempotency_key or f"journeySend:{x.run.pk}:{site}:{template}"
    x.journal.side_effect_key(key)
    memo_key = _memo_key(x, key)
    if (memo := x.journal.get(memo_key, "record")) is not None:
        return _result_from_json(memo.value["v"])  # a replay: no statement at all
    try:
        result = _sent_or_deferred(x, key, {
            "to": to, "template": template, "subject": subject, "props": props,
            "user_id": user_id or x.run.user_key,
            "journey_name": journey_name or x.journey.name})
    except SendUnsettled:
        # Its suppress gap or frequency cap hangs on a send the batch has not
        # written yet: decide once that one has gone out (or not), next pass.
        raise Deferred(key) from None
    except (HogsendError, RunExited):
        raise  # bad template, link or recipient: retrying cannot help, the run fails
    except Exception:
        _park_for_retry(x, key)
        raise
    return _settled(x, result, memo_key, site, template)


def _sent_or_deferred(x: Execution, key: str, message: dict[str, Any]) -> SendResult:
    """The batch's outcome for this key, else the mailer's; a send the batch may
    still take is handed to it and the run defers."""
    outcome = x.batch.send_result(key)
    if isinstance(outcome, Exception):
        raise outcome  # the provider's error, from the batch's dispatch
    if outcome is not None:
        return outcome
    defer = x.deferring is not None
    if not defer:
        x.ensure_live()  # (a batch reads the status of all its senders at once)
    journey, seen = x.journey, x.batch.seen
    origin = Origin(journey_run_id=x.run.pk, journey_id=journey.id,
                    journey_name=message.pop("journey_name"))
    prepared = email_prepare(
        **message, contact=x.run.contact, category=journey.category or "journey",
        idempotency_key=key, origin=origin,
        blockers=[journey_blocker(seen, journey.suppress, lambda k, c: _verdict(x, k, c))],
    )
    if not isinstance(prepared, PreparedSend):
        return prepared
    if defer:
        x.batch.add_send(x.run, prepared)  # written and sent with the batch's others
        raise Deferred(key)
    seen.note(prepared.row, written=True)
    try:
        return email_dispatch(prepared)
    except Exception:
        seen.forget(prepared.row)  # a failed send gaps nobody
        raise


def _settled(x: Execution, result: Any, memo_key: str, site: str, template: str) -> Any:
    if result.reason == "in_flight":
        # Another worker holds this send's dispatch lease (a crashed attempt):
        # come back when it expires rather than carry on without the email.
        raise Suspend(wake_at=timezone.now() + DISPATCH_LEASE, step=x.run.current_step)
    # Journaled with the run's next park, so later resumes replay the result
    # instead of calling the mailer again; a crash before that finds the row by key.
    x.journal.memo_at_park(memo_key, lambda: _result_to_json(result))
    x.log("send", f"send:{site}", template=template, status=result.status,
          reason=result.reason, email_send_id=result.email_send_id)
    return result


def _verdict(x: Execution, key: str, compute: Any) -> bool:
    """A blocking yes/no decision (the `suppress` check), replayed verbatim.

    Only a True verdict is journaled: after a False one the send writes a
    row under its own key, which a replay finds before asking again.
    """
    record = x.journal.get(key, "record")
    if record is not None:
        return bool(record.value["v"])
    verdict = bool(compute())
    if verdict:
        x.journal.write_now(key, "record", {"v": True})
    return verdict


def _skip(x: Execution, template: str, idempotency_label: str | None, *, reason: str) -> Any:
    """Journal a send that cannot go out under the key the send would have had,
    so a replay returns the same verdict even once an address appears."""
    site = idempotency_label or x.label or template
    key = x.journal.side_effect_key(f"journeySend:{x.run.pk}:{site}:{template}")
    memo_key = _memo_key(x, key)
    if x.journal.get(memo_key, "record") is None:
        x.log("send", f"send:{site}", template=template, status="skipped",
              reason=reason, email_send_id="")
    skipped = ["", "skipped", reason, None]
    return _result_from_json(x.journal.memo_at_park(memo_key, lambda: skipped))


def _memo_key(x: Execution, key: str) -> str:
    """The journal key of a send's result (the journal is per run: drop the run id)."""
    memo = "__send__:" + key.removeprefix(f"journeySend:{x.run.pk}:")
    return memo if len(memo) <= 255 else "__send__:" + hashlib.sha256(key.encode()).hexdigest()


# A send's journaled result is [id, status, reason, sentAt], sentAt in microseconds
# since the epoch: every parked run past a send stores one, so its field names and
# the ISO text of its time are left out (runs journaled before hold an ISO sentAt,
# or {"id": ..., "status": ..., "reason": ..., "sentAt": ...}; both still read).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def _result_to_json(result: Any) -> list[Any]:
    return [result.email_send_id, result.status, result.reason,
            (result.sent_at - EPOCH) // MICROSECOND if result.sent_at else None]


def _result_from_json(value: list[Any] | dict[str, Any]) -> SendResult:
    if isinstance(value, dict):
        value = [value["id"], value["status"], value.get("reason", ""), value.get("sentAt")]
    send_id, status, reason, sent_at = value
    if isinstance(sent_at, str) and sent_at:
        sent_at = datetime.fromisoformat(sent_at)
    elif isinstance(sent_at, int):
        sent_at = EPOCH + sent_at * MICROSECOND
    return SendResult(email_send_id=send_id, status=status, reason=reason,
                      sent_at=sent_at or None)


def _park_for_retry(x: Execution, key: str) -> None:
    """Count the failed attempt; suspend with backoff unless attempts are spent."""
    record_key = f"__sendretry__:{key}"
    record = x.journal.get(record_key, "retry")
    attempts = (record.value.get("attempts", 0) if record else 0) + 1
    x.journal.write_now(record_key, "retry", {"attempts": attempts}, done=False)
    if attempts >= SEND_MAX_ATTEMPTS:
        return
    delay = min(SEND_RETRY_BASE * 2 ** (attempts - 1), SEND_RETRY_CAP)
    x.log("send", f"send-retry:{key.rsplit(':', 2)[-2]}", attempts=attempts,
          retry_in=int(delay.total_seconds()))
    raise Suspend(wake_at=timezone.now() + delay, step=x.run.current_step)
