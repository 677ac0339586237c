from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from hogsend_site import views
from tracking import public_urls
from tracking.bounces import webhook_views_guarded

# Used when DEBUG is off; the /v1 catch-all below covers the API in both modes.
handler404 = "hogsend_site.errors.json_not_found"
handler500 = "hogsend_site.errors.json_server_error"

v1 = [
    path("", include("contacts.urls")),
    path("", include("tracking.urls")),
    path("", include("campaigns.urls")),
    # The ESP webhooks answer 400, not 500, to a body they cannot parse.
    path("", include((webhook_views_guarded(public_urls.urlpatterns), public_urls.app_name))),
    # Inbound webhook sources (Zendesk, Stripe, ...), beside the ESP webhooks above.
    path("", include("sources.urls")),
    path("admin/", include("hogsend_site.admin_urls")),
    path("schema/", SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
         name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema", authentication_classes=[],
                                                 permission_classes=[]), name="docs"),
    # Keep last: an unknown /v1 path is `404 {"error": "Not Found"}` even under
    # DEBUG, where Django would otherwise render its HTML debug page.
    re_path(r"^(?P<path>.*)$", views.api_not_found, name="not-found"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("v1/", include(v1)),
]
