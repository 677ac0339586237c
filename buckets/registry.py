"""The bucket registry: discovered from BUCKET_PACKAGES (default
`buckets.definitions`), filtered by ENABLED_BUCKETS, indexed by the event names
and property keys the criteria read, so ingest re-evaluates only the buckets an
event or a property write can affect."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections import defaultdict
from collections.abc import Iterator

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from buckets.definition import Bucket

DEFINITIONS_PACKAGE = "buckets.definitions"


class Registry:
    def __init__(self) -> None:
        self._buckets: dict[str, Bucket] = {}
        self.by_event: dict[str, list[Bucket]] = {}
        self.by_property: dict[str, list[Bucket]] = {}
        # Bumped on every change: the due sources re-sync their state rows then.
        self.version = 0

    def __contains__(self, bucket_id: str) -> bool:
        return bucket_id in self._buckets

    def __iter__(self) -> Iterator[Bucket]:
        return iter(list(self._buckets.values()))

    def __len__(self) -> int:
        return len(self._buckets)

    def get(self, bucket_id: str) -> Bucket | None:
        return self._buckets.get(bucket_id)

    def add(self, bucket: Bucket) -> None:
        existing = self._buckets.get(bucket.id)
        if existing is not None and existing is not bucket:
            raise ImproperlyConfigured(f"bucket id {bucket.id!r} is defined twice "
                                       f"({existing.source} and {bucket.source})")
        self._buckets[bucket.id] = bucket
        self._reindex()

    def remove(self, bucket_id: str) -> None:
        self._buckets.pop(bucket_id, None)
        self._reindex()

    @property
    def time_based(self) -> list[Bucket]:
        return [bucket for bucket in self._buckets.values() if bucket.time_based]

    def _reindex(self) -> None:
        by_event: dict[str, list[Bucket]] = defaultdict(list)
        by_property: dict[str, list[Bucket]] = defaultdict(list)
        for bucket in self._buckets.values():
            for name in bucket.event_names:
                by_event[name].append(bucket)
            for key in bucket.property_keys:
                by_property[key].append(bucket)
        self.by_event, self.by_property = dict(by_event), dict(by_property)
        self.version += 1


registry = Registry()


def discover(package: str = DEFINITIONS_PACKAGE) -> list[Bucket]:
    """Import every module of the package (or the module itself); return its buckets."""
    module = importlib.import_module(package)
    if not hasattr(module, "__path__"):
        return [v for v in vars(module).values() if isinstance(v, Bucket)]
    found: list[Bucket] = []
    for info in pkgutil.iter_modules(module.__path__):
        if info.name.startswith("_"):
            continue
        child = importlib.import_module(f"{package}.{info.name}")
        found.extend(v for v in vars(child).values() if isinstance(v, Bucket))
    return found


def enabled_ids(available: list[str]) -> set[str] | None:
    """Parse ENABLED_BUCKETS (`*` or a comma-separated list); None means all.
    An unknown id fails start-up with a suggestion, as ENABLED_JOURNEYS does."""
    raw = (getattr(settings, "ENABLED_BUCKETS", "*") or "*").strip()
    if raw in ("", "*"):
        return None
    wanted = {part.strip() for part in raw.split(",") if part.strip()}
    for bucket_id in sorted(wanted - set(available)):
        close = difflib.get_close_matches(bucket_id, available, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ImproperlyConfigured(f"ENABLED_BUCKETS names unknown bucket {bucket_id!r}.{hint}")
    return wanted


def load() -> Registry:
    """Discover definitions and fill the registry (called from BucketsConfig.ready)."""
    packages = getattr(settings, "BUCKET_PACKAGES", None) or [DEFINITIONS_PACKAGE]
    buckets = [bucket for package in packages for bucket in discover(package)]
    allowed = enabled_ids([b.id for b in buckets])
    for bucket in buckets:
        if allowed is None or bucket.id in allowed:
            registry.add(bucket)
    return registry
