"""Who a contact is: resolve keys to a person, create, link, merge, look up, delete.

Every identity key is normalised here (`contacts.models.normalize_email` for
addresses); a person's subscription state is `contacts.preferences`.
"""

from __future__ import annotations

import copy
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.db.models.lookups import Exact, In
from django.utils import timezone

from contacts import merge
from contacts.dispatch import PropertiesWritten, run_properties_hooks
from contacts.models import Contact, ContactAlias, normalize_email
from contacts.preferences import contact_lists_apply, lists_validate
from hogsend_site import outbound
from hogsend_site.errors import Conflict, HogsendError, NotFound
from hogsend_site.services import audit_log_record
from hogsend_site.zones import is_valid_zone

logger = logging.getLogger(__name__)

# last_seen_at is coarse on purpose: refreshing it on every event would turn
# each ingest into a contact write.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
# Identity keys in resolution order: userId first, then email, then anonymousId.
IDENTITY_KINDS = ("external_id", "email", "anonymous_id")
# Property keys whose object values are merged one level deep, so updating one
# chat handle does not drop the person's other handles under the same key.
NESTED_PROPERTY_KEYS = ("discord", "telegram")
# Resolution retries when a concurrent request created or merged the same person.
IDENTIFY_ATTEMPTS = 3

class IdentityRequired(HogsendError):
    status = 400

    def __init__(self) -> None:
        super().__init__("email or userId is required")


class _Stale(Exception):
    """A concurrent request changed the contacts being resolved: resolve again."""


@dataclass
class IdentifyResult:
    contact: Contact
    created: bool = False
    linked: bool = False
    # The property keys whose value this call changed (added, replaced or
    # cleared): what segments reading properties must look at again. A new
    # contact changed every key it holds; a merge, every key the survivor holds.
    changed: frozenset[str] = frozenset()


def changed_keys(before: dict[str, Any], after: dict[str, Any]) -> frozenset[str]:
    """The top-level keys whose value differs between two property dicts."""
    return frozenset(key for key in before.keys() | after.keys()
                     if before.get(key, _ABSENT) != after.get(key, _ABSENT))


_ABSENT = object()


def merge_properties(existing: dict[str, Any], patch: dict[str, Any] | None) -> dict[str, Any]:
    """Shallow merge where the patch wins and a `None` value clears the key.

    `discord` and `telegram` objects are merged one level deep, as the
    reference does, so a patch of one sub-key keeps the others.
    """
    existing, patch = existing or {}, patch or {}
    merged = {**existing, **patch}
    for key in NESTED_PROPERTY_KEYS:
        if isinstance(patch.get(key), dict):
            # A None inside the object clears that sub-key even when there was no
            # object before, so applying the same patch twice changes nothing.
            base = existing.get(key) if isinstance(existing.get(key), dict) else {}
            inner = {**base, **patch[key]}
            merged[key] = {k: v for k, v in inner.items() if v is not None}
    return {key: value for key, value in merged.items() if value is not None}


def _live() -> Any:
    return Contact.objects.filter(deleted_at__isnull=True)


def _key_condition(kind: str, value: str) -> Q:
    if kind == "email":
        # LOWER(email) is the expression the unique index covers (an iexact
        # lookup compiles to UPPER() on PostgreSQL and would scan the table).
        return Q(Exact(Lower("email"), value), email__isnull=False)
    return Q(**{kind: value})


def _matches(contact: Contact, kind: str, value: str) -> bool:
    stored = getattr(contact, kind)
    return bool(stored) and (stored.lower() == value if kind == "email" else stored == value)


