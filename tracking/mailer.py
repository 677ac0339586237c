"""The tracked mailer: the one path every email takes (journeys, tasks, API).

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

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from anymail.message import AnymailMessage
from django.conf import settings
from django.core.mail import get_connection
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from contacts.identity import contact_find
from contacts.models import Contact, normalize_email
from contacts.tokens import token_make
from hogsend_site import outbound
from hogsend_site.bulk import bulk_set
from tracking import categories, hrefs, preferences, skeleton, templates_registry, test_mode
from tracking.exceptions import RecipientRequired
from tracking.links import inject_open_pixel, rewrite_links
from tracking.models import EmailSend, TrackedLink
from tracking.rows import rows_insert

logger = logging.getLogger(__name__)

Status = EmailSend.Status
DISPATCH_LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Sender:
    """Who a message is from (default `DEFAULT_FROM_EMAIL`) and where replies go."""

    from_email: str | None = None
    reply_to: str | None = None


@dataclass(frozen=True)
class Origin:
    """What a send belongs to, kept on its row and in the provider's metadata."""

    journey_run_id: uuid.UUID | None = None
    journey_id: str = ""
    journey_name: str = ""  # also the `journeyName` templates are given
    campaign_id: str = ""


@dataclass(frozen=True)
class SendCheck:
    """What a blocker is shown of a send that passed the mailer's own checks."""

    to: str
    category: str
    key: str | None
    now: datetime
    origin: Origin
    orphan_id: Any  # a crashed earlier attempt's row with this key, not to count


# A blocker returns the reason to skip the send ("journey_suppressed"), or None to
# let it go; it may raise instead, to have the caller decide later (nothing is written).
Blocker = Callable[[SendCheck], str | None]


@dataclass
class SendResult:
    email_send_id: str  # "" when no row was written
    status: str  # "sent" | "suppressed" | "unsubscribed" | "skipped" | "failed"
    reason: str = ""
    sent_at: datetime | None = None


@dataclass
class _Request:
    """One send, normalised: what every step reads."""

    to: str
    template: templates_registry.EmailTemplate
    subject: str
    category: str
    contact: Contact | None
    user_key: str
    props: dict[str, Any]
    skip_preference_check: bool
    idempotency_key: str | None
    origin: Origin
    from_email: str
    reply_to: str | None
    now: datetime
    # The key's prior row was not looked up (see `email_prepare`).
    prior_unknown: bool = False
    blockers: Sequence[Blocker] = ()
    headers: dict[str, str] = field(default_factory=dict)


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
    orphan = None
    if idempotency_key:
        prior = _prior(idempotency_key)
        if prior is not None and prior.status != Status.QUEUED:
            return _duplicate(prior)
        orphan = prior
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
    orphan = None
    prior_unknown = bool(idempotency_key) and not _frequency_cap()
    if idempotency_key and not prior_unknown:
        prior = _prior(idempotency_key)
        if prior is not None and prior.status != Status.QUEUED:
            return _duplicate(prior)
        orphan = prior
    request = _request(to=to, template=template, subject=subject, props=props, user_id=user_id,
                       contact=contact, category=category, idempotency_key=idempotency_key,
                       sender=sender, origin=origin)
    request.prior_unknown, request.blockers = prior_unknown, blockers
    return _send(request, orphan)


def _request(
    *, to: str, template: str, subject: str | None, props: dict | None, user_id: str | None,
    contact: Contact | None, category: str | None, idempotency_key: str | None,
    sender: Sender | None, origin: Origin | None,
) -> _Request:
    if contact is None and user_id:
        contact = next(iter(contact_find(user_id=user_id)), None)
    to = normalize_email(to) or normalize_email(contact.email if contact else None)
    if not to:
        raise RecipientRequired("A recipient address is required")
    entry = templates_registry.get_template(template)
    sender = sender or Sender()
    return _Request(
        to=to, template=entry, subject=subject or entry.subject,
        category=category or entry.category, contact=contact,
        user_key=contact.key if contact else (user_id or ""), props=hrefs.caller_props(props),
        skip_preference_check=False, idempotency_key=idempotency_key, origin=origin or Origin(),
        from_email=sender.from_email or settings.DEFAULT_FROM_EMAIL, reply_to=sender.reply_to,
        now=timezone.now(),
    )


