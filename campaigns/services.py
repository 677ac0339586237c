"""Every write of a campaign: create (API), sync (code definitions), cancel, and
the clock's two steps, planning the audience and sending one chunk of it.

How a broadcast goes out. Creating it writes the campaign and its *plan* chunk,
due at the send time. When the clock claims the plan it counts the audience as
it is then and cuts it, by contact id, into *send* chunks of
CAMPAIGN_CHUNK_SIZE people (about 100), all due at once. Each send chunk is
deferred work like a journey wake-up: claimed with a lease by the clock, sent
by whichever worker gets it, so a 100,000-person broadcast is a thousand
chunks drained by every worker in parallel. The clock claims one chunk per pass
beside each batch of due journey runs (hogsend_site/due.py), so journeys due at
the same moment are never queued behind the whole broadcast.

Exactly once. Every recipient's send carries the key `campaign:<id>:<address>`.
A chunk first looks up which of its keys already have a row (a worker killed
mid-chunk, a lease that expired): those are counted, not sent. The chunk's
counts, its `done` and the campaign's totals are written in one transaction
that only the chunk's current claim can commit, so a re-claimed chunk is
counted once.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from buckets.registry import registry as buckets
from campaigns.definition import CampaignDefinition
from campaigns.models import Campaign, CampaignChunk
from campaigns.registry import registry
from campaigns.selectors import audience_contacts, audience_cut, audience_in_range
from contacts.models import Contact
from contacts.preferences import preferences_prefetched
from hogsend_site.errors import Conflict, HogsendError, NotFound
from tracking import categories, preferences, skeleton, templates_registry
from tracking.mailer import email_prepare, email_send, emails_dispatch
from tracking.models import EmailSend
from tracking.selectors import template_preview
from tracking.send_types import Origin, PreparedSend, Sender, SendResult

logger = logging.getLogger(__name__)

Status = Campaign.Status
# A definition or schedule reached later than this after its send time is
# recorded expired instead of sent.
GRACE = timedelta(hours=1)
# POST /v1/campaigns refuses a sendAt further back than this (clock skew is fine).
STALE_SEND_AT = timedelta(seconds=60)
# A chunk whose claims keep failing (or killing their worker) gives up after this.
MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(seconds=30)
KEY_MAX = 255


def chunk_size() -> int:
    return max(1, int(getattr(settings, "CAMPAIGN_CHUNK_SIZE", 100)))


def send_key(campaign_id: str, address: str) -> str:
    """`campaign:<id>:<address>`; an address too long for the column is hashed."""
    key = f"campaign:{campaign_id}:{address}"
    if len(key) <= KEY_MAX:
        return key
    return f"campaign:{campaign_id}:sha256:{hashlib.sha256(address.encode()).hexdigest()}"


# --- what a campaign may be ---------------------------------------------------------


def audience_problem(*, kind: str, audience_id: str) -> str | None:
    """Why this audience cannot be sent to (a sentence), or None."""
    if kind == Campaign.AudienceKind.BUCKET:
        return None if audience_id in buckets else f"Unknown bucket: {audience_id}"
    item = categories.all_lists().get(audience_id)
    if item is None or not categories.is_enabled(audience_id):
        return f"Unknown list: {audience_id}"
    if item.kind != "topic":
        return f"List {audience_id} is a {item.kind} list, not an email topic"
    return None


def category_of(*, kind: str, audience_id: str, template_key: str) -> str:
    """A list's broadcast is in the list's category (its List-Unsubscribe leaves
    that list); a bucket's is in its template's."""
    if kind == Campaign.AudienceKind.LIST:
        return audience_id
    return templates_registry.get_template(template_key).category


def template_check(*, template_key: str, props: dict[str, Any]) -> None:
    """Raise a 400 for a template a broadcast cannot send: unknown, transactional
    (a broadcast always honours unsubscribes), or failing to render these props."""
    entry = templates_registry.get_template(template_key)  # UnknownTemplate
    if entry.category == categories.TRANSACTIONAL:
        raise HogsendError(f"Template {template_key} is transactional; a campaign sends "
                           f"only templates people can unsubscribe from")
    template_preview(key=template_key, props=props)  # TemplateRenderError, UnsafeLink


def definition_problem(definition: CampaignDefinition) -> str | None:
    """What is wrong with a code definition's audience or template, or None."""
    problem = audience_problem(kind=definition.audience_kind, audience_id=definition.audience_id)
    if problem:
        return problem
    try:
        template_check(template_key=definition.template, props=dict(definition.props))
    except HogsendError as exc:
        return exc.message
    return None