def _resolve(keys: dict[str, str]) -> list[Contact]:
    """The distinct live contacts the keys name, in key order (two queries at most).

    A key no live contact holds is looked up among the aliases of merged-away
    contacts.
    """
    rows = list(_live().filter(reduce(or_, (_key_condition(k, v) for k, v in keys.items()))))
    by_kind: dict[str, Contact] = {}
    for kind, value in keys.items():
        match = next((c for c in rows if _matches(c, kind, value)), None)
        if match is not None:
            by_kind[kind] = match
    missing = [(kind, value) for kind, value in keys.items() if kind not in by_kind]
    if missing:
        aliases = ContactAlias.objects.filter(
            reduce(or_, (Q(kind=kind, value=value) for kind, value in missing)),
            contact__deleted_at__isnull=True,
        ).select_related("contact")
        for alias in aliases:
            by_kind.setdefault(alias.kind, alias.contact)
    found: list[Contact] = []
    for kind in IDENTITY_KINDS:
        contact = by_kind.get(kind)
        if contact is not None and all(c.pk != contact.pk for c in found):
            found.append(contact)
    return found


def _keys_of(*, user_id: str | None, email: str | None, anonymous_id: str | None) -> dict[str, str]:
    """The supplied identity keys, normalised, in resolution order."""
    keys = {
        "external_id": (user_id or "").strip() or None,
        "email": normalize_email(email),
        "anonymous_id": (anonymous_id or "").strip() or None,
    }
    return {kind: value for kind, value in keys.items() if value}


def validate_timezone(name: str) -> None:
    """Raise a 400-mapped error unless `name` is a known IANA timezone."""
    if not is_valid_zone(name):
        raise HogsendError(f"timezone: unknown IANA timezone {name!r}")

def contact_identify(
    *,
    user_id: str | None = None,
    email: str | None = None,
    anonymous_id: str | None = None,
    properties: dict[str, Any] | None = None,
    tz: str | None = None,
    now: datetime | None = None,
) -> IdentifyResult:
    """Find or create the contact these keys name; link missing keys; merge two.

    Resolution looks up the live contacts holding userId, email or anonymousId
    (or holding them as merge aliases); none ⇒ create
    (`created`); one missing a supplied key ⇒ the key is filled in (`linked`);
    several ⇒ merged into one (`linked`). `properties` are then merged on
    (patch wins, `None` clears); `tz` (an IANA name) sets the contact's
    timezone. Must run inside a transaction (ingest and the
    contacts API own one).
    """
    now = now or timezone.now()
    keys = _keys_of(user_id=user_id, email=email, anonymous_id=anonymous_id)
    if not keys:
        raise IdentityRequired()
    if tz:
        validate_timezone(tz)
    for _attempt in range(IDENTIFY_ATTEMPTS):
        try:
            return _identify(keys, properties=properties, tz=tz, now=now)
        except _Stale:
            continue
    raise Conflict("the contact changed concurrently; retry the request")


def _identify(
    keys: dict[str, str], *, properties: dict[str, Any] | None, tz: str | None,
    now: datetime,
) -> IdentifyResult:
    found = _resolve(keys)
    if not found:
        return _create(keys, properties=properties, tz=tz, now=now)
    if len(found) == 1:
        contact = found[0]
    else:
        # A savepoint: a merge that finds its rows changed undoes nothing else.
        with transaction.atomic():
            contact = _merge(found, now=now)
    linked = len(found) > 1
    # A merge folded other contacts' properties in: count every key as changed.
    changed = frozenset(contact.properties or {}) if linked else frozenset()
    update_fields: list[str] = []
    for kind, value in keys.items():
        if not getattr(contact, kind):
            setattr(contact, kind, value)
            update_fields.append(kind)
            linked = True
    if properties:
        merged = merge_properties(contact.properties, properties)
        if merged != contact.properties:
            changed |= changed_keys(contact.properties or {}, merged)
            contact.properties = merged
            update_fields.append("properties")
    if tz and contact.timezone != tz:
        contact.timezone = tz
        update_fields.append("timezone")
    if contact.last_seen_at is None or now - contact.last_seen_at >= LAST_SEEN_RESOLUTION:
        contact.last_seen_at = now
        update_fields.append("last_seen_at")
    if update_fields and not set(update_fields) & set(keys):
        # No identity key changes, so no unique index can object: a plain
        # UPDATE, without a savepoint (the hot path: last_seen_at, properties).
        contact.save(update_fields=[*update_fields, "updated_at"])
    elif update_fields:
        try:
            with transaction.atomic():
                contact.save(update_fields=[*update_fields, "updated_at"])
        except IntegrityError as exc:
            # A linked key was taken by a contact created since the lookup.
            raise _Stale from exc
    return IdentifyResult(contact=contact, created=False, linked=linked, changed=changed)


