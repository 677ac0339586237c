"""The API's operations, each written once as a plan (see `_base`).

Arguments are snake_case keywords; bodies go out in the server's camelCase.
Answers come back as the server's JSON (dicts with camelCase keys), unwrapped
where the reference client unwraps them (`contacts.find` answers the list).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, TypeAlias

import httpx

from hogsend._base import (
    M,
    Plan,
    Request,
    Resource,
    compact,
    encode_json,
    new_idempotency_key,
    op,
    query,
    require_identity,
    segment,
)
from hogsend._errors import NotFoundError
from hogsend._types import (
    BatchEventResult,
    Campaign,
    CampaignPage,
    Contact,
    DeleteContactResult,
    IngestResult,
    JSONObject,
    ListMembership,
    ListSummary,
    PreferencesBody,
    SendCampaignResult,
    SendEmailResult,
    Subscriptions,
    UpsertContactResult,
)

# Resource classes have methods named `list`, which hide the builtin inside
# their bodies; annotations there use these aliases.
Contacts_: TypeAlias = list[Contact]
BatchResults: TypeAlias = list[BatchEventResult]
ListSummaries: TypeAlias = list[ListSummary]
Timestamp: TypeAlias = datetime | str
Properties: TypeAlias = Mapping[str, Any]

# The server's limit of events per `POST /v1/events/batch`, and a request size
# safely under its default body limit (API_MAX_BODY_BYTES, 1 MiB).
BATCH_LIMIT = 1000
BATCH_MAX_BYTES = 1_000_000
EVENT_FIELDS = {
    "name": "name", "email": "email", "user_id": "userId", "anonymous_id": "anonymousId",
    "event_properties": "eventProperties", "contact_properties": "contactProperties",
    "value": "value", "currency": "currency", "lists": "lists", "groups": "groups",
    "timestamp": "timestamp", "idempotency_key": "idempotencyKey",
}


def event_body(event: Mapping[str, Any], *, where: str = "event") -> dict[str, Any]:
    """One event's wire body from its snake_case fields (`events.send`'s keywords)."""
    unknown = sorted(set(event) - set(EVENT_FIELDS))
    if unknown:
        raise TypeError(f"{where}: unknown field(s) {', '.join(unknown)}; "
                        f"use {', '.join(EVENT_FIELDS)}")
    return compact(**{EVENT_FIELDS[key]: value for key, value in event.items()})


# --- data plane ------------------------------------------------------------------------


class Contacts(Resource[M]):
    """`hs.contacts`: create, update, find and delete contacts (`/v1/contacts`)."""

    @op
    def upsert(self, *, email: str | None = None, user_id: str | None = None,
               anonymous_id: str | None = None, properties: Properties | None = None,
               lists: Mapping[str, bool] | None = None, timezone: str | None = None,
               ) -> Plan[UpsertContactResult]:
        """Create or update the contact with this `email` and/or `user_id` (your id
        for the person; at least one is required). `properties` merge into what is
        stored, a property set to None is removed; `lists` maps list ids to
        subscribed; `timezone` is an IANA name. Answers `{id, created, linked}`."""
        require_identity(email, user_id)
        body = compact(email=email, userId=user_id, anonymousId=anonymous_id,
                       properties=properties, lists=lists, timezone=timezone)
        return (yield Request("PUT", "/v1/contacts", json=body))

    @op
    def find(self, *, email: str | None = None, user_id: str | None = None
             ) -> Plan[Contacts_]:
        """The contacts with this `email` or this `user_id` (exactly one of them)."""
        if bool(email) == bool(user_id):
            raise ValueError("give exactly one of email or user_id")
        answer = yield Request("GET", "/v1/contacts/find",
                               params=query(email=email, userId=user_id))
        return answer["contacts"]

    @op
    def get(self, *, email: str | None = None, user_id: str | None = None) -> Plan[Contact]:
        """The contact with this `user_id` (or the first with this `email`); raises
        `NotFoundError` when there is none."""
        if bool(email) == bool(user_id):
            raise ValueError("give exactly one of email or user_id")
        request = Request("GET", "/v1/contacts/find", params=query(email=email, userId=user_id))
        contacts = (yield request)["contacts"]
        if not contacts:
            which = f"userId {user_id!r}" if user_id else f"email {email!r}"
            raise NotFoundError(status=404, error=f"No contact with {which}", body=None,
                                headers=httpx.Headers(), method="GET",
                                url=f"{self._client.base_url}{request.path}")
        return contacts[0]

    @op
    def delete(self, *, email: str | None = None, user_id: str | None = None
               ) -> Plan[DeleteContactResult]:
        """Delete the contact with this `email` or `user_id` (`NotFoundError` if none)."""
        require_identity(email, user_id)
        return (yield Request("DELETE", "/v1/contacts",
                              json=compact(email=email, userId=user_id)))


class Events(Resource[M]):
    """`hs.events`: send events, the journeys' triggers (`/v1/events`)."""

    @op
    def send(self, name: str, *, email: str | None = None, user_id: str | None = None,
             anonymous_id: str | None = None, event_properties: Properties | None = None,
             contact_properties: Properties | None = None, value: float | None = None,
             currency: str | None = None, lists: Mapping[str, bool] | None = None,
             groups: Mapping[str, str] | None = None, timestamp: Timestamp | None = None,
             idempotency_key: str | None = None) -> Plan[IngestResult]:
        """Send one event for the contact with this `email` and/or `user_id`.

        `event_properties` stay on the event (journey triggers and exits read them);
        `contact_properties` merge into the contact. Without an `idempotency_key`
        one is generated, so a retry after a lost answer never stores the event
        twice. Answers `{stored, exits, contactKey}`; `stored` is False when the
        key was already used.
        """
        require_identity(email, user_id)
        key = idempotency_key or new_idempotency_key()
        body = event_body({
            "name": name, "email": email, "user_id": user_id, "anonymous_id": anonymous_id,
            "event_properties": event_properties, "contact_properties": contact_properties,
            "value": value, "currency": currency, "lists": lists, "groups": groups,
            "timestamp": timestamp, "idempotency_key": key})
        return (yield Request("POST", "/v1/events", json=body, idempotency_key=key))

    @op
    def send_batch(self, events: Iterable[Mapping[str, Any]], *,
                   chunk_size: int = BATCH_LIMIT,
                   max_request_bytes: int = BATCH_MAX_BYTES) -> Plan[BatchResults]:
        """Send many events: each is a dict of `send`'s keywords (`name`, `user_id`,
        `event_properties`, ...). They go in requests of up to 1,000 events and
        `max_request_bytes` of JSON (the server refuses bodies over 1 MiB by
        default); the answer has one result per event, in input order, with
        `index` its position in `events` and either `stored` or the server's
        `error` for that event alone.

        Each event without an `idempotency_key` gets one (returned in its result
        as `idempotencyKey`), so a retried request stores nothing twice. If a
        request fails for good the error is raised and earlier ones stay stored:
        give your own keys to make re-running the whole batch harmless.
        """
        if not 1 <= chunk_size <= BATCH_LIMIT:
            raise ValueError(f"chunk_size must be between 1 and {BATCH_LIMIT}")
        bodies = []
        for index, event in enumerate(events):
            body = event_body(event, where=f"events[{index}]")
            body.setdefault("idempotencyKey", new_idempotency_key())
            bodies.append(body)
        results: list[BatchEventResult] = []
        for offset, chunk in batches(bodies, count=chunk_size, size=max_request_bytes):
            answer = yield Request("POST", "/v1/events/batch", json={"events": chunk},
                                   retry_safe=True)
            by_index = {item["index"]: item for item in answer["results"]}
            for position, body in enumerate(chunk):
                item = by_index.get(position, {"error": "no result returned for this event"})
                results.append({**item, "index": offset + position,  # type: ignore[typeddict-item]
                                "idempotencyKey": body["idempotencyKey"]})
        return results