# --- creating, syncing, canceling -------------------------------------------------------


def _plan_chunk(campaign: Campaign, due_at: datetime) -> CampaignChunk:
    return CampaignChunk(campaign=campaign, kind=CampaignChunk.Kind.PLAN, seq=0, due_at=due_at)


def campaign_create(
    *,
    template: str,
    list_id: str | None = None,
    bucket_id: str | None = None,
    name: str | None = None,
    props: dict[str, Any] | None = None,
    subject: str | None = None,
    from_email: str | None = None,
    send_at: datetime | None = None,
    idempotency_key: str | None = None,
) -> tuple[Campaign, bool]:
    """`POST /v1/campaigns`: a broadcast sent now (queued) or at `send_at`
    (scheduled). Returns (campaign, created). A retry with the same idempotency key
    answers the campaign the first call created, whatever else it carries.
    Bad input raises a 400 and writes nothing."""
    if idempotency_key:
        existing = Campaign.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    if bool(list_id) == bool(bucket_id):
        raise HogsendError("Exactly one of list or bucket is required")
    kind = Campaign.AudienceKind.LIST if list_id else Campaign.AudienceKind.BUCKET
    audience_id = list_id or bucket_id or ""
    if problem := audience_problem(kind=kind, audience_id=audience_id):
        raise HogsendError(problem)
    props = dict(props or {})
    template_check(template_key=template, props=props)
    now = timezone.now()
    if send_at is not None and send_at < now - STALE_SEND_AT:
        raise HogsendError("sendAt is in the past")
    send_at = send_at if send_at is not None and send_at > now else now
    campaign = Campaign(
        id=str(uuid.uuid4()), name=(name or "").strip() or f"{template} to {audience_id}",
        origin=Campaign.Origin.API,
        status=Status.SCHEDULED if send_at > now else Status.QUEUED,
        audience_kind=kind, audience_id=audience_id, template_key=template,
        subject=(subject or "").strip(), props=props, from_email=(from_email or "").strip(),
        send_at=send_at, idempotency_key=idempotency_key or None, created_at=now,
    )
    try:
        with transaction.atomic():
            campaign.save(force_insert=True)
            _plan_chunk(campaign, send_at).save(force_insert=True)
    except IntegrityError:
        # Two concurrent retries with one key: the first one's campaign wins.
        existing = Campaign.objects.filter(idempotency_key=idempotency_key).first()
        if idempotency_key and existing is not None:
            return existing, False
        raise
    return campaign, True


@dataclass
class SyncReport:
    scheduled: list[str] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _definition_fields(definition: CampaignDefinition) -> dict[str, Any]:
    return {"name": definition.name, "audience_kind": definition.audience_kind,
            "audience_id": definition.audience_id, "template_key": definition.template,
            "subject": definition.subject, "props": dict(definition.props),
            "from_email": definition.from_email, "send_at": definition.send_at,
            "definition_hash": definition.definition_hash}


def _expired_note(send_at: datetime, now: datetime, what: str) -> str:
    late = now - send_at
    hours = late.total_seconds() / 3600
    return (f"Not sent: {what} {hours:.1f} h after its send time "
            f"({send_at.isoformat()}), past the {GRACE.total_seconds() / 3600:.0f} h grace window.")


def campaigns_sync(*, now: datetime | None = None) -> SyncReport:
    """Line the database up with the code definitions (see campaigns.definition).

    Safe to run from several processes at once: a new campaign is inserted or
    nothing (its id is the key), a change applies only while the row has not
    started (compare-and-set on its status).
    """
    now = now or timezone.now()
    report = SyncReport()
    definitions = {d.id: d for d in registry}
    rows = {c.pk: c for c in Campaign.objects.filter(origin=Campaign.Origin.CODE)}
    for definition in definitions.values():
        problem = definition_problem(definition)
        if problem:
            logger.error("campaign %s (%s) is not synced: %s", definition.id, definition.source,
                         problem)
            report.invalid.append(definition.id)
            continue
        row = rows.get(definition.id)
        changed = row is not None and row.definition_hash != definition.definition_hash
        if row is None:
            _sync_new(definition, now, report)
        elif changed and row.status in Campaign.NOT_STARTED:
            _sync_changed(row, definition, now, report)
        else:
            if changed and row.is_terminal:
                logger.info("campaign %s is %s; its changed definition does not send it again "
                            "(give it a new id to send again)", row.pk, row.status)
            report.unchanged.append(definition.id)
    gone = [pk for pk, row in rows.items()
            if pk not in definitions and row.status in Campaign.NOT_STARTED]
    for campaign_id in gone:
        note = "Canceled: its definition is no longer deployed (or not in ENABLED_CAMPAIGNS)."
        if _cancel_not_started(campaign_id, now, actor="sync", note=note):
            logger.warning("campaign %s canceled: its definition is no longer deployed",
                           campaign_id)
            report.canceled.append(campaign_id)
    return report