def _create(
    keys: dict[str, str], *, properties: dict[str, Any] | None, tz: str | None,
    now: datetime,
) -> IdentifyResult:
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                **keys,
                timezone=tz or "",
                properties=merge_properties({}, properties),
                first_seen_at=now,
                last_seen_at=now,
                created_at=now,
            )
    except IntegrityError as exc:
        # A concurrent request created the same person first: resolve to it.
        raise _Stale from exc
    outbound.emit("contact.created", {"contact": contact},
                  dedupe_key=f"contact.created:{contact.pk}")
    return IdentifyResult(contact=contact, created=True, changed=frozenset(contact.properties))


def _survivor_order(contact: Contact) -> tuple:
    # Identified first (its userId is the key other systems know), then the oldest,
    # then the lowest uuid, so every process picks the same survivor.
    first_seen = contact.first_seen_at or contact.created_at
    return (contact.external_id is None, first_seen, str(contact.pk))


def _merge(contacts: list[Contact], *, now: datetime) -> Contact:
    """Fold several contacts (one person under several keys) into one; return the survivor.

    The losers are soft-deleted, their keys (and the aliases they had
    inherited) recorded as aliases of the survivor, their history re-pointed;
    their properties are folded in with the survivor winning conflicts.
    """
    # Lock the rows (id order, so two merges cannot deadlock) and re-read them:
    # a concurrent merge may have soft-deleted one since the lookup.
    locked = list(
        Contact.objects.select_for_update().filter(pk__in=[c.pk for c in contacts]).order_by("pk")
    )
    if len(locked) != len(contacts) or any(c.deleted_at for c in locked):
        raise _Stale
    survivor, *losers = sorted(locked, key=_survivor_order)
    props: dict[str, Any] = {}
    for contact in [*reversed(losers), survivor]:
        props = merge_properties(props, contact.properties)
    for loser in losers:
        Contact.objects.filter(pk=loser.pk).update(deleted_at=now, updated_at=now)
        # Every row naming the loser moves, its inherited aliases included.
        merge.repoint_history(from_contact=loser, to_contact=survivor)
        for kind in IDENTITY_KINDS:
            value = getattr(loser, kind)
            if value:
                ContactAlias.objects.update_or_create(
                    kind=kind, value=value,
                    defaults={"contact": survivor, "from_contact_id": loser.pk, "reason": "merge"},
                )
            if value and not getattr(survivor, kind):
                setattr(survivor, kind, value)
    survivor.properties = props
    survivor.first_seen_at = min(c.first_seen_at or c.created_at for c in locked)
    survivor.timezone = survivor.timezone or next((lo.timezone for lo in losers if lo.timezone), "")
    survivor.save()
    logger.info("merged contacts %s into %s", [str(lo.pk) for lo in losers], survivor.pk)
    return survivor


# --- Many at once (batch ingest) ------------------------------------------------


@dataclass(frozen=True)
class IdentifyRequest:
    user_id: str | None = None
    email: str | None = None
    anonymous_id: str | None = None
    properties: dict[str, Any] | None = None