def batches(bodies: list[dict[str, Any]], *, count: int, size: int
            ) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Consecutive runs of `bodies` (with the index each starts at) of at most
    `count` events and about `size` bytes of `{"events": [...]}` JSON; an event
    bigger than `size` on its own goes alone (the server will judge it)."""
    envelope = len(b'{"events":[]}')
    chunk: list[dict[str, Any]] = []
    start, used = 0, envelope
    for index, body in enumerate(bodies):
        cost = len(encode_json(body)) + 1  # and its comma
        if chunk and (len(chunk) == count or used + cost > size):
            yield start, chunk
            chunk, start, used = [], index, envelope
        chunk.append(body)
        used += cost
    if chunk:
        yield start, chunk


class Emails(Resource[M]):
    """`hs.emails`: tracked transactional sends (`/v1/emails`)."""

    @op
    def send(self, *, template: str, to: str | None = None, user_id: str | None = None,
             props: Properties | None = None, subject: str | None = None,
             from_: str | None = None, reply_to: str | None = None,
             category: str | None = None, skip_preference_check: bool | None = None,
             idempotency_key: str | None = None) -> Plan[SendEmailResult]:
        """Send `template` to `to` (an address) or to the contact `user_id`.

        Preferences are honoured (`status` says `suppressed` / `unsubscribed`, not
        an error) unless `skip_preference_check` (an admin key only). Without an
        `idempotency_key` one is generated, so a retried send mails once.
        Answers `{emailSendId, status, reason?}`.
        """
        if not (to or user_id):
            raise ValueError("to or user_id is required")
        key = idempotency_key or new_idempotency_key()
        body = compact(to=to, userId=user_id, template=template, props=props,
                       subject=subject, replyTo=reply_to, category=category,
                       skipPreferenceCheck=skip_preference_check, idempotencyKey=key)
        if from_ is not None:
            body["from"] = from_
        return (yield Request("POST", "/v1/emails", json=body, idempotency_key=key))


class Lists(Resource[M]):
    """`hs.lists`: subscription lists (`/v1/lists`). A server without lists
    answers 404, raised as `NotFoundError`."""

    @op
    def subscribe(self, list_id: str, *, email: str | None = None,
                  user_id: str | None = None) -> Plan[ListMembership]:
        """Subscribe the contact to `list_id` (created if new; `NotFoundError` for
        an unknown list): `{list, subscribed, unsubscribedAll}`."""
        require_identity(email, user_id)
        return (yield Request("POST", f"/v1/lists/{segment(list_id)}/subscribe",
                              json=compact(email=email, userId=user_id), retry_safe=True))

    @op
    def unsubscribe(self, list_id: str, *, email: str | None = None,
                    user_id: str | None = None) -> Plan[ListMembership]:
        """Unsubscribe the contact from `list_id`: `{list, subscribed, unsubscribedAll}`."""
        require_identity(email, user_id)
        return (yield Request("POST", f"/v1/lists/{segment(list_id)}/unsubscribe",
                              json=compact(email=email, userId=user_id), retry_safe=True))

    @op
    def preferences(self, *, unsubscribed_all: bool, email: str | None = None,
                    user_id: str | None = None) -> Plan[Subscriptions]:
        """Set the contact's account-wide "unsubscribed from everything" switch:
        `{lists, unsubscribedAll}` after the change."""
        require_identity(email, user_id)
        body = compact(email=email, userId=user_id, unsubscribedAll=unsubscribed_all)
        return (yield Request("POST", "/v1/lists/preferences", json=body, retry_safe=True))

    @op
    def list(self, *, email: str | None = None, user_id: str | None = None
             ) -> Plan[ListSummaries]:
        """Every list, `[{id, name, description, defaultOptIn, kind, subscribed}]`;
        `subscribed` is the contact's when `email` or `user_id` is given, else the
        list's default."""
        answer = yield Request("GET", "/v1/lists", params=query(email=email, userId=user_id))
        return answer["lists"]


