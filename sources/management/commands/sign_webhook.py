"""Sign a payload the way a source's sender would, and print the curl command to post it.

    python manage.py sign_webhook zendesk payload.json
    python manage.py sign_webhook helpscout convo.json -H "X-HelpScout-Event: convo.status"

The secret is the one the server reads (ZENDESK_WEBHOOK_SECRET, ...). Timestamped
schemes (Zendesk, Stripe, Svix) are signed for now: post within five minutes.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sources.auth import secret_value
from sources.registry import all_sources


class Command(BaseCommand):
    help = "Print a curl command posting a payload signed as the source's sender signs it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("source", help="the source id, e.g. zendesk")
        parser.add_argument("payload", help="a file holding the JSON body to send")
        parser.add_argument("-H", "--header", action="append", default=[],
                            help="an extra header to send, 'Name: value' (repeatable)")
        parser.add_argument("--url", default="",
                            help="the server's base URL (default: PUBLIC_BASE_URL)")

    def handle(self, *args: Any, **options: Any) -> None:
        sources = {source.id: source for source in all_sources()}
        source = sources.get(options["source"])
        if source is None:
            raise CommandError(f"unknown source {options['source']!r}; defined: "
                               f"{', '.join(sorted(sources))}")
        secret = secret_value(source.auth.secret_env)
        if not secret:
            raise CommandError(f"{source.auth.secret_env} is not set (in .env or the "
                               "environment): the server would not serve this source either")
        path = Path(options["payload"])
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc}") from exc
        headers = {"Content-Type": "application/json",
                   **source.auth.sign(body, secret, timezone.now())}
        for extra in options["header"]:
            name, _, value = extra.partition(":")
            headers[name.strip()] = value.strip()
        base = (options["url"] or settings.PUBLIC_BASE_URL).rstrip("/")
        parts = ["curl", "-sS", "-X", "POST", f"{base}/v1/webhooks/{source.id}"]
        for name, value in headers.items():
            parts += ["-H", f"{name}: {value}"]
        parts += ["--data-binary", f"@{path}"]
        self.stdout.write(" ".join(shlex.quote(part) for part in parts))
