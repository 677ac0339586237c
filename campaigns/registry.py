"""The campaign registry: discovered from CAMPAIGN_PACKAGES (default
`campaigns.definitions`), filtered by ENABLED_CAMPAIGNS."""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Iterator

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from campaigns.definition import CampaignDefinition

DEFINITIONS_PACKAGE = "campaigns.definitions"


class Registry:
    def __init__(self) -> None:
        self._campaigns: dict[str, CampaignDefinition] = {}
        # Bumped on every change: the clock syncs the database again then.
        self.version = 0

    def __contains__(self, campaign_id: str) -> bool:
        return campaign_id in self._campaigns

    def __iter__(self) -> Iterator[CampaignDefinition]:
        return iter(list(self._campaigns.values()))

    def __len__(self) -> int:
        return len(self._campaigns)

    def get(self, campaign_id: str) -> CampaignDefinition | None:
        return self._campaigns.get(campaign_id)

    def add(self, campaign: CampaignDefinition) -> None:
        existing = self._campaigns.get(campaign.id)
        if existing is not None and existing is not campaign:
            raise ImproperlyConfigured(f"campaign id {campaign.id!r} is defined twice "
                                       f"({existing.source} and {campaign.source})")
        self._campaigns[campaign.id] = campaign
        self.version += 1

    def remove(self, campaign_id: str) -> None:
        if self._campaigns.pop(campaign_id, None) is not None:
            self.version += 1


registry = Registry()


def discover(package: str = DEFINITIONS_PACKAGE) -> list[CampaignDefinition]:
    """Import every module of the package (or the module itself); return its campaigns."""
    module = importlib.import_module(package)
    if not hasattr(module, "__path__"):
        return [v for v in vars(module).values() if isinstance(v, CampaignDefinition)]
    found: list[CampaignDefinition] = []
    for info in pkgutil.iter_modules(module.__path__):
        if info.name.startswith("_"):
            continue
        child = importlib.import_module(f"{package}.{info.name}")
        found.extend(v for v in vars(child).values() if isinstance(v, CampaignDefinition))
    return found


def enabled_ids(available: list[str]) -> set[str] | None:
    """Parse ENABLED_CAMPAIGNS (`*` or a comma-separated list); None means all.
    An unknown id fails start-up with a suggestion, as ENABLED_JOURNEYS does."""
    raw = (getattr(settings, "ENABLED_CAMPAIGNS", "*") or "*").strip()
    if raw in ("", "*"):
        return None
    wanted = {part.strip() for part in raw.split(",") if part.strip()}
    for campaign_id in sorted(wanted - set(available)):
        close = difflib.get_close_matches(campaign_id, available, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ImproperlyConfigured(
            f"ENABLED_CAMPAIGNS names unknown campaign {campaign_id!r}.{hint}")
    return wanted


def load() -> Registry:
    """Discover definitions and fill the registry (called from CampaignsConfig.ready)."""
    packages = getattr(settings, "CAMPAIGN_PACKAGES", None) or [DEFINITIONS_PACKAGE]
    campaigns = [campaign for package in packages for campaign in discover(package)]
    allowed = enabled_ids([c.id for c in campaigns])
    for campaign in campaigns:
        if allowed is None or campaign.id in allowed:
            registry.add(campaign)
    return registry
