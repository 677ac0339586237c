"""Wire shapes of the answers, as the server sends them (camelCase keys).

They are plain dicts at run time; these TypedDicts only tell a type checker and an
editor which keys to expect. Keys a server may leave out sit in `total=False` parts.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

JSONObject = dict[str, Any]


class Contact(TypedDict):
    id: str
    externalId: str | None
    email: str | None
    anonymousId: str | None
    timezone: str
    properties: dict[str, Any]
    firstSeenAt: str | None
    lastSeenAt: str | None
    createdAt: str
    updatedAt: str


class UpsertContactResult(TypedDict):
    id: str
    created: bool
    linked: bool


class DeleteContactResult(TypedDict):
    deleted: bool


class ExitResult(TypedDict):
    journeyId: str
    stateId: str
    exited: bool


class _IngestResult(TypedDict):
    stored: bool
    exits: list[ExitResult]
    contactKey: str | None


class IngestResult(_IngestResult, total=False):
    # Present only when the event was stored but its list writes failed.
    listsError: str


class BatchEventResult(TypedDict, total=False):
    """One event of `events.send_batch`: `index` is its position in the input;
    either `stored` (+ `contactKey`) or `error`. `idempotencyKey` is the key the
    client sent for it (the caller's, or one it generated)."""

    index: int
    stored: bool
    contactKey: str | None
    error: str
    idempotencyKey: str


class _SendEmailResult(TypedDict):
    emailSendId: str
    status: Literal["queued", "sent", "suppressed", "unsubscribed", "skipped"] | str


class SendEmailResult(_SendEmailResult, total=False):
    reason: str


class _ListSummary(TypedDict):
    id: str
    name: str
    defaultOptIn: bool


class ListSummary(_ListSummary, total=False):
    description: str
    kind: Literal["topic", "channel"]
    subscribed: bool


class _ListMembership(TypedDict):
    list: ListSummary
    subscribed: bool


class ListMembership(_ListMembership, total=False):
    # True when the person is unsubscribed from everything (no list then sends).
    unsubscribedAll: bool


class _Subscriptions(TypedDict):
    lists: list[ListSummary]


class Subscriptions(_Subscriptions, total=False):
    unsubscribedAll: bool


class _SendCampaignResult(TypedDict):
    campaignId: str
    status: str


class SendCampaignResult(_SendCampaignResult, total=False):
    scheduledAt: str | None


class Campaign(TypedDict, total=False):
    id: str
    name: str
    status: str
    audienceKind: Literal["list", "bucket"]
    audienceId: str
    templateKey: str
    totalRecipients: int
    sentCount: int
    skippedCount: int
    failedCount: int
    scheduledAt: str | None
    canceledAt: str | None
    startedAt: str | None
    completedAt: str | None
    createdAt: str


class CampaignPage(TypedDict):
    campaigns: list[Campaign]
    hasMore: bool


class Preferences(TypedDict):
    id: int
    userId: str
    email: str
    unsubscribedAll: bool
    suppressed: bool
    bounceCount: int
    categories: dict[str, bool]
    suppressedAt: str | None
    lastBounceAt: str | None
    updatedAt: str


class PreferencesBody(TypedDict):
    preferences: Preferences | None
