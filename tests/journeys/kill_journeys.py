"""A journey for the SIGKILL tests, loaded by worker subprocesses through
JOURNEY_PACKAGES. It pauses (KILL_TEST_PAUSE seconds) after its send so a test
can kill the worker mid-run."""

from __future__ import annotations

import os
import time

from journeys.engine import define_journey


@define_journey(id="kill-test", name="Kill test", trigger="kill.go")
def kill_test(user, ctx):
    ctx.send("feedback/referral-ask")
    ctx.trigger(event="kill.sent")
    time.sleep(float(os.environ.get("KILL_TEST_PAUSE", "0")))
    ctx.trigger(event="kill.after")


class RecordingBackend:
    """A 'provider' that appends every accepted message to a file, after an
    optional delay (the worker can be killed while it waits)."""

    def __init__(self, *args, **kwargs):
        self.fail_silently = kwargs.get("fail_silently", False)

    def send_messages(self, messages):
        time.sleep(float(os.environ.get("KILL_TEST_BACKEND_DELAY", "0")))
        with open(os.environ["KILL_TEST_DELIVERIES"], "a") as log:
            for message in messages:
                log.write(f"{message.to[0]} {message.subject}\n")
        return len(messages)