def contacts_identify_many(
    *, requests: list[IdentifyRequest], now: datetime | None = None
) -> list[IdentifyResult | HogsendError]:
    """`contact_identify` for each request, in order, with the same results.

    Requests that name at most one contact (known people, new people, a new
    key or new properties for one person) are resolved with two queries for
    the whole list and written with one INSERT and at most two UPDATEs. A
    request that merges contacts runs through `contact_identify` alone, as does
    every request of a write that lost a race (a key taken meanwhile). A
    request without keys gets `IdentityRequired` in its slot. Must run inside a
    transaction.
    """
    now = now or timezone.now()
    keysets = [
        _keys_of(user_id=r.user_id, email=r.email, anonymous_id=r.anonymous_id) for r in requests
    ]
    results: list[IdentifyResult | HogsendError | None] = [
        None if keys else IdentityRequired() for keys in keysets
    ]
    todo = [i for i, keys in enumerate(keysets) if keys]
    while todo:
        bulk = _BulkIdentify([keysets[i] for i in todo], now=now)
        segment: list[tuple[int, IdentifyResult]] = []
        for i in todo:
            result = bulk.identify(keysets[i], requests[i].properties)
            if result is None:
                break  # a merge: everything before it is written first
            segment.append((i, result))
        written = bulk.flush()
        for i, result in segment:
            results[i] = result if written else _identify_one(requests[i], now)
        todo = todo[len(segment):]
        if todo:
            results[todo[0]] = _identify_one(requests[todo[0]], now)
            todo = todo[1:]
    return results  # type: ignore[return-value]  (every slot is filled)


def _identify_one(request: IdentifyRequest, now: datetime) -> IdentifyResult | HogsendError:
    try:
        return contact_identify(user_id=request.user_id, email=request.email,
                                anonymous_id=request.anonymous_id,
                                properties=request.properties, now=now)
    except HogsendError as exc:
        return exc