def _prior(idempotency_key: str) -> EmailSend | None:
    return EmailSend.objects.filter(idempotency_key=idempotency_key).first()


def _send(request: _Request, orphan: EmailSend | None) -> SendResult | PreparedSend:
    """The checks and the render: a blocked, duplicate or re-driven send's result,
    or the prepared send (nothing written yet)."""
    if not request.skip_preference_check:
        blocked = _check_preferences(request, orphan)
        if blocked is not None:
            return blocked
        _add_unsubscribe(request)
    if test_mode.blocks_sending():
        return _test_mode_blocked(request, orphan)
    _inject_props(request)
    if orphan is not None:
        return _redrive(orphan, request)
    row, links = _prepared_row(request)
    return PreparedSend(request=request, row=row, links=links)


def email_dispatch(prepared: PreparedSend | SendResult) -> SendResult:
    """Write and send one prepared send (a result is passed through)."""
    if isinstance(prepared, SendResult):
        return prepared
    return _write_and_dispatch(prepared.request, prepared.row, prepared.links)


def _write_and_dispatch(request: _Request, row: EmailSend, links: list[TrackedLink]) -> SendResult:
    winner = _insert_queued(request, row, links)
    if winner is row:
        return _dispatch(row, request)
    return _redrive(winner, request)  # a concurrent or crashed caller with this key was first


def _redrive(orphan: EmailSend, request: _Request) -> SendResult:
    if orphan.status != Status.QUEUED:
        return _duplicate(orphan)
    if not _take_dispatch_lease(orphan, request.now):
        return SendResult(email_send_id=str(orphan.pk), status="skipped", reason="in_flight")
    if not orphan.html or not TrackedLink.objects.filter(email_send=orphan).exists():
        # No body yet, or a body whose links were never stored (a row written
        # before row and links were one transaction): render it again.
        _render_into(orphan, request)
    return _dispatch(orphan, request)


@dataclass
class PreparedSend:
    """A send that passed its checks, rendered with its links; nothing written yet."""

    request: _Request
    row: EmailSend
    links: list[TrackedLink]

    @property
    def key(self) -> str | None:
        return self.request.idempotency_key


# Asked before each message of a batch: is it still wanted? (`upcoming`: it and the
# messages after it, for a caller that answers for several at once.)
StillWanted = Callable[[PreparedSend, list[PreparedSend]], bool]


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
    _call(connection, "open")
    try:
        results, accepted = _send_each(prepared, connection, still_wanted, each=each)
    finally:
        _call(connection, "close")
    if accepted:
        _mark_sent(accepted, results)
    return results


def _send_each(
    prepared: list[PreparedSend], connection: Any, still_wanted: StillWanted | None, *,
    each: bool,
) -> tuple[list[SendResult | Exception], list[tuple[EmailSend, Any]]]:
    results: list[SendResult | Exception] = []
    accepted: list[tuple[EmailSend, Any]] = []
    for index, p in enumerate(prepared):
        if still_wanted is not None and not still_wanted(p, prepared[index:]):
            _drop(p.row, "run_exited")
            results.append(SendResult(email_send_id="", status="skipped", reason="run_exited"))
            continue
        message = _message(p.row, p.request)
        message.connection = connection
        try:
            message.send()
        except Exception as exc:
            _mark_failed(p.row, exc)
            results.append(exc)
            continue
        message_id = getattr(getattr(message, "anymail_status", None), "message_id", None)
        result = SendResult(email_send_id=str(p.row.pk), status="sent")
        results.append(result)
        if each:
            _mark_sent([(p.row, message_id)], [result])
        else:
            accepted.append((p.row, message_id))
    return results, accepted


def _call(connection: Any, method: str) -> None:
    """open()/close() where the backend has them (every BaseEmailBackend does)."""
    if callable(getattr(connection, method, None)):
        try:
            getattr(connection, method)()
        except Exception:  # a session that cannot open fails each send on its own
            logger.warning("email backend %s() failed", method, exc_info=True)


def _drop(row: EmailSend, reason: str) -> None:
    """A written send that must not go out after all (its run exited meanwhile)."""
    EmailSend.objects.filter(pk=row.pk, status=Status.QUEUED).update(
        status=Status.FAILED, reason=reason, idempotency_key=None, next_attempt_at=None,
        updated_at=timezone.now())


