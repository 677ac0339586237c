from __future__ import annotations

from django.urls import path

from tracking import api

app_name = "tracking"

urlpatterns = [
    path("events", api.EventIngestApi.as_view(), name="events"),
    path("events/batch", api.EventBatchIngestApi.as_view(), name="events-batch"),
    path("emails", api.EmailSendApi.as_view(), name="emails"),
]