class Campaigns(Resource[M]):
    """`hs.campaigns`: one template to a list's or a bucket's members
    (`/v1/campaigns`), now or at `send_at`, with live counts."""

    @op
    def send(self, *, name: str, template: str, list_id: str | None = None,
             bucket_id: str | None = None, props: Properties | None = None,
             from_: str | None = None, subject: str | None = None,
             send_at: Timestamp | None = None, idempotency_key: str | None = None,
             ) -> Plan[SendCampaignResult]:
        """Queue (or, with `send_at`, schedule) a campaign to exactly one of
        `list_id` or `bucket_id`. Answers `{campaignId, status, scheduledAt}`."""
        if bool(list_id) == bool(bucket_id):
            raise ValueError("give exactly one of list_id or bucket_id")
        key = idempotency_key or new_idempotency_key()
        body = compact(name=name, list=list_id, bucket=bucket_id, template=template,
                       props=props, subject=subject, sendAt=send_at, idempotencyKey=key)
        if from_ is not None:
            body["from"] = from_
        return (yield Request("POST", "/v1/campaigns", json=body, idempotency_key=key))

    @op
    def get(self, campaign_id: str) -> Plan[Campaign]:
        """One campaign with its counts."""
        return (yield Request("GET", f"/v1/campaigns/{segment(campaign_id)}"))

    @op
    def cancel(self, campaign_id: str) -> Plan[Campaign]:
        """Cancel a scheduled, queued or sending campaign (409 when it finished)."""
        return (yield Request("POST", f"/v1/campaigns/{segment(campaign_id)}/cancel",
                              json={}, retry_safe=True))

    @op
    def list(self, *, status: Sequence[str] | None = None, limit: int | None = None,
             offset: int | None = None) -> Plan[CampaignPage]:
        """Campaigns, newest first: `{campaigns, hasMore}`."""
        return (yield Request("GET", "/v1/campaigns",
                              params=query(status=status, limit=limit, offset=offset)))