def _settle(p: PreparedSend) -> SendResult | Exception:
    try:
        return _write_and_dispatch(p.request, p.row, p.links)
    except Exception as exc:
        return exc


def _mark_sent(accepted: list[tuple[EmailSend, Any]], results: list) -> None:
    sent_at = timezone.now()
    for row, message_id in accepted:
        row.message_id = "" if message_id is None else str(message_id)[:255]
    rows = [row for row, _ in accepted]
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


def _duplicate(row: EmailSend) -> SendResult:
    """Any post-dispatch prior row (sent, delivered, opened, ...) is a duplicate of a sent
    message, whatever status the provider's webhooks have moved it to since."""
    return SendResult(email_send_id=str(row.pk), status="sent", reason="duplicate",
                      sent_at=row.sent_at)


# --- preference, cap and suppress checks ------------------------------------------


def _check_preferences(request: _Request, orphan: EmailSend | None) -> SendResult | None:
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
        orphan = _prior(request.idempotency_key)
        if orphan is not None and orphan.status != Status.QUEUED:
            return _duplicate(orphan)
    if skip is not None:
        return _skip(orphan, skip)
    row = _write_suppressed(request, orphan, reason)
    status = "suppressed" if reason == "suppressed" else "unsubscribed"
    return SendResult(email_send_id=str(row.pk), status=status, reason=reason)


def _write_suppressed(request: _Request, orphan: EmailSend | None, reason: str) -> EmailSend:
    """A `suppressed` row never holds the key, so a retry after re-subscribing sends."""
    if orphan is not None:
        EmailSend.objects.filter(pk=orphan.pk).update(
            status=Status.SUPPRESSED, reason=reason, idempotency_key=None, updated_at=request.now)
        return orphan
    return EmailSend.objects.create(**_row_fields(request), status=Status.SUPPRESSED,
                                    reason=reason, idempotency_key=None)


def _test_mode_blocked(request: _Request, orphan: EmailSend | None) -> SendResult:
    """Test mode without a test inbox: record the send as blocked, keyless, so the
    same send goes out for real once test mode is off."""
    if request.prior_unknown:
        orphan = _prior(request.idempotency_key)
        if orphan is not None and orphan.status != Status.QUEUED:
            return _duplicate(orphan)
    row = _write_suppressed(request, orphan, test_mode.BLOCKED_REASON)
    logger.warning("email.test_mode_blocked send=%s to=%s", row.pk, request.to)
    return SendResult(email_send_id=str(row.pk), status="skipped",
                      reason=test_mode.BLOCKED_REASON)


def _skip(orphan: EmailSend | None, reason: str) -> SendResult:
    if orphan is not None:
        # A crashed attempt left a queued row that now must not send: release it.
        EmailSend.objects.filter(pk=orphan.pk, status=Status.QUEUED).update(
            status=Status.FAILED, reason=reason, idempotency_key=None)
    return SendResult(email_send_id="", status="skipped", reason=reason)


def _counted_sends(request: _Request, orphan: EmailSend | None, since: datetime) -> Any:
    sends = EmailSend.objects.filter(to_email=request.to, created_at__gte=since).exclude(
        status__in=[Status.FAILED, Status.SUPPRESSED])
    return sends.exclude(pk=orphan.pk) if orphan is not None else sends


def _frequency_cap() -> dict[str, Any] | None:
    return getattr(settings, "EMAIL_FREQUENCY_CAP", None) or None


def frequency_cap_scope(category: str) -> tuple[bool, bool]:
    """(whether the frequency cap counts a send of `category`, whether it counts by
    category): off unless `settings.EMAIL_FREQUENCY_CAP = {"count", "window", ...}`."""
    cap = _frequency_cap()
    if not cap or category in cap.get("exempt_categories", [categories.TRANSACTIONAL]):
        return False, False
    return True, bool(cap.get("by_category"))


def _frequency_capped(request: _Request, orphan: EmailSend | None) -> bool:
    counted, by_category = frequency_cap_scope(request.category)
    if not counted:
        return False
    cap = _frequency_cap()
    window = cap["window"]
    window = window if isinstance(window, timedelta) else timedelta(seconds=int(window))
    sends = _counted_sends(request, orphan, request.now - window)
    if by_category:
        sends = sends.filter(category=request.category)
    return sends.count() >= int(cap["count"])


