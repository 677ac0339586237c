from __future__ import annotations

from django.urls import path

from tracking import api, lists_api

app_name = "tracking"

urlpatterns = [
    path("events", api.EventIngestApi.as_view(), name="events"),
    path("events/batch", api.EventBatchIngestApi.as_view(), name="events-batch"),
    path("emails", api.EmailSendApi.as_view(), name="emails"),
    path("lists", lists_api.ListsApi.as_view(), name="lists"),
    path("lists/preferences", lists_api.ListPreferencesApi.as_view(), name="lists-preferences"),
    path("lists/<str:list_id>/subscribe", lists_api.ListSubscribeApi.as_view(),
         name="lists-subscribe"),
    path("lists/<str:list_id>/unsubscribe", lists_api.ListUnsubscribeApi.as_view(),
         name="lists-unsubscribe"),
]
