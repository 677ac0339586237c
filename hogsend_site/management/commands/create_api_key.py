from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from hogsend_site.auth import api_key_create


class Command(BaseCommand):
    help = "Create an API key. The secret is printed once, on the last line."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--scope", action="append", choices=["ingest", "admin"], required=True,
                            help="ingest or admin (admin implies ingest); may repeat")

    def handle(self, *args, name: str, scope: list[str], **options) -> None:
        try:
            key, secret = api_key_create(name=name, scopes=scope)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        scopes = ", ".join(key.scopes)
        self.stdout.write(f"Created API key {key.name!r} ({scopes}), prefix {key.prefix}.")
        self.stdout.write("Store this secret now; it is not shown again:")
        self.stdout.write(secret)