# --- admin plane (an `admin` key) -----------------------------------------------------------
# These answer the server's JSON as it is: lists are `{<items>, total, limit, offset}`.


class ContactPreferences(Resource[M]):
    """`hs.admin.contacts.preferences`: a contact's email preferences."""

    @op
    def get(self, contact: str) -> Plan[PreferencesBody]:
        """`{preferences}` of the contact (its id or your user id); None if unset."""
        return (yield Request("GET", f"/v1/admin/contacts/{segment(contact)}/preferences"))

    @op
    def update(self, contact: str, *, unsubscribed_all: bool | None = None,
               suppressed: bool | None = None, categories: Mapping[str, bool] | None = None,
               ) -> Plan[PreferencesBody]:
        """Set the contact's global unsubscribe, suppression or per-category
        choices (`{"marketing": False}`); answers `{preferences}`."""
        body = compact(unsubscribedAll=unsubscribed_all, suppressed=suppressed,
                       categories=categories)
        return (yield Request("PUT", f"/v1/admin/contacts/{segment(contact)}/preferences",
                              json=body))


class AdminContacts(Resource[M]):
    """`hs.admin.contacts`: browse contacts; `.preferences` edits their choices."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.preferences: ContactPreferences[M] = ContactPreferences(client)

    @op
    def get(self, contact: str) -> Plan[JSONObject]:
        """`{contact, preferences}` by the contact's id or your user id."""
        return (yield Request("GET", f"/v1/admin/contacts/{segment(contact)}"))

    @op
    def timeline(self, contact: str, *, type: Literal["event", "journey", "email"] | None = None,
                 limit: int | None = None, offset: int | None = None) -> Plan[JSONObject]:
        """Events, journey runs and emails of the contact, newest first."""
        return (yield Request("GET", f"/v1/admin/contacts/{segment(contact)}/timeline",
                              params=query(type=type, limit=limit, offset=offset)))

    @op
    def list(self, *, search: str | None = None, limit: int | None = None,
             offset: int | None = None) -> Plan[JSONObject]:
        """`{contacts, total, limit, offset}`; `search` matches email or user id."""
        return (yield Request("GET", "/v1/admin/contacts",
                              params=query(search=search, limit=limit, offset=offset)))


class AdminEvents(Resource[M]):
    """`hs.admin.events`: stored events, and replaying them through the pipeline."""

    @op
    def get(self, event_id: int) -> Plan[JSONObject]:
        return (yield Request("GET", f"/v1/admin/events/{segment(event_id)}"))

    @op
    def replay(self, event_ids: Sequence[int]) -> Plan[JSONObject]:
        """Re-ingest stored events (every guard applies): `{replayed, errors}`."""
        return (yield Request("POST", "/v1/admin/events/replay",
                              json={"eventIds": [int(i) for i in event_ids]}))

    @op
    def list(self, *, event: str | None = None, user_id: str | None = None,
             from_: Timestamp | None = None, to: Timestamp | None = None,
             limit: int | None = None, offset: int | None = None) -> Plan[JSONObject]:
        """`{events, total, limit, offset}`, newest first."""
        params = query(event=event, userId=user_id, to=to, limit=limit, offset=offset)
        params.update(query(**{"from": from_}))
        return (yield Request("GET", "/v1/admin/events", params=params))