class _BulkIdentify:
    """One segment of `contacts_identify_many`: resolve in memory, write once."""

    def __init__(self, keysets: list[dict[str, str]], *, now: datetime) -> None:
        self.now = now
        self.by_key: dict[tuple[str, str], Contact] = {}
        self.new: dict[Any, Contact] = {}
        self.dirty: dict[Any, tuple[Contact, set[str]]] = {}
        self.created: list[Contact] = []  # the snapshots handed out for new rows
        self._load(keysets)

    def _load(self, keysets: list[dict[str, str]]) -> None:
        wanted = {(kind, value) for keys in keysets for kind, value in keys.items()}
        values = {kind: sorted(v for k, v in wanted if k == kind) for kind in IDENTITY_KINDS}
        conditions = [Q(**{f"{kind}__in": values[kind]})
                      for kind in ("external_id", "anonymous_id") if values[kind]]
        if values["email"]:
            conditions.append(Q(In(Lower("email"), values["email"]), email__isnull=False))
        contacts: dict[Any, Contact] = {}
        for contact in _live().filter(reduce(or_, conditions)):
            contacts[contact.pk] = contact
            for kind in IDENTITY_KINDS:
                value = getattr(contact, kind)
                if value:
                    self.by_key[(kind, value.lower() if kind == "email" else value)] = contact
        missing = wanted - self.by_key.keys()
        if missing:
            by_kind = {kind: sorted(v for k, v in missing if k == kind) for kind in IDENTITY_KINDS}
            aliases = ContactAlias.objects.filter(
                reduce(or_, (Q(kind=kind, value__in=vs) for kind, vs in by_kind.items() if vs)),
                contact__deleted_at__isnull=True,
            ).select_related("contact")
            for alias in aliases:
                contact = contacts.setdefault(alias.contact_id, alias.contact)
                self.by_key.setdefault((alias.kind, alias.value), contact)

    def identify(self, keys: dict[str, str], properties: dict[str, Any] | None
                 ) -> IdentifyResult | None:
        """The result for one request, applied in memory; None when it needs a merge."""
        found: list[Contact] = []
        for kind, value in keys.items():
            contact = self.by_key.get((kind, value))
            if contact is not None and all(c.pk != contact.pk for c in found):
                found.append(contact)
        if len(found) > 1:
            return None
        if not found:
            contact = Contact(**keys, properties=merge_properties({}, properties),
                              first_seen_at=self.now, last_seen_at=self.now, created_at=self.now)
            self.new[contact.pk] = contact
            self._register(contact, keys)
            snapshot = copy.copy(contact)
            self.created.append(snapshot)
            return IdentifyResult(contact=snapshot, created=True,
                                  changed=frozenset(contact.properties))
        contact, changed = found[0], set()
        for kind, value in keys.items():
            if not getattr(contact, kind):
                setattr(contact, kind, value)
                changed.add(kind)
        self._register(contact, keys)
        merged = merge_properties(contact.properties, properties) if properties else None
        written: frozenset[str] = frozenset()
        if merged is not None and merged != contact.properties:
            written = changed_keys(contact.properties or {}, merged)
            contact.properties = merged
            changed.add("properties")
        if contact.last_seen_at is None or self.now - contact.last_seen_at >= LAST_SEEN_RESOLUTION:
            contact.last_seen_at = self.now
            changed.add("last_seen_at")
        if changed and contact.pk not in self.new:
            self.dirty.setdefault(contact.pk, (contact, set()))[1].update(changed)
        linked = bool(changed & set(IDENTITY_KINDS))
        # A snapshot: a later request of the batch may link a key to this
        # contact, which must not change the key this request resolved to.
        return IdentifyResult(contact=copy.copy(contact), created=False, linked=linked,
                              changed=written)

    def _register(self, contact: Contact, keys: dict[str, str]) -> None:
        for kind, value in keys.items():
            self.by_key.setdefault((kind, value), contact)

    def flush(self) -> bool:
        """Write the segment in one savepoint; False when a key was taken meanwhile."""
        if not (self.new or self.dirty):
            return True  # known people seen again within a minute: nothing to write
        seen_only = [pk for pk, (_, fields) in self.dirty.items() if fields == {"last_seen_at"}]
        changed = [c for c, fields in self.dirty.values() if fields != {"last_seen_at"}]
        fields = sorted({f for _, fs in self.dirty.values() for f in fs} | {"updated_at"})
        for contact in changed:
            contact.updated_at = self.now
        try:
            with transaction.atomic():
                if self.new:
                    Contact.objects.bulk_create(list(self.new.values()))
                if seen_only:
                    Contact.objects.filter(pk__in=seen_only).update(
                        last_seen_at=self.now, updated_at=self.now)
                if changed:
                    Contact.objects.bulk_update(changed, fields)
        except IntegrityError:
            return False
        for snapshot in self.created:
            snapshot._state.adding, snapshot._state.db = False, Contact.objects.db
        outbound.emit_many(outbound.Emission("contact.created", {"contact": c},
                                             f"contact.created:{c.pk}") for c in self.new.values())
        return True


def contact_upsert(
    *,
    user_id: str | None = None,
    email: str | None = None,
    anonymous_id: str | None = None,
    properties: dict[str, Any] | None = None,
    tz: str | None = None,
    lists: dict[str, bool] | None = None,
    actor: str = "",
) -> IdentifyResult:
    """`PUT /v1/contacts`: resolve/merge and merge properties; never ingests an event.

    `lists` (`{list_id: subscribed}`) are applied after the resolve and need
    an email address; without one nothing is written (the whole call is one
    transaction) and the caller gets a 400.
    """
    if not ((user_id or "").strip() or normalize_email(email)):
        raise IdentityRequired()
    lists_validate(lists or {})
    with transaction.atomic():
        result = contact_identify(user_id=user_id, email=email, anonymous_id=anonymous_id,
                                  properties=properties, tz=tz)
        if properties:
            # Segments that read the changed keys follow the write (buckets).
            run_properties_hooks([PropertiesWritten(result.contact.pk, result.changed,
                                                    frozenset(properties))], timezone.now())
        if lists:
            contact_lists_apply(contact=result.contact, lists=lists, actor=actor)
    return result


