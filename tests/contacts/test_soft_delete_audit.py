"""A soft delete leaves an audit row naming who did it, written with the deletion."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts import identity as services
from contacts.identity import contacts_soft_delete
from contacts.models import Contact
from hogsend_site.models import AuditLog

pytestmark = pytest.mark.django_db


def test_the_admin_action_records_who_deleted_each_contact_and_from_where(admin_client, ada):
    bob = Contact.objects.create(external_id="u_bob", email="bob@example.com")
    admin_client.post(reverse("admin:contacts_contact_changelist"),
                      {"action": "soft_delete", "_selected_action": [ada.pk, bob.pk]},
                      REMOTE_ADDR="198.51.100.9")
    rows = AuditLog.objects.order_by("resource_id")
    assert {row.resource_id for row in rows} == {str(ada.pk), str(bob.pk)}
    for row in rows:
        assert (row.actor, row.action, row.resource, row.ip, row.detail) == (
            "admin", "soft-delete contact", "contact", "198.51.100.9", {"source": "admin"})
    assert not Contact.objects.filter(deleted_at__isnull=True).exists()


def test_a_contact_already_deleted_is_neither_counted_nor_audited_again(ada):
    assert contacts_soft_delete(contact_ids=[ada.pk], actor="sam") == 1
    assert contacts_soft_delete(contact_ids=[ada.pk], actor="sam") == 0
    assert AuditLog.objects.filter(resource_id=str(ada.pk)).count() == 1


def test_the_deletion_is_undone_when_its_audit_row_cannot_be_written(ada, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(services, "audit_log_record", broken)
    with pytest.raises(RuntimeError):
        contacts_soft_delete(contact_ids=[ada.pk], actor="sam")
    ada.refresh_from_db()
    assert ada.deleted_at is None


def test_a_delete_through_the_api_is_audited_under_the_key(api, ada):
    before = timezone.now()
    assert api.delete("/v1/contacts", {"userId": "u_ada"}, format="json").status_code == 200
    row = AuditLog.objects.get()
    assert row.actor.startswith("api-key:") and row.resource_id == str(ada.pk)
    assert row.detail == {"source": "api"} and row.created_at >= before