class JourneyRuns(Resource[M]):
    """`hs.admin.journeys.runs`: a journey's runs (the API's "states")."""

    @op
    def get(self, journey_id: str, run_id: str) -> Plan[JSONObject]:
        """`{state, logs}`: one run and its step log."""
        return (yield Request(
            "GET", f"/v1/admin/journeys/{segment(journey_id)}/states/{segment(run_id)}"))

    @op
    def cancel(self, journey_id: str, run_id: str) -> Plan[JSONObject]:
        """Exit a live run (`ConflictError` when it already finished): `{state}`."""
        return (yield Request(
            "DELETE", f"/v1/admin/journeys/{segment(journey_id)}/states/{segment(run_id)}"))

    @op
    def retry(self, journey_id: str, run_id: str) -> Plan[JSONObject]:
        """Put a failed run back in line: `{state}`."""
        return (yield Request(
            "POST",
            f"/v1/admin/journeys/{segment(journey_id)}/states/{segment(run_id)}/retry"))

    @op
    def list(self, journey_id: str, *, status: str | None = None, user_id: str | None = None,
             limit: int | None = None, offset: int | None = None) -> Plan[JSONObject]:
        """`{states, total, limit, offset}`, newest first."""
        return (yield Request("GET", f"/v1/admin/journeys/{segment(journey_id)}/states",
                              params=query(status=status, userId=user_id, limit=limit,
                                           offset=offset)))


def enroll_body(user_id: str | None, user_email: str | None,
                properties: Properties | None) -> dict[str, Any]:
    return compact(userId=user_id, userEmail=user_email, properties=properties)


class Journeys(Resource[M]):
    """`hs.admin.journeys`: the registered journeys, their switch, enrolment;
    `.runs` lists, cancels and retries runs."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.runs: JourneyRuns[M] = JourneyRuns(client)

    @op
    def get(self, journey_id: str) -> Plan[JSONObject]:
        """`{journey}` with its rules and ten most recent runs."""
        return (yield Request("GET", f"/v1/admin/journeys/{segment(journey_id)}"))

    @op
    def update(self, journey_id: str, *, enabled: bool) -> Plan[JSONObject]:
        """Switch a journey on or off for new enrolments: `{journey}`."""
        return (yield Request("PATCH", f"/v1/admin/journeys/{segment(journey_id)}",
                              json={"enabled": enabled}, retry_safe=True))

    @op
    def enroll(self, journey_id: str, *, user_id: str | None = None,
               user_email: str | None = None, properties: Properties | None = None,
               ) -> Plan[JSONObject]:
        """Send the journey's trigger for one person (every guard applies):
        `{enrolled, reason, event, userId, stateId}`."""
        return (yield Request("POST", f"/v1/admin/journeys/{segment(journey_id)}/enroll",
                              json=enroll_body(user_id, user_email, properties)))

    @op
    def enroll_batch(self, journey_id: str, users: Iterable[Mapping[str, Any]]
                     ) -> Plan[JSONObject]:
        """Enrol up to 500 people, each `{"user_id", "user_email", "properties"}`:
        `{enrolled, skipped, results}`."""
        body = [enroll_body(u.get("user_id"), u.get("user_email"), u.get("properties"))
                for u in users]
        return (yield Request("POST", f"/v1/admin/journeys/{segment(journey_id)}/enroll/batch",
                              json={"users": body}))

    @op
    def list(self, *, enabled: bool | None = None, limit: int | None = None,
             offset: int | None = None) -> Plan[JSONObject]:
        """`{journeys, total, limit, offset}` with each journey's run counts."""
        return (yield Request("GET", "/v1/admin/journeys",
                              params=query(enabled=enabled, limit=limit, offset=offset)))


class AdminEmails(Resource[M]):
    """`hs.admin.emails`: sent emails, and resending a failed or bounced one."""

    @op
    def get(self, email_id: str) -> Plan[JSONObject]:
        return (yield Request("GET", f"/v1/admin/emails/{segment(email_id)}"))

    @op
    def resend(self, email_id: str) -> Plan[JSONObject]:
        """Resend a failed or bounced email (`ConflictError` otherwise)."""
        return (yield Request("POST", f"/v1/admin/emails/{segment(email_id)}/resend"))

    @op
    def list(self, *, to_email: str | None = None, template_key: str | None = None,
             status: str | None = None, category: str | None = None,
             journey_id: str | None = None, user_id: str | None = None,
             from_: Timestamp | None = None, to: Timestamp | None = None,
             limit: int | None = None, offset: int | None = None) -> Plan[JSONObject]:
        """`{emails, total, limit, offset}`, newest first."""
        params = query(toEmail=to_email, templateKey=template_key, status=status,
                       category=category, journeyId=journey_id, userId=user_id, to=to,
                       limit=limit, offset=offset)
        params.update(query(**{"from": from_}))
        return (yield Request("GET", "/v1/admin/emails", params=params))