def contact_find(*, email: str | None = None, user_id: str | None = None) -> list[Contact]:
    """The live contact holding this email or userId (or holding it as an alias)."""
    if email:
        keys = {"email": normalize_email(email)}
    elif user_id:
        keys = {"external_id": user_id.strip()}
    else:
        raise IdentityRequired()
    return _resolve(keys) if all(keys.values()) else []


def contact_get(*, ref: str) -> Contact:
    """A live contact by uuid or external id (the admin plane accepts either)."""
    contact = contacts_by_id_or_external_id(refs=[ref]).get(ref)
    if contact is None:
        raise NotFound("Contact not found")
    return contact


def contact_for_key(*, key: str, email: str | None = None) -> Contact | None:
    """The live contact whose canonical key is `key` (what history rows and
    unsubscribe links carry), or None.

    A key is not a staff reference: an external id and another contact's uuid can
    spell the same key, and then the one whose address is `email` is meant; with
    no such contact, None (a caller acts on the address alone).
    """
    query = Q(external_id=key) | Q(anonymous_id=key)
    try:
        query |= Q(pk=uuid.UUID(key))
    except ValueError:
        pass
    holders = [contact for contact in _live().filter(query) if contact.key == key]
    if len(holders) > 1:
        address = normalize_email(email)
        holders = [contact for contact in holders if address and contact.email == address]
    return holders[0] if len(holders) == 1 else None


def contacts_by_id_or_external_id(*, refs: list[str]) -> dict[str, Contact]:
    """Live contacts named by uuid or external id: ref -> contact, for the refs found.

    A ref in uuid form names the contact with that uuid whenever one is live, even
    when another contact's external id is the same string. The uuid is minted here
    and never changes, while any ingest caller chooses external ids: otherwise one
    could claim a reference staff use for someone else. The other contact stays
    reachable by its own uuid. Two queries at most.
    """
    ids: dict[uuid.UUID, list[str]] = {}
    for ref in refs:
        try:
            ids.setdefault(uuid.UUID(ref), []).append(ref)
        except ValueError:
            continue
    found: dict[str, Contact] = {}
    if ids:
        for contact in _live().filter(pk__in=list(ids)):
            found.update(dict.fromkeys(ids[contact.pk], contact))
    rest = [ref for ref in refs if ref not in found]
    if rest:
        for contact in _live().filter(external_id__in=rest):
            found.setdefault(contact.external_id, contact)
    return found


def contact_delete(*, email: str | None = None, user_id: str | None = None,
                   actor: str = "") -> Contact:
    """Soft delete: history and preferences stay, the keys become free."""
    with transaction.atomic():
        contacts = contact_find(email=email, user_id=user_id)
        if not contacts:
            raise NotFound("Contact not found")
        contact = contacts[0]
        contacts_soft_delete(contact_ids=[contact.pk], actor=actor or "api", source="api")
        contact.refresh_from_db(fields=["deleted_at", "updated_at"])
        return contact


def contacts_soft_delete(*, contact_ids: list[Any], actor: str, source: str = "admin",
                         ip: str = "") -> int:
    """Soft-delete live contacts (admin and API); returns how many were deleted.

    Each deletion leaves an audit row naming who did it, in the same transaction:
    a soft delete splits a person's history from whatever arrives under their keys
    next, so support must be able to see who did it and when.
    """
    now = timezone.now()
    with transaction.atomic():
        ids = list(_live().filter(pk__in=contact_ids).select_for_update()
                   .values_list("pk", flat=True))
        count = Contact.objects.filter(pk__in=ids).update(deleted_at=now, updated_at=now)
        for contact_id in ids:
            audit_log_record(actor=actor, action="soft-delete contact", resource="contact",
                             resource_id=str(contact_id), detail={"source": source}, ip=ip)
    return count
