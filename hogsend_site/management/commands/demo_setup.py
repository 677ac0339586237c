"""`make demo`'s setup: an admin login, an API key and a demo customer.

Idempotent: every run resets the `admin` password (and prints it), keeps an
existing usable `demo` key (its secret was printed when it was made; pass
`--new-key` to revoke it and print a fresh one), and upserts the demo contact.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from contacts.identity import contact_upsert
from hogsend_site.auth import api_key_create, api_keys_revoke
from hogsend_site.models import ApiKey

ADMIN_USERNAME = "admin"
DEMO_KEY_NAME = "demo"
DEMO_CONTACT = {"user_id": "demo-customer", "email": "customer@example.com",
                "tz": "Europe/Prague"}


class Command(BaseCommand):
    help = "Create the demo admin login, API key and customer (safe to run again)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--new-key", action="store_true",
                            help="revoke the existing demo API key and print a new secret")

    def handle(self, *args: Any, new_key: bool, **options: Any) -> None:
        with transaction.atomic():
            password = self._reset_admin()
            secret, existing = self._demo_key(rotate=new_key)
            contact = contact_upsert(**DEMO_CONTACT).contact
        # The same base the emails' links use: it follows PORT unless PUBLIC_BASE_URL
        # names the public address.
        base = settings.PUBLIC_BASE_URL
        lines = [
            "",
            "Hogsend demo is ready.",
            f"  Admin:    {base}/admin/",
            f"  User:     {ADMIN_USERNAME}",
            f"  Password: {password}",
            f"  API docs: {base}/v1/docs/",
            f"  Customer: {contact.email} (userId {contact.external_id}, {contact.timezone})",
        ]
        if secret:
            lines.append(f"  API key:  {secret}")
            lines.append("            (scope admin; shown once, copy it now)")
        else:
            lines.append(f"  API key:  '{DEMO_KEY_NAME}' exists ({existing.prefix}…); its secret "
                         "was shown when it was made.")
            lines.append("            New one: python manage.py demo_setup --new-key")
        lines.append(f"  Health:   curl {base}/healthz")
        if settings.METRICS_TOKEN:
            lines.append(f"  Metrics:  curl -H 'Authorization: Bearer {settings.METRICS_TOKEN}' "
                         f"{base}/metrics")
        else:
            lines.append("  Metrics:  set METRICS_TOKEN in .env to open /metrics")
        self.stdout.write("\n".join(lines))

    def _reset_admin(self) -> str:
        user_model = get_user_model()
        password = secrets.token_urlsafe(12)
        user, _ = user_model.objects.get_or_create(
            username=ADMIN_USERNAME, defaults={"email": "admin@localhost"}
        )
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
        return password

    def _demo_key(self, *, rotate: bool) -> tuple[str | None, ApiKey | None]:
        now = timezone.now()
        usable = ApiKey.objects.filter(name=DEMO_KEY_NAME, revoked_at__isnull=True).exclude(
            expires_at__lte=now)
        if rotate:
            api_keys_revoke(key_ids=list(usable.values_list("pk", flat=True)))
        existing = usable.order_by("created_at").first()
        if existing is not None:
            return None, existing
        _, secret = api_key_create(name=DEMO_KEY_NAME, scopes=[ApiKey.Scope.ADMIN])
        return secret, None
