"""`manage.py startjourney <id>`: a journey, its emails and a test that passes."""

from __future__ import annotations

import copy
import importlib.util
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import override_settings

from journeys.management.commands.startjourney import Command
from tracking import templates_registry


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A throwaway definitions package, template root and tests folder on sys.path."""
    (tmp_path / "myjourneys").mkdir()
    (tmp_path / "myjourneys" / "__init__.py").write_text("")
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in [n for n in sys.modules if n.startswith("myjourneys")]:
        del sys.modules[name]


def start(project: Path, journey_id: str, *extra: str) -> str:
    out = StringIO()
    call_command(
        "startjourney", journey_id, "--package", "myjourneys",
        "--templates-dir", str(project / "templates"), "--tests-dir", str(project / "tests"),
        *extra, stdout=out,
    )
    return out.getvalue()


@pytest.fixture
def templates_in(project: Path) -> Iterator[None]:
    """Let the template registry find the project's emails as it finds TEMPLATES DIRS."""
    engines = copy.deepcopy(settings.TEMPLATES)
    engines[0]["DIRS"] = [project / "templates", *engines[0]["DIRS"]]
    templates_registry.discovered_keys.cache_clear()
    with override_settings(TEMPLATES=engines):
        yield
    templates_registry.discovered_keys.cache_clear()


def test_it_writes_a_journey_its_emails_and_a_test_and_says_where(project):
    output = start(project, "welcome-series", "--trigger", "account.created")

    journey = project / "myjourneys" / "welcome_series.py"
    emails = project / "templates" / "emails" / "welcome-series"
    test = project / "tests" / "test_journey_welcome_series.py"
    assert journey.is_file() and test.is_file()
    assert sorted(p.name for p in emails.iterdir()) == [
        "nudge.html", "nudge.txt", "welcome.html", "welcome.txt"]
    assert 'trigger="account.created"' in journey.read_text()
    for path in (journey, test, emails):
        assert str(path) in output
    assert f"Run its test: .venv/bin/pytest {test}" in output


def test_the_generated_test_passes_against_the_generated_journey(project, templates_in, db):
    start(project, "welcome-series")
    path = project / "tests" / "test_journey_welcome_series.py"
    spec = importlib.util.spec_from_file_location("generated_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    tests = [fn for name, fn in vars(module).items() if name.startswith("test_")]
    assert len(tests) == 3
    for test in tests:
        test(db)
    assert module.journey.id == "welcome-series"
    assert module.journey.name == "Welcome series"


def test_it_refuses_an_id_that_is_already_a_journey(project):
    with pytest.raises(CommandError, match="'support-followup' already exists"):
        start(project, "support-followup")
    assert not (project / "myjourneys" / "support_followup.py").exists()


def test_it_refuses_to_overwrite_and_writes_nothing_when_any_file_exists(project):
    emails = project / "templates" / "emails" / "welcome-series"
    emails.mkdir(parents=True)
    (emails / "nudge.txt").write_text("mine")
    with pytest.raises(CommandError, match=r"refusing to overwrite .*nudge\.txt"):
        start(project, "welcome-series")
    assert (emails / "nudge.txt").read_text() == "mine"
    assert not (project / "myjourneys" / "welcome_series.py").exists()
    assert not (project / "tests").exists()


@pytest.mark.parametrize("bad", ["Welcome", "welcome series", "1st-touch", "a--b", "b-", "x" * 41,
                                 "a:b"])
def test_it_refuses_an_invalid_id_with_what_to_write(project, bad):
    with pytest.raises(CommandError, match="use a lower-case slug like 'welcome-series'"):
        start(project, bad)


def test_it_refuses_a_python_keyword(project):
    with pytest.raises(CommandError, match="'class' is a Python keyword"):
        start(project, "class")


def test_it_refuses_a_package_it_cannot_import(project):
    with pytest.raises(CommandError, match="cannot import package 'nowhere_pkg'"):
        call_command("startjourney", "welcome", "--package", "nowhere_pkg")


def test_by_default_it_writes_where_discovery_and_the_template_registry_look():
    scaffold = Command()._scaffold(
        "welcome-series", "welcome_series",
        {"package": "journeys.definitions", "templates_dir": "", "tests_dir": ""},
    )
    base = Path(settings.BASE_DIR)
    assert scaffold.journey == base / "journeys" / "definitions" / "welcome_series.py"
    assert base / "templates" / "emails" / "welcome-series" / "welcome.html" in scaffold.templates
    assert scaffold.test == base / "tests" / "journeys" / "test_journey_welcome_series.py"
