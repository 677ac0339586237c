"""django-q2's task admins, with their "resubmit" action behind a permission.

django-q2 ships `resubmit_task` without `allowed_permissions`, so anyone who may
view a task list could run every listed task again (and, on failures, delete
the rows). Here it asks for the permission the action exercises.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django_q.admin import FailAdmin, TaskAdmin, resubmit_task
from django_q.models import Failure, Success


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


class GuardedFailAdmin(FailAdmin):
    actions = [resubmit_failures]


for model, model_admin in ((Success, GuardedTaskAdmin), (Failure, GuardedFailAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
