"""The admin plane's routes, mounted at `/v1/admin/` (see hogsend_site/admin_api.py).

A path answering two methods is one `route(...)` of two operation classes.
"""

from __future__ import annotations

from django.urls import path

from alerts import admin_api as alerts
from buckets import admin_api as buckets
from contacts import admin_api as contacts
from hogsend_site import admin_api as site
from hogsend_site.admin_api import route
from journeys import admin_api as journeys
from tracking import admin_api as tracking

app_name = "admin-api"

urlpatterns = [
    # contacts
    path("contacts", route(contacts.ContactListApi), name="contacts"),
    path("contacts/<str:contact_ref>", route(contacts.ContactDetailApi), name="contact"),
    path("contacts/<str:contact_ref>/preferences",
         route(contacts.ContactPreferencesGetApi, contacts.ContactPreferencesUpdateApi),
         name="contact-preferences"),
    path("contacts/<str:contact_ref>/timeline", route(journeys.ContactTimelineApi),
         name="contact-timeline"),
    # events
    path("events", route(tracking.EventListApi), name="events"),
    path("events/replay", route(tracking.EventReplayApi), name="events-replay"),
    path("events/<int:event_id>", route(tracking.EventDetailApi), name="event"),
    # journeys and their runs
    path("journeys", route(journeys.JourneyListApi), name="journeys"),
    path("journeys/<str:journey_id>",
         route(journeys.JourneyDetailApi, journeys.JourneyUpdateApi), name="journey"),
    path("journeys/<str:journey_id>/states", route(journeys.JourneyStateListApi),
         name="journey-states"),
    path("journeys/<str:journey_id>/states/<uuid:state_id>",
         route(journeys.JourneyStateDetailApi, journeys.JourneyStateCancelApi),
         name="journey-state"),
    path("journeys/<str:journey_id>/states/<uuid:state_id>/retry",
         route(journeys.JourneyStateRetryApi), name="journey-state-retry"),
    path("journeys/<str:journey_id>/enroll", route(journeys.JourneyEnrollApi),
         name="journey-enroll"),
    path("journeys/<str:journey_id>/enroll/batch", route(journeys.JourneyEnrollBatchApi),
         name="journey-enroll-batch"),
    # buckets and their members
    path("buckets", route(buckets.BucketListApi), name="buckets"),
    path("buckets/<str:bucket_id>", route(buckets.BucketDetailApi), name="bucket"),
    path("buckets/<str:bucket_id>/members",
         route(buckets.BucketMemberListApi, buckets.BucketMemberAddApi), name="bucket-members"),
    path("buckets/<str:bucket_id>/members/<str:contact_ref>",
         route(buckets.BucketMemberRemoveApi), name="bucket-member"),
    # emails and templates
    path("emails", route(tracking.EmailListApi), name="emails"),
    path("emails/<uuid:email_id>", route(tracking.EmailDetailApi), name="email"),
    path("emails/<uuid:email_id>/resend", route(tracking.EmailResendApi), name="email-resend"),
    path("templates", route(tracking.TemplateListApi), name="templates"),
    path("templates/<path:key>/preview", route(tracking.TemplatePreviewApi),
         name="template-preview"),
    path("templates/<path:key>/send-test", route(tracking.TemplateSendTestApi),
         name="template-send-test"),
    # operations
    path("api-keys", route(site.ApiKeyListApi, site.ApiKeyCreateApi), name="api-keys"),
    path("api-keys/<int:key_id>", route(site.ApiKeyRevokeApi), name="api-key"),
    path("audit-logs", route(site.AuditLogListApi), name="audit-logs"),
    path("alerts", route(alerts.AlertListApi), name="alerts"),
    path("alerts/<int:alert_id>/acknowledge", route(alerts.AlertAcknowledgeApi),
         name="alert-acknowledge"),
    path("alerts/<int:alert_id>/resolve", route(alerts.AlertResolveApi), name="alert-resolve"),
]
