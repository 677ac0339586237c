"""Every admin-plane operation as (method, example path): the scope, audit and
schema tests walk this list, and a test checks it matches the URLconf."""

from __future__ import annotations

RUN = "00000000-0000-0000-0000-000000000001"
SEND = "00000000-0000-0000-0000-000000000002"

ADMIN_ROUTES = [
    ("get", "/v1/admin/contacts"),
    ("get", "/v1/admin/contacts/u_ada"),
    ("get", "/v1/admin/contacts/u_ada/preferences"),
    ("put", "/v1/admin/contacts/u_ada/preferences"),
    ("get", "/v1/admin/contacts/u_ada/timeline"),
    ("get", "/v1/admin/events"),
    ("get", "/v1/admin/events/1"),
    ("post", "/v1/admin/events/replay"),
    ("get", "/v1/admin/journeys"),
    ("get", "/v1/admin/journeys/support-followup"),
    ("patch", "/v1/admin/journeys/support-followup"),
    ("get", "/v1/admin/journeys/support-followup/states"),
    ("get", f"/v1/admin/journeys/support-followup/states/{RUN}"),
    ("delete", f"/v1/admin/journeys/support-followup/states/{RUN}"),
    ("post", f"/v1/admin/journeys/support-followup/states/{RUN}/retry"),
    ("post", "/v1/admin/journeys/support-followup/enroll"),
    ("post", "/v1/admin/journeys/support-followup/enroll/batch"),
    ("get", "/v1/admin/buckets"),
    ("get", "/v1/admin/buckets/dormant-30d"),
    ("get", "/v1/admin/buckets/dormant-30d/members"),
    ("post", "/v1/admin/buckets/dormant-30d/members"),
    ("delete", "/v1/admin/buckets/dormant-30d/members/u_ada"),
    ("get", "/v1/admin/emails"),
    ("get", f"/v1/admin/emails/{SEND}"),
    ("post", f"/v1/admin/emails/{SEND}/resend"),
    ("get", "/v1/admin/templates"),
    ("get", "/v1/admin/templates/support/followup/preview"),
    ("post", "/v1/admin/templates/support/followup/send-test"),
    ("get", "/v1/admin/api-keys"),
    ("post", "/v1/admin/api-keys"),
    ("delete", "/v1/admin/api-keys/1"),
    ("get", "/v1/admin/audit-logs"),
    ("get", "/v1/admin/alerts"),
    ("post", "/v1/admin/alerts/1/acknowledge"),
    ("post", "/v1/admin/alerts/1/resolve"),
]
