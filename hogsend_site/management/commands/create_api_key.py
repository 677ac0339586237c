from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from hogsend_site.auth import api_key_create


class Command(BaseCommand):
    help = (
        "Create an API key. The secret is printed once, on the last line. "
        "A secret key takes --scope; a publishable browser key takes --publishable "
        "and one --origin per web origin that may use it."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--scope", action="append", choices=["ingest", "admin"],
                            help="ingest or admin (admin implies ingest); may repeat")
        parser.add_argument("--publishable", action="store_true",
                            help="a pk_ key for web pages: events and contact upserts only, "
                                 "from the --origin(s) given")
        parser.add_argument("--origin", action="append", default=[],
                            help="with --publishable: an origin such as "
                                 "https://app.example.com; may repeat")

    def handle(self, *args, name: str, scope: list[str] | None, publishable: bool,
               origin: list[str], **options) -> None:
        if publishable and scope:
            raise CommandError("--publishable keys have the ingest-public scope only; "
                               "drop --scope")
        if not publishable and not scope:
            raise CommandError("give --scope ingest|admin, or --publishable with --origin")
        if origin and not publishable:
            raise CommandError("--origin is only for --publishable keys")
        try:
            key, secret = api_key_create(
                name=name, scopes=["ingest-public"] if publishable else scope,
                allowed_origins=origin or None,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        scopes = ", ".join(key.scopes)
        self.stdout.write(f"Created API key {key.name!r} ({scopes}), prefix {key.prefix}.")
        if publishable:
            self.stdout.write(f"Usable from: {', '.join(key.allowed_origins)}.")
            self.stdout.write("Copy this browser key into your web page now; "
                              "it is not shown again:")
        else:
            self.stdout.write("Store this secret now; it is not shown again:")
        self.stdout.write(secret)
