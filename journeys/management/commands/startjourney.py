"""`manage.py startjourney <id>`: a journey module, its two emails and a passing test.

The files are a starting point that already works end to end: the journey is
discovered at start-up like any other, its templates are found by the template
registry, and its test runs it in the harness's virtual time.
"""

from __future__ import annotations

import importlib
import keyword
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from journeys.engine.registry import DEFINITIONS_PACKAGE, registry

# Stricter than what define_journey accepts: the id also names a module, a function
# and a template folder.
SLUG_RE = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
GOAL_EVENT = "user.activated"

JOURNEY = Template('''"""$name: a welcome, then a nudge after three quiet days.

Written by `manage.py startjourney $id`.
Its emails are templates/emails/$id/.
Change the trigger, the wait and the emails, then run its test:

    .venv/bin/pytest $test_path
"""

from __future__ import annotations

from journeys import RunContext, User, days, define_journey, hours


@define_journey(
    id="$id",
    name="$name",
    trigger="$trigger",
    entry_limit="once",
    suppress=hours(12),
    exit_on=["user.deleted"],
)
def $function(user: User, ctx: RunContext) -> None:
    if not ctx.guard.is_subscribed():
        return
    ctx.send(
        "$id/welcome",
        subject="Welcome!",
        props={"name": user.properties.get("name", "")},
    )
    goal = ctx.wait_for_event("$goal", timeout=days(3), label="await-activation")
    if goal.timed_out and ctx.guard.is_subscribed():
        ctx.send(
            "$id/nudge",
            subject="Need a hand getting started?",
        )
''')

TEST = Template('''"""$name, run in virtual time by the journey harness."""

from __future__ import annotations

$imports

WELCOME = "$id/welcome"
NUDGE = "$id/nudge"


def test_it_welcomes_then_nudges_when_nothing_happens(db: None) -> None:
    result = JourneyHarness(journey).run(properties={"name": "Ada"})
    assert [email.template_key for email in result.sent()] == [WELCOME, NUDGE]
    welcome, nudge = result.sent()
    assert nudge.sent_at == welcome.sent_at + days(3)
    assert result.status == "completed"


def test_activating_within_three_days_skips_the_nudge(db: None) -> None:
    h = JourneyHarness(journey)
    h.event("$goal", at=days(1))
    result = h.run(properties={"name": "Ada"})
    assert [email.template_key for email in result.sent()] == [WELCOME]


def test_an_unsubscribed_person_gets_nothing(db: None) -> None:
    h = JourneyHarness(journey)
    h.unsubscribe(at=days(-1))
    assert h.run().sent() == []
''')

WELCOME_HTML = '''{% extends "emails/base.html" %}
{% block content %}
<h1>Welcome{% if name %}, {{ name }}{% endif %}!</h1>
<p>Thanks for signing up. Here is the one thing worth doing first.</p>
{% endblock %}
'''
WELCOME_TXT = '''Welcome{% if name %}, {{ name }}{% endif %}!

Thanks for signing up. Here is the one thing worth doing first.

{% include "emails/_partials/footer.txt" %}
'''
NUDGE_HTML = '''{% extends "emails/base.html" %}
{% block content %}
<h1>Need a hand getting started?</h1>
<p>Reply to this email and tell us where you got stuck.</p>
{% endblock %}
'''
NUDGE_TXT = '''Need a hand getting started?

Reply to this email and tell us where you got stuck.

{% include "emails/_partials/footer.txt" %}
'''


@dataclass(frozen=True)
class Scaffold:
    journey: Path
    templates: dict[Path, str]
    test: Path

    @property
    def paths(self) -> list[Path]:
        return [self.journey, *self.templates, self.test]


