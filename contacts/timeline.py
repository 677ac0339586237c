"""One timeline of everything about a person, for the contact page of the console.

Each app describes its own rows: this app its preference changes, tracking the
events, answers and emails, journeys the runs (each registers a source from its
AppConfig.ready, since contacts may not import the apps above it). A source
returns at most `limit` entries, newest first, from an index-backed query on
the contact, so a page costs one query or two per source however long the
history is; `contact_timeline` merges them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Q

from contacts.models import Contact, PreferenceChange
from contacts.preferences import preferences_of

# The contact page shows this many entries, and "show more" adds as many again.
TIMELINE_STEP = 30
# However often "show more" is pressed, one page reads at most this many per source.
TIMELINE_MAX = 600


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "event" | "answer" | "email" | "run" | "preference" | ...
    title: str  # what happened, in words
    raw: str = ""  # the engine's name for it, shown small beside the title
    url: str = ""  # the admin page of the row
    details: tuple[str, ...] = ()  # short facts: "Status: sent", "by sam"
    quote: str = ""  # the person's own words, shown in full
    links: tuple[tuple[str, str], ...] = field(default=())  # (label, url) of related pages


TimelineSource = Callable[[Contact, int], list[TimelineEntry]]
_sources: dict[str, TimelineSource] = {}


def register_timeline_source(name: str, source: TimelineSource) -> None:
    """Add (or replace, by name) a source of timeline entries."""
    _sources[name] = source


def contact_timeline(*, contact: Contact, limit: int = TIMELINE_STEP
                     ) -> tuple[list[TimelineEntry], bool]:
    """The newest `limit` entries across every source, newest first, and whether
    older ones exist (each source is asked for one more than `limit`)."""
    limit = max(1, min(limit, TIMELINE_MAX))
    entries = [entry for source in _sources.values() for entry in source(contact, limit + 1)]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit], len(entries) > limit


def preference_changes(contact: Contact, limit: int) -> list[TimelineEntry]:
    """Every subscription change of the person's rows: who, what, from where."""
    row_ids = [row.pk for row in preferences_of(contact=contact, email=contact.email or None)]
    changes = (PreferenceChange.objects.filter(Q(contact=contact) | Q(preference_id__in=row_ids))
               .select_related("preference").order_by("-created_at", "-id")[:limit])
    return [TimelineEntry(
        at=change.created_at, kind="preference",
        title=_capitalised(describe_changes(change.changes)),
        raw=f"preference · {change.source}",
        details=(f"by {change.actor or SOURCE_WORDS.get(change.source, change.source)}",
                 f"from {SOURCE_WORDS.get(change.source, change.source)}",
                 change.preference.email),
    ) for change in changes]


# Where a preference change came from, in words.
SOURCE_WORDS = {
    "staff": "the admin",
    "api": "the API",
    "link": "a link in an email",
    "bounce": "a bounce",
    "complaint": "a spam complaint",
    "journey": "a journey",
}


def describe_changes(changes: dict[str, Any]) -> str:
    """{"unsubscribed_all": [false, true]} -> "unsubscribed from everything"."""
    parts = []
    for name, pair in sorted((changes or {}).items()):
        before, after = pair if isinstance(pair, list) and len(pair) == 2 else (None, pair)
        if name == "unsubscribed_all":
            parts.append("unsubscribed from everything" if after else "resubscribed")
        elif name == "suppressed":
            parts.append("suppressed" if after else "suppression lifted")
        elif name == "categories":
            before, after = before or {}, after or {}
            parts += [f"{key}: {'on' if after[key] else 'off'}" for key in sorted(after)
                      if before.get(key) != after[key]]
        else:
            parts.append(f"{name}: {before} → {after}")
    return "; ".join(parts) or "—"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


register_timeline_source("preferences", preference_changes)