class Templates(Resource[M]):
    """`hs.admin.templates`: the email templates, previews and test sends."""

    @op
    def preview(self, key: str, *, props: Properties | None = None,
                format: Literal["html", "text"] | None = None) -> Plan[Any]:
        """Render without sending: `{key, subject, category, html, text}`, or with
        `format` the raw HTML or text."""
        encoded = (base64.urlsafe_b64encode(json.dumps(dict(props)).encode()).decode()
                   if props else None)
        return (yield Request("GET", f"/v1/admin/templates/{segment(key, safe='/')}/preview",
                              params=query(props=encoded, format=format),
                              text=format is not None))

    @op
    def send_test(self, key: str, *, to: str, props: Properties | None = None
                  ) -> Plan[JSONObject]:
        """Send the template to any address, bypassing preferences."""
        return (yield Request("POST", f"/v1/admin/templates/{segment(key, safe='/')}/send-test",
                              json=compact(to=to, props=props)))

    @op
    def list(self) -> Plan[JSONObject]:
        """`{templates}`."""
        return (yield Request("GET", "/v1/admin/templates"))


class ApiKeys(Resource[M]):
    """`hs.admin.api_keys`: create (the secret is shown once) and revoke keys."""

    @op
    def create(self, *, name: str, scopes: Sequence[Literal["ingest", "admin"] | str],
               expires_at: Timestamp | None = None) -> Plan[JSONObject]:
        """`{id, name, key, keyPrefix, scopes, expiresAt, createdAt}`; `key` is
        the secret, never shown again."""
        return (yield Request("POST", "/v1/admin/api-keys",
                              json=compact(name=name, scopes=[*scopes], expiresAt=expires_at)))

    @op
    def revoke(self, key_id: int) -> Plan[JSONObject]:
        return (yield Request("DELETE", f"/v1/admin/api-keys/{segment(key_id)}"))

    @op
    def list(self, *, limit: int | None = None, offset: int | None = None) -> Plan[JSONObject]:
        """`{apiKeys, total, limit, offset}` (never the secrets)."""
        return (yield Request("GET", "/v1/admin/api-keys",
                              params=query(limit=limit, offset=offset)))


class AuditLogs(Resource[M]):
    """`hs.admin.audit_logs`: every admin-plane write, who made it and when."""

    @op
    def list(self, *, actor: str | None = None, resource: str | None = None,
             action: str | None = None, from_: Timestamp | None = None,
             to: Timestamp | None = None, limit: int | None = None,
             offset: int | None = None) -> Plan[JSONObject]:
        params = query(actor=actor, resource=resource, action=action, to=to, limit=limit,
                       offset=offset)
        params.update(query(**{"from": from_}))
        return (yield Request("GET", "/v1/admin/audit-logs", params=params))


class Alerts(Resource[M]):
    """`hs.admin.alerts`: the operators' alert queue."""

    @op
    def acknowledge(self, alert_id: int) -> Plan[JSONObject]:
        return (yield Request("POST", f"/v1/admin/alerts/{segment(alert_id)}/acknowledge"))

    @op
    def resolve(self, alert_id: int) -> Plan[JSONObject]:
        return (yield Request("POST", f"/v1/admin/alerts/{segment(alert_id)}/resolve"))

    @op
    def list(self, *, kind: str | None = None, status: str | None = None,
             limit: int | None = None, offset: int | None = None) -> Plan[JSONObject]:
        return (yield Request("GET", "/v1/admin/alerts",
                              params=query(kind=kind, status=status, limit=limit,
                                           offset=offset)))


class Admin(Resource[M]):
    """`hs.admin`: the admin plane (`/v1/admin/*`); needs a key with the `admin` scope."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.contacts: AdminContacts[M] = AdminContacts(client)
        self.events: AdminEvents[M] = AdminEvents(client)
        self.journeys: Journeys[M] = Journeys(client)
        self.emails: AdminEmails[M] = AdminEmails(client)
        self.templates: Templates[M] = Templates(client)
        self.api_keys: ApiKeys[M] = ApiKeys(client)
        self.audit_logs: AuditLogs[M] = AuditLogs(client)
        self.alerts: Alerts[M] = Alerts(client)
