"""`manage.py prune [--dry-run] [--batch-size N] [--only clicks,opens,logs,tasks,failed-events]`:
delete rows past their retention (PRUNE_*_DAYS settings). Run it daily (cron or
a django-q2 schedule); it is safe to run while everything else runs."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from hogsend_site.prune import DEFAULT_BATCH, RULES, prune


class Command(BaseCommand):
    help = ("Delete raw clicks, open events, finished runs' timelines, task results and "
            "click/open events the clock gave up ingesting, past retention.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="count, delete nothing")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
        parser.add_argument("--only", default="",
                            help=f"comma-separated subset of {', '.join(r.name for r in RULES)}")

    def handle(self, *args, dry_run: bool, batch_size: int, only: str, **options) -> None:
        names = [name.strip() for name in only.split(",") if name.strip()]
        unknown = set(names) - {rule.name for rule in RULES}
        if unknown:
            raise CommandError(f"unknown kind(s): {', '.join(sorted(unknown))}")
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        try:
            report = prune(dry_run=dry_run, batch=batch_size, only=names or None)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        verb = "would delete" if dry_run else "deleted"
        for name, figures in report.items():
            if not figures["days"]:
                self.stdout.write(f"{name}: kept forever (retention 0)")
            else:
                self.stdout.write(f"{name}: {verb} {figures['rows']} row(s) older than "
                                  f"{figures['days']} day(s)")