def _blocked(request: _Request, orphan: EmailSend | None) -> str | None:
    check = SendCheck(to=request.to, category=request.category, key=request.idempotency_key,
                      now=request.now, origin=request.origin,
                      orphan_id=orphan.pk if orphan is not None else None)
    return next((reason for blocker in request.blockers if (reason := blocker(check))), None)


# --- headers and props ------------------------------------------------------------


def _add_unsubscribe(request: _Request) -> None:
    """Journey sends carry a global unsubscribe token (one click stops everything, as the
    reference engine's do); other sends one scoped to their category."""
    key = request.user_key or request.to
    scoped = None if request.origin.journey_id else request.category
    base = settings.PUBLIC_BASE_URL
    unsubscribe = token_make(key=key, email=request.to, action="unsubscribe", category=scoped)
    manage = token_make(key=key, email=request.to, action="manage")
    url = f"{base}/v1/email/unsubscribe?token={unsubscribe}"
    request.headers = {"List-Unsubscribe": f"<{url}>",
                       "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    request.props["unsubscribeUrl"] = url
    request.props["preferencesUrl"] = f"{base}/v1/email/preferences?token={manage}"


# Where a greeting's name comes from: the send's props first, then the contact's
# stored properties (so journey and API sends greet "Hi Ada" without passing it).
NAME_PROPS = ("firstName", "first_name", "name")
NAME_MAX_CHARS = 100


def _first_of(properties: dict[str, Any] | None, keys: tuple[str, ...]) -> str:
    for key in keys:
        value = (properties or {}).get(key) if isinstance(properties, dict) else None
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())[:NAME_MAX_CHARS]
    return ""


def _inject_props(request: _Request) -> None:
    """Props every template can rely on (name, journeyName, eventName, body, subject);
    they overwrite author props of the same name."""
    props = request.props
    local_part = request.to.split("@", 1)[0]
    props.update(
        name=_first_of(props, NAME_PROPS) or _first_of(
            request.contact.properties if request.contact else None, NAME_PROPS)
        or local_part or "there",
        journeyName=request.origin.journey_name or request.template.key,
        eventName=request.template.key,
        body=request.subject,
        subject=request.subject,
    )


# --- the row, rendering and dispatch ------------------------------------------------


def _row_fields(request: _Request) -> dict[str, Any]:
    return {
        "journey_run_id": request.origin.journey_run_id, "journey_id": request.origin.journey_id,
        "contact": request.contact, "user_key": request.user_key,
        "template_key": request.template.key, "category": request.category,
        "from_email": request.from_email, "to_email": request.to, "subject": request.subject,
        "metadata": _row_metadata(request),
        "created_at": request.now,
    }


def _row_metadata(request: _Request) -> dict[str, Any]:
    metadata: dict[str, Any] = {"headers": request.headers, "replyTo": request.reply_to or ""}
    if request.origin.campaign_id:
        metadata["campaignId"] = request.origin.campaign_id
    if test_mode.is_active():
        # The row keeps the real recipient (preferences, suppression and answers
        # are hers); where the message actually went is recorded beside it.
        metadata["testMode"] = {"redirectedTo": test_mode.inbox()}
    return metadata


def _prepared_row(request: _Request) -> tuple[EmailSend, list[TrackedLink]]:
    """The queued row, rendered and leased, with its tracked links (nothing saved).

    Rendering first means a fresh send costs one INSERT for the row instead of
    INSERT + lease UPDATE + body UPDATE. A render or link error fails the send
    before the provider; the failed attempt is kept (without its key) so it shows
    in the admin.
    """
    row = EmailSend(**_row_fields(request), status=Status.QUEUED,
                    idempotency_key=request.idempotency_key,
                    next_attempt_at=request.now + DISPATCH_LEASE, attempts=1)
    try:
        row.html, row.text, links = skeleton.render_send(
            request.template.key, request.props, send_id=row.pk,
            base_url=settings.PUBLIC_BASE_URL)
    except Exception as exc:
        row.idempotency_key, row.status, row.next_attempt_at = None, Status.FAILED, None
        row.error = f"{type(exc).__name__}: {exc}"
        row.save(force_insert=True)
        raise
    return row, links


