"""Email categories: the two built-ins and the topic/channel lists.

A category is `transactional`, `journey`, or the id of a list. Lists come from
two places, merged by id (settings win): `register_list()` calls in code (see
`tracking.email_templates`) and `settings.EMAIL_LISTS`, a list of dicts with
the same fields. `settings.ENABLED_LISTS` (a list of ids, or unset for all)
switches lists off without deleting them.

There is no lists table: a contact's membership is a key of
`EmailPreference.categories`, and `is_subscribed` is the one polarity rule the
mailer and the preference centre share.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings

TRANSACTIONAL = "transactional"
JOURNEY = "journey"
BUILT_INS = (TRANSACTIONAL, JOURNEY)
# Ids that can never be lists: the built-ins and the in-app channel.
RESERVED_IDS = frozenset({*BUILT_INS, "in_app"})
LIST_ID_RE = re.compile(r"^[a-z0-9_-]+$", re.IGNORECASE)


@dataclass(frozen=True)
class EmailList:
    id: str
    name: str
    description: str = ""
    # True: opt-out list (subscribed unless False); False: opt-in (only if True).
    default_opt_in: bool = True
    kind: str = "topic"  # "topic" | "channel"


_code_lists: dict[str, EmailList] = {}


def register_list(
    id: str, *, name: str, description: str = "", default_opt_in: bool = True, kind: str = "topic"
) -> EmailList:
    """Declare a list in code (idempotent by id)."""
    item = EmailList(id=id, name=name, description=description,
                     default_opt_in=default_opt_in, kind=kind)
    _code_lists[id] = item
    return item


def _from_setting(raw: Mapping[str, Any]) -> EmailList:
    return EmailList(
        id=str(raw["id"]),
        name=str(raw.get("name") or raw["id"]),
        description=str(raw.get("description", "")),
        default_opt_in=bool(raw.get("default_opt_in", raw.get("defaultOptIn", True))),
        kind=str(raw.get("kind", "topic")),
    )


def all_lists() -> dict[str, EmailList]:
    """Every declared list, enabled or not, by id."""
    lists = dict(_code_lists)
    for raw in getattr(settings, "EMAIL_LISTS", None) or []:
        item = _from_setting(raw)
        lists[item.id] = item
    return lists


def is_enabled(list_id: str) -> bool:
    enabled = getattr(settings, "ENABLED_LISTS", None)
    return enabled is None or list_id in enabled


def enabled_lists() -> list[EmailList]:
    """Every list in use (topics and channels), in declaration order: what
    `GET /v1/lists` shows and the only ids its writes accept."""
    return [i for i in all_lists().values() if is_enabled(i.id)]


def enabled_topics() -> list[EmailList]:
    """Topic lists shown in the preference centre, in declaration order."""
    return [i for i in all_lists().values() if i.kind == "topic" and is_enabled(i.id)]


def category_problem(category: str) -> str | None:
    """Why `category` cannot be used on a template or journey, or None if it can."""
    if category in BUILT_INS:
        return None
    item = all_lists().get(category)
    if item is None:
        return f"unknown category {category!r} (not a built-in and no list has this id)"
    if item.kind != "topic":
        return f"category {category!r} is a {item.kind} list, not a topic"
    if not is_enabled(category) and not item.default_opt_in:
        return f"category {category!r} is an opt-in list excluded by ENABLED_LISTS"
    return None


def is_subscribed(categories: Mapping[str, Any] | None, category: str) -> bool:
    """List polarity: opt-out lists, built-ins and unknown ids
    send unless explicitly False; opt-in lists send only when explicitly True."""
    value = (categories or {}).get(category)
    item = all_lists().get(category)
    if item is not None and not item.default_opt_in:
        return value is True
    return value is not False