def _sync_new(definition: CampaignDefinition, now: datetime, report: SyncReport) -> None:
    fields = _definition_fields(definition)
    if definition.send_at > now:
        status, due_at, bucket = Status.SCHEDULED, definition.send_at, report.scheduled
    elif definition.send_at >= now - GRACE:
        status, due_at, bucket = Status.QUEUED, now, report.queued
    else:
        status, due_at, bucket = Status.EXPIRED, None, report.expired
    campaign = Campaign(id=definition.id, origin=Campaign.Origin.CODE, status=status,
                        created_at=now, **fields)
    if status == Status.EXPIRED:
        campaign.note = _expired_note(definition.send_at, now, "first deployed")
        campaign.completed_at = now
    try:
        with transaction.atomic():
            campaign.save(force_insert=True)
            if due_at is not None:
                _plan_chunk(campaign, due_at).save(force_insert=True)
    except IntegrityError:
        report.unchanged.append(definition.id)  # another process synced it first
        return
    if status == Status.EXPIRED:
        logger.warning("campaign %s expired without sending: %s", definition.id, campaign.note)
    bucket.append(definition.id)


def _sync_changed(row: Campaign, definition: CampaignDefinition, now: datetime,
                  report: SyncReport) -> None:
    fields = _definition_fields(definition)
    with transaction.atomic():
        if definition.send_at < now - GRACE:
            note = _expired_note(definition.send_at, now, "its changed definition was deployed")
            changed = Campaign.objects.filter(pk=row.pk, status__in=Campaign.NOT_STARTED).update(
                **fields, status=Status.EXPIRED, note=note, completed_at=now, updated_at=now)
            if changed:
                CampaignChunk.objects.filter(campaign_id=row.pk, status="pending").update(
                    status=CampaignChunk.Status.CANCELED)
                logger.warning("campaign %s expired without sending: %s", row.pk, note)
                report.expired.append(row.pk)
            return
        due_at = max(definition.send_at, now)
        status = Status.SCHEDULED if definition.send_at > now else Status.QUEUED
        changed = Campaign.objects.filter(pk=row.pk, status__in=Campaign.NOT_STARTED).update(
            **fields, status=status, updated_at=now)
        if changed:
            CampaignChunk.objects.filter(campaign_id=row.pk, kind=CampaignChunk.Kind.PLAN,
                                         status="pending").update(due_at=due_at)
            report.updated.append(row.pk)


def _cancel_not_started(campaign_id: str, now: datetime, *, actor: str, note: str) -> bool:
    with transaction.atomic():
        changed = Campaign.objects.filter(pk=campaign_id, status__in=Campaign.NOT_STARTED).update(
            status=Status.CANCELED, canceled_at=now, canceled_by=actor, note=note, updated_at=now)
        if changed:
            CampaignChunk.objects.filter(campaign_id=campaign_id, status="pending").update(
                status=CampaignChunk.Status.CANCELED)
    return bool(changed)


def campaign_cancel(*, campaign_id: str, actor: str = "") -> Campaign:
    """Stop a campaign that has not finished: nothing more is planned or claimed;
    a chunk already being sent finishes (the stop takes effect at the next
    chunk). 404 for an unknown id, 409 for a campaign already finished."""
    now = timezone.now()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().filter(pk=campaign_id).first()
        if campaign is None:
            raise NotFound("Campaign not found")
        if campaign.is_terminal:
            raise Conflict(f"Campaign is already {campaign.status}")
        campaign.status, campaign.canceled_at, campaign.canceled_by = Status.CANCELED, now, actor
        campaign.note = f"Canceled by {actor}." if actor else "Canceled."
        campaign.save(update_fields=["status", "canceled_at", "canceled_by", "note",
                                     "updated_at"])
        # Chunks no worker holds are closed now; a claimed one finishes its sends
        # and is counted (claims skip a canceled campaign's chunks).
        free = CampaignChunk.objects.filter(campaign=campaign, status="pending").exclude(
            claimed_until__gte=now)
        free.update(status=CampaignChunk.Status.CANCELED)
    return campaign


# --- the clock's steps ------------------------------------------------------------------


