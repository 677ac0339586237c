"""The client's types hold: the package passes mypy --strict (its own config), and a
caller's code sees results on `Hogsend`, coroutines on `AsyncHogsend`, and a
misspelt keyword as an error."""

from __future__ import annotations

from pathlib import Path

from mypy import api

PACKAGE = Path(__file__).resolve().parents[2] / "clients" / "python"

CALLER = '''
from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, assert_type

from hogsend import (AsyncHogsend, BatchEventResult, Contact, Hogsend, IngestResult,
                     PreferencesBody, RateLimitError)

hs = Hogsend("hsk_x")
assert_type(hs.events.send("signup", user_id="u_1"), IngestResult)
assert_type(hs.contacts.find(email="a@example.com"), list[Contact])
assert_type(hs.events.send_batch([{"name": "signup"}]), list[BatchEventResult])
assert_type(hs.admin.contacts.preferences.update("u_1", unsubscribed_all=True),
            PreferencesBody)


async def caller(ahs: AsyncHogsend) -> None:
    pending = ahs.contacts.find(user_id="u_1")
    _ = assert_type(pending, Coroutine[Any, Any, list[Contact]])
    assert_type(await pending, list[Contact])
    assert_type(await ahs.events.send("signup", user_id="u_1"), IngestResult)
    try:
        await ahs.emails.send(template="welcome", to="a@example.com")
    except RateLimitError as error:
        assert_type(error.retry_after, float | None)

hs.events.send("signup", userId="u_1")
'''


def mypy(*args: str) -> tuple[str, int]:
    out, err, status = api.run([*args, "--no-incremental", "--cache-dir=/dev/null",
                                "--no-error-summary"])
    return out + err, status


def test_the_package_passes_mypy_strict(tmp_path):
    out, status = mypy("--config-file", str(PACKAGE / "pyproject.toml"),
                       str(PACKAGE / "src" / "hogsend"))
    assert (out, status) == ("", 0)


def test_callers_see_results_coroutines_and_their_typos(tmp_path):
    caller = tmp_path / "caller.py"
    caller.write_text(CALLER)
    out, _ = mypy("--strict", str(caller))
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 1, out
    assert 'Unexpected keyword argument "userId"' in errors[0]
    typo_line = CALLER.splitlines().index('hs.events.send("signup", userId="u_1")') + 1
    assert f"caller.py:{typo_line}:" in errors[0]
