"""Every successful admin-plane write leaves an audit row; reads and failures do not."""

from __future__ import annotations

import pytest
from django.utils import timezone

from hogsend_site.models import AuditLog
from tests.admin_api.routes import ADMIN_ROUTES

pytestmark = pytest.mark.django_db


def test_a_write_is_recorded_with_actor_action_resource_and_ip(admin_api, ada):
    admin_api.put("/v1/admin/contacts/u_ada/preferences", {"unsubscribedAll": True},
                  format="json", REMOTE_ADDR="198.51.100.7")
    row = AuditLog.objects.get()
    assert (row.actor, row.action, row.resource, row.resource_id, row.ip) == (
        "admin", "PUT contact-preferences", "contact", "u_ada", "198.51.100.7")
    assert row.detail == {"status": 200, "body": {"unsubscribedAll": True}}


def test_reads_are_not_recorded(admin_api, ada):
    for method, path in ADMIN_ROUTES:
        if method == "get":
            admin_api.get(path)
    assert not AuditLog.objects.exists()


def test_failed_writes_are_not_recorded(admin_api, ada):
    admin_api.put("/v1/admin/contacts/nobody/preferences", {"suppressed": True}, format="json")
    admin_api.post("/v1/admin/api-keys", {"name": "x", "scopes": ["root"]}, format="json")
    admin_api.delete("/v1/admin/api-keys/999999")
    assert not AuditLog.objects.exists()


def test_a_create_is_recorded_against_the_new_id(admin_api):
    created = admin_api.post("/v1/admin/api-keys", {"name": "ci", "scopes": ["ingest"]},
                             format="json").json()
    row = AuditLog.objects.get()
    assert (row.action, row.resource, row.resource_id) == ("POST api-keys", "api-key",
                                                           str(created["id"]))
    assert created["key"] not in str(row.detail)
    admin_api.delete(f"/v1/admin/api-keys/{created['id']}")
    assert AuditLog.objects.filter(action="DELETE api-key",
                                   resource_id=str(created["id"])).exists()


def test_the_audit_log_is_listed_newest_first_with_filters(admin_api, ada, clock):
    admin_api.put("/v1/admin/contacts/u_ada/preferences", {"suppressed": True}, format="json")
    clock.shift(3600)
    admin_api.post("/v1/admin/api-keys", {"name": "ci", "scopes": ["ingest"]}, format="json")
    body = admin_api.get("/v1/admin/audit-logs").json()
    assert [e["action"] for e in body["auditLogs"]] == ["POST api-keys",
                                                        "PUT contact-preferences"]
    assert body["total"] == 2 and body["auditLogs"][0]["actor"] == "admin"

    def actions(**params):
        entries = admin_api.get("/v1/admin/audit-logs", params).json()["auditLogs"]
        return [e["action"] for e in entries]

    assert actions(resource="contact") == ["PUT contact-preferences"]
    assert actions(action="POST api-keys") == ["POST api-keys"]
    assert actions(actor="someone else") == []
    half_hour_ago = (timezone.now() - timezone.timedelta(minutes=30)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    assert actions(**{"from": half_hour_ago}) == ["POST api-keys"]
    assert actions(to=half_hour_ago) == ["PUT contact-preferences"]


def test_audit_rows_are_append_only(admin_api, ada):
    admin_api.put("/v1/admin/contacts/u_ada/preferences", {"suppressed": True}, format="json")
    row = AuditLog.objects.get()
    row.actor = "someone else"
    with pytest.raises(ValueError, match="append-only"):
        row.save()