def campaign_chunks_process(*, chunk_ids: list[Any]) -> None:
    """Process claimed chunks (the due source's batch): plan or send each."""
    for chunk_id in chunk_ids:
        chunk = (CampaignChunk.objects.select_related("campaign")
                 .filter(pk=chunk_id, status=CampaignChunk.Status.PENDING).first())
        if chunk is None:
            continue
        try:
            if chunk.attempts > MAX_ATTEMPTS:
                raise ChunkGaveUp(f"gave up after {MAX_ATTEMPTS} attempts")
            if chunk.kind == CampaignChunk.Kind.PLAN:
                campaign_plan(chunk=chunk)
            else:
                # One render per template for the whole chunk, each recipient
                # filled in (tracking/skeleton.py), as the journeys' batches do.
                with skeleton.batch_renders():
                    campaign_chunk_send(chunk=chunk)
        except Exception as exc:
            _chunk_failed(chunk, exc)


class ChunkGaveUp(Exception):
    pass


def _chunk_failed(chunk: CampaignChunk, exc: BaseException) -> None:
    """Retry the chunk later with backoff, or, its attempts spent, fail it."""
    now = timezone.now()
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if chunk.attempts < MAX_ATTEMPTS and not isinstance(exc, ChunkGaveUp):
        logger.warning("campaign %s chunk %s failed (attempt %d), retrying: %s",
                       chunk.campaign_id, chunk.seq, chunk.attempts, error)
        CampaignChunk.objects.filter(pk=chunk.pk, claimed_until=chunk.claimed_until).update(
            claimed_until=None, error=error,
            due_at=now + RETRY_BASE * 2 ** max(chunk.attempts - 1, 0))
        return
    logger.error("campaign %s chunk %s failed for good: %s", chunk.campaign_id, chunk.seq, error)
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=chunk.campaign_id)
        failed = CampaignChunk.objects.filter(pk=chunk.pk, status="pending").update(
            status=CampaignChunk.Status.FAILED, claimed_until=None, error=error, done_at=now)
        if failed and campaign.status in (Status.SENDING, *Campaign.NOT_STARTED):
            campaign.note = f"Chunk {chunk.seq} failed: {error}"
            if chunk.kind == CampaignChunk.Kind.PLAN:
                campaign.status, campaign.completed_at = Status.FAILED, now
            else:
                _complete_if_drained(campaign, now)
            campaign.save()


def campaign_plan(*, chunk: CampaignChunk) -> None:
    """The plan chunk: the campaign starts (or expires), its audience is counted
    and cut into send chunks, all due now."""
    now = timezone.now()
    size = chunk_size()
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=chunk.campaign_id)
        done = CampaignChunk.objects.filter(pk=chunk.pk, status="pending",
                                            claimed_until=chunk.claimed_until)
        if campaign.status not in Campaign.NOT_STARTED:
            done.update(status=CampaignChunk.Status.CANCELED, claimed_until=None, done_at=now)
            return
        if campaign.send_at < now - GRACE:
            # The clock was away past the grace window: a late blast is worse than none.
            campaign.status, campaign.completed_at = Status.EXPIRED, now
            campaign.note = _expired_note(campaign.send_at, now, "the clock reached it")
            campaign.save()
            done.update(status=CampaignChunk.Status.CANCELED, claimed_until=None, done_at=now)
            logger.warning("campaign %s expired without sending: %s", campaign.pk, campaign.note)
            return
        people = audience_contacts(kind=campaign.audience_kind, audience_id=campaign.audience_id)
        total, ends = audience_cut(people, size=size)
        bounds = [None, *ends]
        # Due one microsecond apart: claimed in order, so progress reads front to back.
        CampaignChunk.objects.bulk_create([
            CampaignChunk(campaign=campaign, kind=CampaignChunk.Kind.SEND, seq=index + 1,
                          after_contact=after, until_contact=until,
                          due_at=now + timedelta(microseconds=index))
            for index, (after, until) in enumerate(zip(bounds, [*ends, None], strict=True))
        ])
        campaign.status, campaign.started_at, campaign.total_recipients = (
            Status.SENDING, now, total)
        campaign.save()
        done.update(status=CampaignChunk.Status.DONE, claimed_until=None, done_at=now)
    logger.info("campaign %s sending to %d people in %d chunk(s)", campaign.pk, total,
                len(bounds))


@dataclass
class Tally:
    sent: int = 0
    failed: int = 0
    skipped: Counter = field(default_factory=Counter)

    def add(self, result: SendResult | BaseException) -> None:
        if isinstance(result, BaseException):
            self.failed += 1
        elif result.status == "sent":
            self.sent += 1
        elif result.status == "failed":
            self.failed += 1
        else:
            self.skipped[result.reason or result.status] += 1


