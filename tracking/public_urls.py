"""Public (no API key) pages linked from emails, mounted under /v1/."""

from __future__ import annotations

from django.urls import include, path

from tracking import views

app_name = "tracking-public"

urlpatterns = [
    path("t/c/<str:link_id>", views.click, name="click"),
    path("t/o/<str:send_id>", views.open_pixel, name="open"),
    path("t/a/<str:link_id>", views.answer, name="answer"),
    path("email/unsubscribe", views.unsubscribe_page, name="unsubscribe"),
    path("email/preferences", views.preferences_page, name="preferences"),
    path("webhooks/email/", include("anymail.urls")),
]
