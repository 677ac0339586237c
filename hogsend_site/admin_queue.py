"""django-q2's task admins, with their "resubmit" action behind a permission.

django-q2 ships `resubmit_task` without `allowed_permissions`, so anyone who may
view a task list could run every listed task again (and, on failures, delete
the rows). Here it asks for the permission the action exercises. The lists keep
the columns that say what ran and how it went, so they fit a laptop screen.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django_q.admin import FailAdmin, QueueAdmin, ScheduleAdmin, TaskAdmin, resubmit_task
from django_q.models import Failure, OrmQ, Schedule, Success


@admin.action(description="Resubmit selected tasks to queue", permissions=["change"])
def resubmit_successes(modeladmin: admin.ModelAdmin, request: HttpRequest,
                       queryset: QuerySet) -> None:
    resubmit_task(modeladmin, request, queryset)


# A resubmitted failure is deleted from the list once queued again.
@admin.action(description="Resubmit selected tasks to queue", permissions=["delete"])
def resubmit_failures(modeladmin: admin.ModelAdmin, request: HttpRequest,
                      queryset: QuerySet) -> None:
    resubmit_task(modeladmin, request, queryset)


class GuardedTaskAdmin(TaskAdmin):
    actions = [resubmit_successes]
    list_display = ("name", "func", "group", "started", "time_taken")


class GuardedFailAdmin(FailAdmin):
    actions = [resubmit_failures]
    list_display = ("name", "func", "group", "started", "short_result")


class ScheduleListAdmin(ScheduleAdmin):
    list_display = ("name", "func", "schedule_type", "next_run", "get_last_run", "get_success")
    list_display_links = ("name",)


class QueueListAdmin(QueueAdmin):
    list_display = ("name", "func", "group", "lock")


for model, model_admin in ((Success, GuardedTaskAdmin), (Failure, GuardedFailAdmin),
                           (Schedule, ScheduleListAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)

# django-q2 lists its ORM queue only when the ORM is the broker (importing
# django_q.admin above has registered it by now, or not).
if admin.site.is_registered(OrmQ):
    admin.site.unregister(OrmQ)
    admin.site.register(OrmQ, QueueListAdmin)
