"""The "support" staff group: what support staff may see and do in the admin.

They view every table of the product's apps, and act only through the
console's actions: exit, retry and enrol runs (`journeys.change_journeyrun`),
acknowledge and resolve alerts (`alerts.change_alert`), write preferences
through the audited service (`contacts.change_emailpreference`), replay
events (`tracking.replay_userevent`) and add or remove bucket members by hand
(`buckets.change_bucketmembership`, through the audited service). They see
broadcasts (a customer asks why an email came) but cancelling one is an
operator's decision, so no campaign action is granted. History tables
(events, sends, clicks, the run timeline and journal) get no add, change or
delete permission.

`support_group_sync` only ever adds permissions, so an operator's own grants
survive it. The data migration `hogsend_site.0003_support_group` creates the
group; a post_migrate receiver (HogsendSiteConfig) runs it again after every
migrate, so the views of models added later are granted too.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps
from django.db.models import Q

SUPPORT_GROUP = "support"
SUPPORT_APPS = ("hogsend_site", "contacts", "tracking", "journeys", "alerts", "buckets",
                "campaigns")
SUPPORT_ACTIONS = (
    ("journeys", "change_journeyrun"),
    ("alerts", "change_alert"),
    ("contacts", "change_emailpreference"),
    ("tracking", "replay_userevent"),
    ("buckets", "change_bucketmembership"),
)


def support_permissions_q() -> Q:
    query = Q(content_type__app_label__in=SUPPORT_APPS, codename__startswith="view_")
    for app_label, codename in SUPPORT_ACTIONS:
        query |= Q(content_type__app_label=app_label, codename=codename)
    return query


def support_group_sync(*, apps: Any = global_apps, using: str = "default") -> Any:
    """Create the support group (once) and grant it the permissions above.

    `apps` is the migration state inside a migration, the live registry elsewhere.
    """
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    group, _ = group_model.objects.using(using).get_or_create(name=SUPPORT_GROUP)
    granted = permission_model.objects.using(using).filter(support_permissions_q())
    group.permissions.add(*granted)
    return group
