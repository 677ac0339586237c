"""The source registry: discovered from `sources/definitions/` (or `SOURCE_PACKAGES`).

A defined source is served only when it is enabled: its secret is set and
`ENABLED_SOURCES` allows it ("*", the default: every source whose secret is
set; a comma-separated list: those; "none": no source). Both are read per
request, so a secret added to the environment needs no code change and a
source without one is never open.
"""

from __future__ import annotations

import importlib
import pkgutil

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from sources.auth import secret_value
from sources.definition import Source

DEFINITIONS_PACKAGE = "sources.definitions"

_sources: dict[str, Source] = {}


def discover(package: str) -> list[Source]:
    """Import every module of the package (or the module itself); return its sources."""
    module = importlib.import_module(package)
    modules = [module]
    if hasattr(module, "__path__"):
        modules = [importlib.import_module(f"{package}.{info.name}")
                   for info in pkgutil.iter_modules(module.__path__)
                   if not info.name.startswith("_")]
    return [value for child in modules for value in vars(child).values()
            if isinstance(value, Source)]


def register(source: Source) -> None:
    existing = _sources.get(source.id)
    if existing is not None and existing is not source:
        raise ImproperlyConfigured(f"webhook source {source.id!r} is defined twice "
                                   f"({existing.module} and {source.module})")
    _sources[source.id] = source


def unregister(source_id: str) -> None:
    _sources.pop(source_id, None)


def load() -> None:
    """Fill the registry from the definitions packages (SourcesConfig.ready)."""
    packages = getattr(settings, "SOURCE_PACKAGES", None) or [DEFINITIONS_PACKAGE]
    for package in packages:
        for source in discover(package):
            register(source)


def all_sources() -> list[Source]:
    return sorted(_sources.values(), key=lambda source: source.id)


def allowed_ids() -> set[str] | None:
    """ENABLED_SOURCES as a set of ids; None means every source."""
    raw = (getattr(settings, "ENABLED_SOURCES", "*") or "*").strip()
    if raw == "*":
        return None
    if raw.lower() == "none":
        return set()
    return {part.strip() for part in raw.split(",") if part.strip()}


def enabled_source(source_id: str) -> Source | None:
    """The source served at /v1/webhooks/<source_id>, or None (answered 404)."""
    source = _sources.get(source_id)
    allowed = allowed_ids()
    if source is None or (allowed is not None and source_id not in allowed):
        return None
    return source if secret_value(source.auth.secret_env) else None


__all__ = ["all_sources", "allowed_ids", "discover", "enabled_source", "load", "register"]
