from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class HogsendAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the project's site as `admin.site` (sign-ins throttled)."""

    # Named in INSTALLED_APPS; never the "hogsend_site" entry's own config.
    default = False
    default_site = "hogsend_site.admin_site.HogsendAdminSite"


class HogsendSiteConfig(AppConfig):
    name = "hogsend_site"
    verbose_name = "Hogsend"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        # checks (brand: its own), the OpenAPI auth scheme, the CORS receiver of
        # publishable keys.
        from hogsend_site import brand, browser_keys, checks, schema  # noqa: F401

        post_migrate.connect(_support_group_sync, dispatch_uid="hogsend.support_group_sync")
        # Each qcluster worker, as it spawns: the server's garbage-collector settings.
        post_spawn.connect(_worker_gc_tune, dispatch_uid="hogsend.worker_gc_tune")


def _worker_gc_tune(sender: Any, **kwargs: Any) -> None:
    from hogsend_site.gc_tuning import server_gc_tune

    server_gc_tune()


def _support_group_sync(sender: AppConfig, *, using: str = "default", apps: Any = None,
                        **kwargs: Any) -> None:
    """After migrate (and a test flush): grant the support group the views of every
    model of the product's apps, new ones included (auth's receiver has just
    created the sender's permissions)."""
    from hogsend_site.staff import SUPPORT_APPS, support_group_sync

    if sender.label in SUPPORT_APPS:
        support_group_sync(**({"apps": apps} if apps is not None else {}), using=using)
