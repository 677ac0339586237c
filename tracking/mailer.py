"""The tracked mailer: the one path every email takes (journeys, tasks, API).

This module prepares and dispatches; each step's details live beside it:
tracking/send_types.py (what is handed on), send_checks.py (may it go out),
send_props.py (unsubscribe headers and injected props), send_rows.py (the row
through its life), skeleton.py/links.py (render and tracked links), redrive.py
(a key that already has a row) and provider.py (the provider's message).

`email_send()` runs these steps in this order: cheap refusals come first, and
the row is committed before the provider is called, so a retry with the same
key always finds what an earlier attempt did:

1. idempotency short-circuit: a prior row in any post-dispatch status is a
   duplicate (no provider call); a prior `queued` row (a crash before the
   provider answered) is re-driven;
2. contact from `user_id` (or the one passed), template, effective category;
3. unless `skip_preference_check`: suppression / unsubscribe / category
   (a `suppressed` row without key), frequency cap, then the caller's
   `blockers` (a journey's `suppress` gap: journeys.engine.send_policy), which
   may veto the send (a skip writes no row) or raise to decide it later;
4. unsubscribe URL + `List-Unsubscribe` headers, injected props (the body's
   unsubscribe and preference links are always the engine's: `hrefs.caller_props`);
5. the `queued` row is inserted (insert-or-nothing on the key) and committed;
6. render, lift semantic links into `TrackedLink`s, rewrite, open pixel — a
   broken semantic link fails the send here, before the provider (a batch
   renders each template once and fills each recipient in: tracking/skeleton.py);
7. provider call through Django's email backend as an `AnymailMessage`;
   success => `sent`; error => `failed` with the key released, re-raised.
   When the backend declares `idempotency_key_header` (its provider
   deduplicates on that header, as Resend and Brevo do), the send's key goes
   out in it, and only then: otherwise the header would reach the recipient.

A short dispatch lease (`next_attempt_at`) keeps two concurrent callers with
one key (a client retrying a slow request) from both calling the provider;
a crashed attempt's lease expires and the next retry re-drives the row,
sending the HTML stored on it so its links stay valid.

The one window a database cannot close is a worker killed after the provider
accepted a message and before the row says `sent`: the re-drive calls the
provider again, since re-driving an unconfirmed `queued` row is the only way not
to lose the email. With a provider that consumes the key, that
second call is deduplicated by the provider and the row simply becomes `sent`;
without one, the customer may receive that one email twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.mail import get_connection
from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.identity import contact_find
from contacts.models import Contact, normalize_email
from tracking import hrefs, skeleton, templates_registry, test_mode
from tracking.exceptions import RecipientRequired
from tracking.models import EmailSend, TrackedLink
from tracking.provider import provider_idempotency_header, provider_message, session_call
from tracking.redrive import redrive_blocked
from tracking.rows import LinkRow, SendRow, rows_insert
from tracking.send_checks import blocked_by_test_mode, check_preferences, frequency_cap
from tracking.send_props import add_unsubscribe, inject_props
from tracking.send_rows import (
    DISPATCH_LEASE,
    Status,
    drop,
    insert_queued,
    mark_failed,
    mark_sent,
    mark_sent_many,
    prior,
    row_fields,
)
from tracking.send_types import (
    Blocker,
    Origin,
    PreparedSend,
    Row,
    Sender,
    SendRequest,
    SendResult,
    StillWanted,
)


def email_send(
    *, to: str, template: str, subject: str | None = None, props: dict | None = None,
    user_id: str | None = None, contact: Contact | None = None, category: str | None = None,
    skip_preference_check: bool = False, idempotency_key: str | None = None,
    sender: Sender | None = None, origin: Origin | None = None,
) -> SendResult:
    """Send one tracked email (see the module docstring for the order of steps).

    Idempotent by `idempotency_key`. Raises `UnknownTemplate`,
    `SemanticLinkError`, `TemplateRenderError` (nothing sent) and re-raises
    provider errors (row `failed`, key released so a retry sends again).
    `origin`: the journey run or campaign the send belongs to.
    """
    idempotency_key = idempotency_key or None
    orphan = _earlier_attempt(idempotency_key)
    if isinstance(orphan, SendResult):
        return orphan
    request = _request(to=to, template=template, subject=subject, props=props, user_id=user_id,
                       contact=contact, category=category, idempotency_key=idempotency_key,
                       sender=sender, origin=origin)
    request.skip_preference_check = skip_preference_check
    return email_dispatch(_send(request, orphan))


def email_prepare(
    *, to: str, template: str, subject: str | None = None, props: dict | None = None,
    user_id: str | None = None, contact: Contact | None = None, category: str | None = None,
    idempotency_key: str | None = None, sender: Sender | None = None,
    origin: Origin | None = None, blockers: Sequence[Blocker] = (),
) -> SendResult | PreparedSend:
    """Check and render a send whose key the caller's own journal says never sent
    (a journey run's or campaign's first attempt), writing nothing: a `PreparedSend`
    for `email_dispatch`/`emails_dispatch`, or the `SendResult` it came to already.

    The up-front key lookup is skipped: a row left by a crashed attempt still
    surfaces, through the key's unique index when the row is inserted, or
    through a lookup when the send turns out to be blocked. `blockers` are
    asked after the mailer's own checks (see `Blocker`).
    """
    idempotency_key = idempotency_key or None
    prior_unknown = bool(idempotency_key) and not frequency_cap()
    orphan = None if prior_unknown else _earlier_attempt(idempotency_key)
    if isinstance(orphan, SendResult):
        return orphan
    request = _request(to=to, template=template, subject=subject, props=props, user_id=user_id,
                       contact=contact, category=category, idempotency_key=idempotency_key,
                       sender=sender, origin=origin)
    request.prior_unknown, request.blockers = prior_unknown, blockers
    return _send(request, orphan)


def _earlier_attempt(idempotency_key: str | None) -> EmailSend | SendResult | None:
    """What an earlier attempt with this key left: nothing, its `queued` row (a crash
    before the provider answered: re-driven), or, in any later status, the duplicate's
    result (no provider call)."""
    orphan = prior(idempotency_key) if idempotency_key else None
    if orphan is not None and orphan.status != Status.QUEUED:
        return SendResult.duplicate(orphan)
    return orphan


def _request(
    *, to: str, template: str, subject: str | None, props: dict | None, user_id: str | None,
    contact: Contact | None, category: str | None, idempotency_key: str | None,
    sender: Sender | None, origin: Origin | None,
) -> SendRequest:
    if contact is None and user_id:
        contact = next(iter(contact_find(user_id=user_id)), None)
    to = normalize_email(to) or normalize_email(contact.email if contact else None)
    if not to:
        raise RecipientRequired("A recipient address is required")
    entry = templates_registry.get_template(template)
    sender = sender or Sender()
    return SendRequest(
        to=to, template=entry, subject=subject or entry.subject,
        category=category or entry.category, contact=contact,
        user_key=contact.key if contact else (user_id or ""), props=hrefs.caller_props(props),
        skip_preference_check=False, idempotency_key=idempotency_key, origin=origin or Origin(),
        from_email=sender.from_email or settings.DEFAULT_FROM_EMAIL, reply_to=sender.reply_to,
        now=timezone.now(),
    )


def _send(request: SendRequest, orphan: EmailSend | None) -> SendResult | PreparedSend:
    """The checks and the render: a blocked, duplicate or re-driven send's result,
    or the prepared send (nothing written yet)."""
    if not request.skip_preference_check:
        blocked = check_preferences(request, orphan)
        if blocked is not None:
            return blocked
        add_unsubscribe(request)
    if test_mode.blocks_sending():
        return blocked_by_test_mode(request, orphan)
    inject_props(request)
    if orphan is not None:
        return _redrive(orphan, request)
    row, links = _prepared_row(request)
    return PreparedSend(request=request, row=row, links=links)


def email_dispatch(prepared: PreparedSend | SendResult) -> SendResult:
    """Write and send one prepared send (a result is passed through)."""
    if isinstance(prepared, SendResult):
        return prepared
    return _write_and_dispatch(prepared.request, prepared.row, prepared.links)


def _write_and_dispatch(request: SendRequest, row: SendRow,
                        links: list[LinkRow]) -> SendResult:
    winner = insert_queued(request, row, links)
    if winner is row:
        return _dispatch(row, request)
    return _redrive(winner, request)  # a concurrent or crashed caller with this key was first


def _redrive(orphan: EmailSend, request: SendRequest) -> SendResult:
    return redrive_blocked(orphan, request) or _dispatch(orphan, request)


def emails_dispatch(
    prepared: list[PreparedSend], *, still_wanted: StillWanted | None = None,
) -> list[SendResult | Exception]:
    """Write and send prepared sends together, in their order; one result each.

    One transaction writes every row with its links, one provider connection
    sends them, one UPDATE marks the accepted ones `sent` (one per message for a
    provider that does not deduplicate on keys, see below). A provider error
    fails its own row (key released, as `email_send`) and is returned, not
    raised. When a key already has a row (a crashed earlier attempt, or a
    concurrent caller) the batch falls back to sending each on its own.

    A message `still_wanted` turns down is not sent: its row fails with reason
    `run_exited` and its key is released (the journey runner's runs exited meanwhile).
    """
    if not prepared:
        return []
    try:
        with transaction.atomic():
            rows_insert(EmailSend, [p.row for p in prepared])
            rows_insert(TrackedLink, [link for p in prepared for link in p.links])
    except IntegrityError:
        return [_settle(p) for p in prepared]
    # A worker dying between the provider accepting a message and its row saying
    # so re-sends it (the in-doubt window). A provider that deduplicates on the
    # key makes that harmless, so its rows are marked together at the end; any
    # other provider's are marked one by one, keeping the window one message wide.
    each = provider_idempotency_header() is None
    connection = get_connection()  # one provider session for the whole batch
    session_call(connection, "open")
    try:
        results, accepted = _send_each(prepared, connection, still_wanted, each=each)
    finally:
        session_call(connection, "close")
    if accepted:
        mark_sent_many(accepted, results)
    return results


def _send_each(
    prepared: list[PreparedSend], connection: object, still_wanted: StillWanted | None, *,
    each: bool,
) -> tuple[list[SendResult | Exception], list[tuple[Row, object]]]:
    results: list[SendResult | Exception] = []
    accepted: list[tuple[Row, object]] = []
    for index, p in enumerate(prepared):
        if still_wanted is not None and not still_wanted(p, prepared[index:]):
            drop(p.row, "run_exited")
            results.append(SendResult(email_send_id="", status="skipped", reason="run_exited"))
            continue
        message = provider_message(p.row, p.request)
        message.connection = connection
        try:
            message.send()
        except Exception as exc:
            mark_failed(p.row, exc)
            results.append(exc)
            continue
        message_id = getattr(getattr(message, "anymail_status", None), "message_id", None)
        result = SendResult(email_send_id=str(p.row.pk), status="sent")
        results.append(result)
        if each:
            mark_sent_many([(p.row, message_id)], [result])
        else:
            accepted.append((p.row, message_id))
    return results, accepted


def _settle(p: PreparedSend) -> SendResult | Exception:
    try:
        return _write_and_dispatch(p.request, p.row, p.links)
    except Exception as exc:
        return exc


def _prepared_row(request: SendRequest) -> tuple[SendRow, list[LinkRow]]:
    """The queued row, rendered and leased, with its tracked links (nothing saved).

    Rendering first means a fresh send costs one INSERT for the row instead of
    INSERT + lease UPDATE + body UPDATE. A render or link error fails the send
    before the provider; the failed attempt is kept (without its key) so it shows
    in the admin.
    """
    row = SendRow(**row_fields(request), status=Status.QUEUED.value,
                  idempotency_key=request.idempotency_key,
                  next_attempt_at=request.now + DISPATCH_LEASE, attempts=1)
    try:
        row.html, row.text, links = skeleton.render_send(
            request.template.key, request.props, send_id=row.pk,
            base_url=settings.PUBLIC_BASE_URL)
    except Exception as exc:
        row.idempotency_key, row.status, row.next_attempt_at = None, Status.FAILED.value, None
        row.error = f"{type(exc).__name__}: {exc}"
        rows_insert(EmailSend, [row])
        raise
    return row, links


def _dispatch(row: Row, request: SendRequest) -> SendResult:
    message = provider_message(row, request)
    try:
        message.send()
    except Exception as exc:
        mark_failed(row, exc)
        raise
    return mark_sent(row, getattr(getattr(message, "anymail_status", None), "message_id", None))
