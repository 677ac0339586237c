"""Upsert the recurring jobs declared in hogsend_site/schedules.py into django-q2."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hogsend_site import schedules
from hogsend_site.errors import HogsendError
from hogsend_site.services import schedules_sync


class Command(BaseCommand):
    help = "Create, update or delete the django-q2 schedules declared in hogsend_site/schedules.py."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = schedules_sync(declared=schedules.SCHEDULES)
        except HogsendError as exc:
            raise CommandError(exc.message) from exc
        for label, names in (("created", result.created), ("updated", result.updated),
                             ("deleted", result.deleted)):
            for name in names:
                self.stdout.write(f"{label} schedule {name}")
        self.stdout.write(
            f"sync_schedules: {len(result.created)} created, {len(result.updated)} updated, "
            f"{len(result.unchanged)} unchanged, {len(result.deleted)} deleted"
        )
