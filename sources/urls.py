from __future__ import annotations

from django.urls import path

from sources import views

app_name = "sources"

urlpatterns = [
    # One segment only: /v1/webhooks/email/<esp>/tracking/ stays the email provider's.
    path("webhooks/<str:source_id>", views.receive, name="receive"),
]
