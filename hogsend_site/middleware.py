"""Admin pages speak the staff's zone.

Django formats every datetime it renders itself (changelist columns, read-only
fields, date filters) in the active time zone, which is UTC unless something
activates another. Activating `STAFF_TIME_ZONE` for admin requests makes those
agree with the pages that format times explicitly (hogsend_site/times.py), so one
screen never mixes two zones. Storage and the API stay UTC.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from hogsend_site.times import staff_zone


class StaffTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith("/admin/"):
            return self.get_response(request)
        timezone.activate(staff_zone())
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
