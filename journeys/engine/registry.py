"""The journey registry: discovered from `journeys/definitions/`, filtered by
`ENABLED_JOURNEYS`, indexed by trigger and exit event for ingest."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from journeys.engine.definition import Journey

DEFINITIONS_PACKAGE = "journeys.definitions"


class Registry:
    def __init__(self) -> None:
        self._journeys: dict[str, Journey] = {}
        self.by_trigger: dict[str, list[Journey]] = defaultdict(list)
        self.by_exit: dict[str, list[Journey]] = defaultdict(list)

    def __contains__(self, journey_id: str) -> bool:
        return journey_id in self._journeys

    def __iter__(self):
        return iter(self._journeys.values())

    def get(self, journey_id: str) -> Journey | None:
        return self._journeys.get(journey_id)

    def add(self, journey: Journey) -> None:
        existing = self._journeys.get(journey.id)
        if existing is not None and existing.run is not journey.run:
            raise ImproperlyConfigured(
                f"journey id {journey.id!r} is defined twice "
                f"({existing.source} and {journey.source})"
            )
        self._journeys[journey.id] = journey
        self._reindex()

    def remove(self, journey_id: str) -> None:
        self._journeys.pop(journey_id, None)
        self._reindex()

    def _reindex(self) -> None:
        self.by_trigger = defaultdict(list)
        self.by_exit = defaultdict(list)
        for journey in self._journeys.values():
            self.by_trigger[journey.trigger_event].append(journey)
            for event in journey.exit_events:
                self.by_exit[event].append(journey)


registry = Registry()


def discover(package: str = DEFINITIONS_PACKAGE) -> list[Journey]:
    """Import every module of the definitions package; return the journeys found."""
    found: list[Journey] = []
    module = importlib.import_module(package)
    if not hasattr(module, "__path__"):  # a plain module, not a package
        return [v for v in vars(module).values() if isinstance(v, Journey)]
    for info in pkgutil.iter_modules(module.__path__):
        if info.name.startswith("_"):
            continue
        child = importlib.import_module(f"{package}.{info.name}")
        found.extend(v for v in vars(child).values() if isinstance(v, Journey))
    return found


def enabled_ids(available: list[str]) -> set[str] | None:
    """Parse ENABLED_JOURNEYS; None means all. Unknown ids fail with a suggestion."""
    raw = (getattr(settings, "ENABLED_JOURNEYS", "*") or "*").strip()
    if raw in ("", "*"):
        return None
    wanted = {part.strip() for part in raw.split(",") if part.strip()}
    for journey_id in sorted(wanted - set(available)):
        cutoff = max(2, len(journey_id) // 3)
        close = [c for c in available if _distance(journey_id, c) <= cutoff]
        close = close or difflib.get_close_matches(journey_id, available, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ImproperlyConfigured(f"ENABLED_JOURNEYS names unknown journey {journey_id!r}.{hint}")
    return wanted


def _distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def load() -> Registry:
    """Discover definitions and fill the registry (called from JourneysConfig.ready)."""
    packages = getattr(settings, "JOURNEY_PACKAGES", None) or [DEFINITIONS_PACKAGE]
    journeys = [journey for package in packages for journey in discover(package)]
    allowed = enabled_ids([j.id for j in journeys])
    for journey in journeys:
        if allowed is None or journey.id in allowed:
            registry.add(journey)
    return registry
