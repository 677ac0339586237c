from __future__ import annotations

from django.urls import path

from contacts import api

app_name = "contacts"

urlpatterns = [
    path("contacts", api.ContactUpsertApi.as_view(), name="upsert"),
    path("contacts/find", api.ContactFindApi.as_view(), name="find"),
]
