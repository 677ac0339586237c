"""The tracked mailer: the one path every email takes (journeys, tasks, API).

`email_send()` runs these steps in this order: cheap refusals come first, and
the row is committed before the provider is called, so a retry with the same
key always finds what an earlier attempt did:

1. idempotency short-circuit: a prior row in any post-dispatch status is a
   duplicate (no provider call); a prior `queued` row (a crash before the
   provider answered) is re-driven;
2. contact from `user_id` (or the one passed), template, effective category;
3. unless `skip_preference_check`: suppression / unsubscribe / category
   (a `suppressed` row without key), frequency cap, journey `suppress` gap
   against other runs' sends only (skips write no row);
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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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
RecordOnce = Callable[[str, Callable[[], Any]], Any]


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
    journey_run_id: uuid.UUID | None
    journey_id: str
    journey_name: str
    suppress: timedelta | None
    record_once: RecordOnce | None
    from_email: str
    reply_to: str | None
    now: datetime
    # The key's prior row was not looked up (see `key_is_new`).
    prior_unknown: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    # Stored on the row's metadata beside the engine's (a campaign's `campaignId`).
    extra_metadata: dict[str, Any] = field(default_factory=dict)


def email_send(
    *, to: str, template: str, subject: str | None = None, props: dict | None = None,
    user_id: str | None = None, contact: Contact | None = None, category: str | None = None,
    skip_preference_check: bool = False, idempotency_key: str | None = None,
    journey_run_id: uuid.UUID | None = None, journey_id: str = "", journey_name: str = "",
    suppress: timedelta | None = None, record_once: RecordOnce | None = None,
    from_email: str | None = None, reply_to: str | None = None, key_is_new: bool = False,
    defer: bool = False, campaign_id: str = "",
) -> SendResult | PreparedSend:
    """Send one tracked email (see the module docstring for the order of steps).

    Idempotent by `idempotency_key`. Raises `UnknownTemplate`,
    `SemanticLinkError`, `TemplateRenderError` (nothing sent) and re-raises
    provider errors (row `failed`, key released so a retry sends again).

    `key_is_new`: the caller's own journal says this key never sent (a journey
    run's first execution of the send). The up-front lookup is then skipped: a
    row left by a crashed attempt still surfaces, through the key's unique
    index when the row is inserted, or through a lookup when the send turns
    out to be blocked.

    `defer`: stop before writing anything: a send that passed its checks is
    returned rendered, as a `PreparedSend`, for `emails_dispatch` to write and
    send together with others (the journey runner's and campaigns' batches).

    `campaign_id`: the broadcast this send belongs to, kept in the row's metadata
    and the provider's, and carried by its open and click events.
    """
    idempotency_key = idempotency_key or None
    orphan = None
    prior_unknown = bool(idempotency_key) and key_is_new and not _frequency_cap()
    if idempotency_key and not prior_unknown:
        prior = _prior(idempotency_key)
        if prior is not None and prior.status != Status.QUEUED:
            return _duplicate(prior)
        orphan = prior
    if contact is None and user_id:
        contact = next(iter(contact_find(user_id=user_id)), None)
    to = normalize_email(to) or normalize_email(contact.email if contact else None)
    if not to:
        raise RecipientRequired("A recipient address is required")
    entry = templates_registry.get_template(template)
    request = _Request(
        to=to, template=entry, subject=subject or entry.subject,
        category=category or entry.category, contact=contact,
        user_key=contact.key if contact else (user_id or ""), props=hrefs.caller_props(props),
        skip_preference_check=skip_preference_check, idempotency_key=idempotency_key,
        journey_run_id=journey_run_id, journey_id=journey_id or "", journey_name=journey_name,
        suppress=suppress, record_once=record_once,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL, reply_to=reply_to,
        now=timezone.now(), prior_unknown=prior_unknown,
        extra_metadata={"campaignId": campaign_id} if campaign_id else {},
    )
    return _send(request, orphan, defer=defer)


def _prior(idempotency_key: str) -> EmailSend | None:
    return EmailSend.objects.filter(idempotency_key=idempotency_key).first()


def _send(request: _Request, orphan: EmailSend | None, *,
          defer: bool = False) -> SendResult | PreparedSend:
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
    _note_send(row, written=not defer)
    if defer:
        return PreparedSend(request=request, row=row, links=links)
    return _write_and_dispatch(request, row, links)


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


# Messages sent between two re-reads of whether their senders still want them:
# an exit committed while a batch sends stops every message from the next chunk
# on (a window of a few milliseconds, as wide as a lone send's own).
DISPATCH_CHUNK = 5


def emails_dispatch(
    prepared: list[PreparedSend],
    *,
    still_wanted: Callable[[list[PreparedSend]], list[PreparedSend]] | None = None,
) -> list[SendResult | Exception]:
    """Write and send prepared sends together, in their order; one result each.

    One transaction writes every row with its links, one provider connection
    sends them, one UPDATE marks the accepted ones `sent` (one per message for a
    provider that does not deduplicate on keys, see below). A provider error
    fails its own row (key released, as `email_send`) and is returned, not
    raised. When a key already has a row (a crashed earlier attempt, or a
    concurrent caller) the batch falls back to sending each on its own.

    `still_wanted(chunk)`: before each further chunk of `DISPATCH_CHUNK`
    messages, the ones still wanted (the journey runner re-reads its runs'
    status: an exit landing mid-batch stops that run's email); the others are
    not sent, their rows failed with reason `run_exited` and their key released.
    """
    if not prepared:
        return []
    try:
        with transaction.atomic():
            rows_insert(EmailSend, [p.row for p in prepared])
            rows_insert(TrackedLink, [link for p in prepared for link in p.links])
    except IntegrityError:
        return [_settle(p) for p in prepared]
    finally:
        if (seen := _seen.get()) is not None:
            seen.written(p.row for p in prepared)
    results: list[SendResult | Exception] = []
    accepted: list[tuple[EmailSend, Any]] = []
    # A worker dying between the provider accepting a message and its row saying
    # so re-sends it (the in-doubt window). A provider that deduplicates on the
    # key makes that harmless, so its rows are marked together at the end; any
    # other provider's are marked one by one, keeping the window one message wide.
    each = provider_idempotency_header() is None
    connection = get_connection()  # one provider session for the whole batch
    _call(connection, "open")
    dropped: set[Any] = set()
    try:
        for index, p in enumerate(prepared):
            if still_wanted is not None and index % DISPATCH_CHUNK == 0:
                chunk = prepared[index:index + DISPATCH_CHUNK]
                wanted = {id(w) for w in still_wanted(chunk)}
                dropped |= {id(c) for c in chunk if id(c) not in wanted}
            if id(p) in dropped:
                _drop(p.row, "run_exited")
                results.append(SendResult(email_send_id="", status="skipped",
                                          reason="run_exited"))
                continue
            message = _message(p.row, p.request)
            message.connection = connection
            try:
                message.send()
            except Exception as exc:
                _mark_failed(p.row, exc)
                results.append(exc)
                continue
            status = getattr(message, "anymail_status", None)
            result = SendResult(email_send_id=str(p.row.pk), status="sent")
            results.append(result)
            if each:
                _mark_sent([(p.row, getattr(status, "message_id", None))], [result])
            else:
                accepted.append((p.row, getattr(status, "message_id", None)))
    finally:
        _call(connection, "close")
    if accepted:
        _mark_sent(accepted, results)
    return results


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
    if (seen := _seen.get()) is not None:
        seen.forget(row)


def sends_dropped(prepared: list[PreparedSend]) -> None:
    """Prepared sends that will not be written (their run exited meanwhile)."""
    if (seen := _seen.get()) is not None:
        for p in prepared:
            seen.forget(p.row)


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
    if reason is None:
        if _frequency_capped(request, orphan):
            reason = "frequency_capped"
        elif _journey_suppressed(request, orphan):
            reason = "journey_suppressed"
        else:
            return None
    if request.prior_unknown:
        # Blocked now, but a crashed earlier attempt may have sent it already.
        orphan = _prior(request.idempotency_key)
        if orphan is not None and orphan.status != Status.QUEUED:
            return _duplicate(orphan)
    if reason in ("frequency_capped", "journey_suppressed"):
        return _skip(orphan, reason)
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


def _frequency_capped(request: _Request, orphan: EmailSend | None) -> bool:
    """Off unless `settings.EMAIL_FREQUENCY_CAP = {"count", "window", ...}` is set."""
    cap = _frequency_cap()
    if not cap:
        return False
    if request.category in cap.get("exempt_categories", [categories.TRANSACTIONAL]):
        return False
    window = cap["window"]
    window = window if isinstance(window, timedelta) else timedelta(seconds=int(window))
    sends = _counted_sends(request, orphan, request.now - window)
    if cap.get("by_category"):
        sends = sends.filter(category=request.category)
    if (seen := _seen.get()) is not None:  # a batch's checked sends, not yet written
        seen.check_settled(request.to, request.category if cap.get("by_category") else None)
    return sends.count() >= int(cap["count"])


def _journey_suppressed(request: _Request, orphan: EmailSend | None) -> bool:
    """Only sends of *other* runs of this journey gap this one: a run's own earlier send
    must not silently drop its later one (a promoter answering the NPS survey within the
    window would lose the referral email)."""
    if not request.journey_id or not request.suppress or request.suppress <= timedelta(0):
        return False

    def compute() -> bool:
        since = request.now - request.suppress
        seen = _seen.get()
        if seen is not None:
            answer = seen.suppresses(request.journey_id, request.to, request.journey_run_id, since)
            if answer is not None:
                return answer
        sends = _counted_sends(request, orphan, since).filter(journey_id=request.journey_id)
        if request.journey_run_id is not None:
            sends = sends.exclude(journey_run_id=request.journey_run_id)
        return sends.exists()

    if request.record_once is not None and request.idempotency_key:
        return bool(request.record_once(f"suppress:{request.idempotency_key}", compute))
    return compute()


class SendUnsettled(Exception):
    """This send's suppress gap or frequency cap depends on a send its batch has
    checked but not yet written: it can be decided once that one is settled."""


@dataclass
class _SendsSeen:
    """The journey sends a block of code sees for `suppress` (see `journey_sends_seen`)."""

    journeys: frozenset[str]
    emails: frozenset[str]
    since: datetime | None  # the prefetch covers (journeys x emails) from here on
    rows: list[tuple[str, str, Any, datetime, Any]]  # (journey, address, run, created, pk)
    # Sends checked in the block but not written yet (a batch writes them together).
    unwritten: dict[Any, tuple[str, str]] = field(default_factory=dict)  # pk -> (to, category)

    def suppresses(self, journey_id: str, to: str, run_id: Any, since: datetime) -> bool | None:
        """True/False when this block knows; None when only the database does.
        Raises SendUnsettled when the answer hangs on a send not written yet."""
        for journey, address, run, created, pk in self.rows:
            if journey == journey_id and address == to and run != run_id and created >= since:
                if pk in self.unwritten:
                    raise SendUnsettled(pk)
                return True
        covered = (self.since is not None and since >= self.since
                   and journey_id in self.journeys and to in self.emails)
        return False if covered else None

    def check_settled(self, to: str, category: str | None) -> None:
        """Raise SendUnsettled if a send to `to` (in `category`) is not written yet."""
        for pk, (address, cat) in self.unwritten.items():
            if address == to and category in (None, cat):
                raise SendUnsettled(pk)

    def note(self, row: EmailSend, *, written: bool) -> None:
        if row.journey_id:
            self.rows.append(_seen_row(row))
        if not written:
            self.unwritten[row.pk] = (row.to_email, row.category)

    def written(self, rows: Iterable[EmailSend]) -> None:
        for row in rows:
            self.unwritten.pop(row.pk, None)

    def forget(self, row: EmailSend) -> None:
        if (key := _seen_row(row)) in self.rows:
            self.rows.remove(key)
        self.unwritten.pop(row.pk, None)


def _seen_row(row: EmailSend) -> tuple[str, str, Any, datetime, Any]:
    return (row.journey_id, row.to_email, row.journey_run_id, row.created_at, row.pk)


_seen: ContextVar[_SendsSeen | None] = ContextVar("hogsend_journey_sends_seen", default=None)


@contextmanager
def journey_sends_seen(*, suppress: dict[str, timedelta], emails: Iterable[str]) -> Iterator[None]:
    """Journey `suppress` checks inside the block answer from one query, and count
    the sends prepared inside it before they are written.

    The journey runner wraps a batch of runs in it: every run's send is checked
    before any is written (they are written together), so an earlier run's
    prepared send must gap a later run's, as it would have had it been written.
    `suppress`: journey id -> its window; `emails`: the addresses to prefetch.
    A check that hangs on a send not written yet raises SendUnsettled, so the
    run decides after that send went out or was dropped, never on a guess.
    The block's sends also share their templates' renders (tracking.skeleton).
    """
    windows = {journey: w for journey, w in suppress.items() if w and w > timedelta(0)}
    addresses = frozenset(address for address in emails if address)
    since, rows = None, []
    if windows and addresses:
        since = timezone.now() - max(windows.values())
        rows = list(
            EmailSend.objects.filter(journey_id__in=list(windows), to_email__in=list(addresses),
                                     created_at__gte=since)
            .exclude(status__in=[Status.FAILED, Status.SUPPRESSED])
            .values_list("journey_id", "to_email", "journey_run_id", "created_at", "pk"))
    token = _seen.set(_SendsSeen(frozenset(windows), addresses, since, rows))
    try:
        with skeleton.batch_renders():
            yield
    finally:
        _seen.reset(token)


def _note_send(row: EmailSend, *, written: bool) -> None:
    if (seen := _seen.get()) is not None:
        seen.note(row, written=written)


# --- headers and props ------------------------------------------------------------


def _add_unsubscribe(request: _Request) -> None:
    """Journey sends carry a global unsubscribe token (one click stops everything, as the
    reference engine's do); other sends one scoped to their category."""
    key = request.user_key or request.to
    scoped = None if request.journey_id else request.category
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
        journeyName=request.journey_name or request.template.key,
        eventName=request.template.key,
        body=request.subject,
        subject=request.subject,
    )


# --- the row, rendering and dispatch ------------------------------------------------


def _row_fields(request: _Request) -> dict[str, Any]:
    return {
        "journey_run_id": request.journey_run_id, "journey_id": request.journey_id,
        "contact": request.contact, "user_key": request.user_key,
        "template_key": request.template.key, "category": request.category,
        "from_email": request.from_email, "to_email": request.to, "subject": request.subject,
        "metadata": _row_metadata(request),
        "created_at": request.now,
    }


def _row_metadata(request: _Request) -> dict[str, Any]:
    metadata: dict[str, Any] = {"headers": request.headers, "replyTo": request.reply_to or "",
                                **request.extra_metadata}
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
                "journeyId": row.journey_id or request.journey_name or row.template_key,
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
    if (seen := _seen.get()) is not None:
        seen.forget(row)  # a failed send gaps nobody
    logger.warning("email send %s failed: %s", row.pk, exc)
    EmailSend.objects.filter(pk=row.pk).update(
        status=Status.FAILED, idempotency_key=None, error=f"{type(exc).__name__}: {exc}",
        next_attempt_at=None, updated_at=timezone.now())
