"""`manage.py erase_contact <id|email|external id> --actor <who>`: erase one
contact's personal data (contacts/erasure.py) and print what was erased."""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError

from contacts.erasure import contact_erase, contact_resolve_any
from hogsend_site.errors import NotFound


class Command(BaseCommand):
    help = "Erase a contact's personal data everywhere (recorded as an ErasureRecord)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("ref", help="contact id, email address or external id")
        parser.add_argument("--actor", default="", help="who asked (default: the OS user)")

    def handle(self, *args, ref: str, actor: str, **options) -> None:
        try:
            contact = contact_resolve_any(ref)
        except NotFound as exc:
            raise CommandError(f"no contact matches {ref!r}") from exc
        record = contact_erase(contact_id=contact.pk,
                               actor=actor or f"manage.py:{getpass.getuser()}")
        counts = ", ".join(f"{name} {count}" for name, count in sorted(record.counts.items()))
        self.stdout.write(f"Erased contact {contact.pk} ({counts}); record {record.pk}.")