def _insert_queued(request: _Request, row: EmailSend, links: list[TrackedLink]) -> EmailSend:
    """Insert-or-nothing on the key; on conflict the winner's row is returned.

    The row and its tracked links commit together: a worker killed between the
    two would otherwise leave a queued row whose stored body links to nothing,
    and the retry would send an email whose answer buttons lead nowhere.
    """
    try:
        with transaction.atomic():
            row.save(force_insert=True)
            TrackedLink.objects.bulk_create(links)
        return row
    except IntegrityError:
        winner = _prior(request.idempotency_key)
        if winner is None:
            raise
        return winner


def _take_dispatch_lease(row: EmailSend, now: datetime) -> bool:
    """Compare-and-set: one caller at a time may call the provider for a queued row."""
    free = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=now)
    taken = EmailSend.objects.filter(free, pk=row.pk, status=Status.QUEUED).update(
        next_attempt_at=now + DISPATCH_LEASE, attempts=F("attempts") + 1)
    return taken == 1


def _render_into(row: EmailSend, request: _Request) -> None:
    """Render, track links and store the bodies; any error fails the row first."""
    base = settings.PUBLIC_BASE_URL
    try:
        html, text = templates_registry.render(request.template.key, request.props)
        with transaction.atomic():
            html, text = rewrite_links(send=row, html=html, text=text, base_url=base)
            row.html = inject_open_pixel(html, send_id=row.pk, base_url=base)
            row.text = text
            row.save(update_fields=["html", "text", "updated_at"])
    except Exception as exc:
        _mark_failed(row, exc)
        raise


@lru_cache(maxsize=8)
def _idempotency_header(backend_path: str) -> str | None:
    """The header the provider behind `backend_path` deduplicates on, if it declares one."""
    return getattr(import_string(backend_path), "idempotency_key_header", None) or None


def provider_idempotency_header() -> str | None:
    return _idempotency_header(settings.EMAIL_BACKEND)


def _message(row: EmailSend, request: _Request) -> AnymailMessage:
    headers = dict(request.headers)
    if header := provider_idempotency_header():
        # The journal key, not the row id: a retry after a provider error (a
        # timeout the provider had in fact accepted) writes a new row with the same key.
        headers[header] = row.idempotency_key or str(row.pk)
    metadata = {"emailSendId": str(row.pk), "templateKey": row.template_key,
                "journeyId": row.journey_id or request.origin.journey_name or row.template_key,
                "userId": row.user_key}
    if campaign_id := (row.metadata or {}).get("campaignId"):
        metadata["campaignId"] = campaign_id
    to, subject = test_mode.redirect(send_id=str(row.pk), to=row.to_email, subject=row.subject)
    message = AnymailMessage(
        subject=subject, body=row.text, from_email=row.from_email, to=[to],
        reply_to=[request.reply_to] if request.reply_to else None, headers=headers,
        tags=[row.template_key], metadata=metadata,
    )
    message.attach_alternative(row.html, "text/html")
    return message


def _dispatch(row: EmailSend, request: _Request) -> SendResult:
    message = _message(row, request)
    try:
        message.send()
    except Exception as exc:
        _mark_failed(row, exc)
        raise
    message_id = getattr(getattr(message, "anymail_status", None), "message_id", None)
    sent_at = timezone.now()
    EmailSend.objects.filter(pk=row.pk).update(
        status=Status.SENT, sent_at=sent_at, next_attempt_at=None, updated_at=sent_at,
        message_id="" if message_id is None else str(message_id)[:255])
    outbound.emit("email.sent", {"send": row, "sent_at": sent_at, "message_id": message_id},
                  dedupe_key=f"email.sent:{row.pk}")
    return SendResult(email_send_id=str(row.pk), status="sent", sent_at=sent_at)


def _mark_failed(row: EmailSend, exc: BaseException) -> None:
    """Failed rows release their key, so a retry genuinely sends again."""
    logger.warning("email send %s failed: %s", row.pk, exc)
    EmailSend.objects.filter(pk=row.pk).update(
        status=Status.FAILED, idempotency_key=None, error=f"{type(exc).__name__}: {exc}",
        next_attempt_at=None, updated_at=timezone.now())