def campaign_chunk_send(*, chunk: CampaignChunk) -> Tally:
    """One send chunk: its range of the audience as it is now, each person sent
    once through the tracked mailer in one batch (one INSERT, one provider
    session), then the counts, in one transaction only this claim can commit."""
    campaign = chunk.campaign
    tally = Tally()
    if campaign.status != Status.SENDING:
        # Canceled between the claim and now: this chunk sends nothing.
        CampaignChunk.objects.filter(pk=chunk.pk, status="pending",
                                     claimed_until=chunk.claimed_until).update(
            status=CampaignChunk.Status.CANCELED, claimed_until=None, done_at=timezone.now())
        return tally
    people = audience_in_range(
        audience_contacts(kind=campaign.audience_kind, audience_id=campaign.audience_id),
        after=chunk.after_contact, until=chunk.until_contact)
    contacts = list(people)
    size = chunk_size()
    for start in range(0, len(contacts), size):
        _send_page(campaign, contacts[start:start + size], tally)
    campaign_chunk_finish(chunk=chunk, tally=tally)
    return tally


def _send_page(campaign: Campaign, contacts: list[Contact], tally: Tally) -> None:
    category = category_of(kind=campaign.audience_kind, audience_id=campaign.audience_id,
                           template_key=campaign.template_key)
    keys = {contact.pk: send_key(campaign.pk, contact.email or "") for contact in contacts}
    # Sends an earlier claim of this chunk made (a killed worker, an expired lease).
    earlier = dict(EmailSend.objects.filter(idempotency_key__in=list(keys.values()))
                   .values_list("idempotency_key", "status"))
    prepared: list[PreparedSend] = []
    with preferences_prefetched(contacts):
        for contact in contacts:
            key = keys[contact.pk]
            status = earlier.get(key)
            if status is not None and status != EmailSend.Status.QUEUED:
                tally.sent += 1  # it went out on an earlier claim: counted, not sent again
                continue
            reason = preferences.block_reason(contact=contact, email=contact.email or "",
                                              category=category)
            if reason is not None:
                tally.skipped[reason] += 1
                continue
            try:
                # A queued row left by a killed worker is re-driven on its own; new
                # sends are prepared and go out together below.
                result = (email_prepare if status is None else email_send)(
                    to=contact.email or "", template=campaign.template_key,
                    subject=campaign.subject or None, props=dict(campaign.props),
                    contact=contact, category=category, idempotency_key=key,
                    sender=Sender(from_email=campaign.from_email or None),
                    origin=Origin(campaign_id=campaign.pk))
            except Exception as exc:  # a render or provider error fails this person only
                logger.warning("campaign %s: send to %s failed: %s", campaign.pk, contact.pk, exc)
                tally.failed += 1
                continue
            if isinstance(result, PreparedSend):
                prepared.append(result)
            else:
                tally.add(result)
    for result in emails_dispatch(prepared):
        tally.add(result)


def campaign_chunk_finish(*, chunk: CampaignChunk, tally: Tally) -> bool:
    """Close the chunk and add its counts to the campaign; the campaign is sent
    when no chunk is left. Only the claim that still holds the chunk commits
    (compare-and-set on its lease): a worker whose lease expired and was
    re-claimed meanwhile changes nothing, the new claim counts."""
    now = timezone.now()
    skipped = sum(tally.skipped.values())
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=chunk.campaign_id)
        closed = CampaignChunk.objects.filter(
            pk=chunk.pk, status="pending", claimed_until=chunk.claimed_until).update(
            status=CampaignChunk.Status.DONE, claimed_until=None, done_at=now,
            sent_count=tally.sent, skipped_count=skipped, failed_count=tally.failed)
        if not closed:
            return False
        campaign.sent_count += tally.sent
        campaign.skipped_count += skipped
        campaign.failed_count += tally.failed
        reasons = Counter(campaign.skip_reasons or {})
        reasons.update(tally.skipped)
        campaign.skip_reasons = dict(reasons)
        if campaign.status == Status.SENDING:
            _complete_if_drained(campaign, now)
        campaign.save()
    return True


def _complete_if_drained(campaign: Campaign, now: datetime) -> None:
    pending = CampaignChunk.objects.filter(campaign_id=campaign.pk, status="pending").exists()
    if pending:
        return
    failed = CampaignChunk.objects.filter(campaign_id=campaign.pk,
                                          status=CampaignChunk.Status.FAILED).exists()
    campaign.status = Status.FAILED if failed else Status.SENT
    campaign.completed_at = now
