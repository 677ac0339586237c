from __future__ import annotations

from django.urls import path

from campaigns import api

app_name = "campaigns"

urlpatterns = [
    path("campaigns", api.CampaignsApi.as_view(), name="campaigns"),
    path("campaigns/<str:campaign_id>", api.CampaignDetailApi.as_view(), name="campaign"),
    path("campaigns/<str:campaign_id>/cancel", api.CampaignCancelApi.as_view(),
         name="campaign-cancel"),
]