class Command(BaseCommand):
    help = "Write a journey module, its email templates and a passing harness test."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("journey_id", help="a lower-case slug, e.g. welcome-series")
        parser.add_argument("--trigger", default="user.signed_up",
                            help="the event that starts the journey (default user.signed_up)")
        parser.add_argument("--name", default="", help="display name (default from the id)")
        parser.add_argument("--package", default=DEFINITIONS_PACKAGE,
                            help="the definitions package to write into")
        parser.add_argument("--templates-dir", default="",
                            help="template root holding emails/ (default TEMPLATES DIRS[0])")
        parser.add_argument("--tests-dir", default="",
                            help="where the test goes (default tests/journeys)")

    def handle(self, *args: Any, **options: Any) -> None:
        journey_id = options["journey_id"]
        if not SLUG_RE.match(journey_id) or len(journey_id) > 40:
            raise CommandError(
                f"invalid journey id {journey_id!r}: use a lower-case slug like "
                "'welcome-series' (letters and digits, single - or _ between words, "
                "starting with a letter, at most 40 characters)"
            )
        module = journey_id.replace("-", "_")
        if keyword.iskeyword(module):
            raise CommandError(f"invalid journey id {journey_id!r}: {module!r} is a Python keyword")
        scaffold = self._scaffold(journey_id, module, options)
        self._refuse_existing(journey_id, scaffold)
        self._write(journey_id, module, scaffold, options)
        self._report(journey_id, scaffold)

    def _scaffold(self, journey_id: str, module: str, options: dict[str, Any]) -> Scaffold:
        try:
            package = importlib.import_module(options["package"])
        except ImportError as exc:
            raise CommandError(f"cannot import package {options['package']!r}: {exc}") from exc
        if not hasattr(package, "__path__"):
            raise CommandError(f"{options['package']!r} is a module, not a package")
        emails = self._templates_root(options["templates_dir"]) / "emails" / journey_id
        tests = Path(options["tests_dir"] or Path(settings.BASE_DIR) / "tests" / "journeys")
        return Scaffold(
            journey=Path(next(iter(package.__path__))) / f"{module}.py",
            templates={
                emails / "welcome.html": WELCOME_HTML, emails / "welcome.txt": WELCOME_TXT,
                emails / "nudge.html": NUDGE_HTML, emails / "nudge.txt": NUDGE_TXT,
            },
            test=tests / f"test_journey_{module}.py",
        )

    def _templates_root(self, given: str) -> Path:
        if given:
            return Path(given)
        dirs = settings.TEMPLATES[0].get("DIRS") if settings.TEMPLATES else None
        if not dirs:
            raise CommandError("TEMPLATES has no DIRS entry: pass --templates-dir")
        return Path(dirs[0])

    def _refuse_existing(self, journey_id: str, scaffold: Scaffold) -> None:
        """Nothing is written unless every file is new: no half-made journey."""
        existing = registry.get(journey_id)
        if existing is not None:
            raise CommandError(
                f"a journey with id {journey_id!r} already exists (in {existing.source})"
            )
        taken = [path for path in scaffold.paths if path.exists()]
        if taken:
            raise CommandError(
                f"journey {journey_id!r}: refusing to overwrite "
                + ", ".join(_shown(path) for path in taken)
            )

    def _write(self, journey_id: str, module: str, scaffold: Scaffold,
               options: dict[str, Any]) -> None:
        values = {
            "id": journey_id,
            "name": options["name"] or journey_id.replace("-", " ").replace("_", " ").capitalize(),
            "trigger": options["trigger"],
            "goal": GOAL_EVENT,
            "function": module,
            "module": module,
            "package": options["package"],
            "test_path": _shown(scaffold.test),
            "imports": _test_imports(options["package"], module),
        }
        scaffold.journey.write_text(JOURNEY.substitute(values))
        for path, text in scaffold.templates.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        scaffold.test.parent.mkdir(parents=True, exist_ok=True)
        scaffold.test.write_text(TEST.substitute(values))

    def _report(self, journey_id: str, scaffold: Scaffold) -> None:
        templates = sorted({_shown(path.with_suffix("")) for path in scaffold.templates})
        self.stdout.write(self.style.SUCCESS(f"Created journey {journey_id!r}:"))
        self.stdout.write(f"  journey    {_shown(scaffold.journey)}")
        self.stdout.write(f"  templates  {', '.join(t + '.html/.txt' for t in templates)}")
        self.stdout.write(f"  test       {_shown(scaffold.test)}")
        self.stdout.write(f"Run its test: .venv/bin/pytest {_shown(scaffold.test)}")


def _test_imports(package: str, module: str) -> str:
    """The generated test's imports, in the order the project's isort rules want."""
    lines = {
        "journeys": "from journeys import days",
        "journeys.testing": "from journeys.testing import JourneyHarness",
        f"{package}.{module}": f"from {package}.{module} import {module} as journey",
    }
    return "\n".join(lines[name] for name in sorted(lines))


def _shown(path: Path) -> str:
    """A path relative to the project when inside it (what to type), else absolute."""
    try:
        return str(path.resolve().relative_to(Path(settings.BASE_DIR).resolve()))
    except ValueError:
        return str(path)
