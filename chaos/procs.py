"""The processes of a fault run: gunicorn, two qclusters and the clock.

Every process is started in a session of its own, so a SIGKILL can take a whole
qcluster (its sentinel, pusher, monitor and workers) down at once, as a crashed
machine or an OOM-killed container would. A process that exits on its own (a
qcluster whose broker was away when it started) is restarted by `supervise()`,
as systemd's `Restart=always` would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_dir: Path
    popen: subprocess.Popen | None = None
    starts: int = 0
    started_at: float = 0.0  # time.monotonic() of the latest start
    exits: list[int] = field(default_factory=list)

    def start(self) -> None:
        log = open(self.log_dir / f"{self.name}.log", "ab")  # noqa: SIM115 (owned by the child)
        self.popen = subprocess.Popen(
            self.argv, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.starts += 1
        self.started_at = time.monotonic()

    @property
    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group (no clean-up of any kind)."""
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.popen.wait(10)

    def terminate(self, timeout: float = 60) -> bool:
        """SIGTERM the main process only (as systemd's KillMode=mixed does); True if it
        exited within `timeout`. Stragglers are then killed."""
        if self.popen is None or self.popen.poll() is not None:
            return True
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
            clean = True
        except subprocess.TimeoutExpired:
            clean = False
        self.kill()
        return clean

    def supervise(self) -> bool:
        """Restart the process if it exited by itself; True when it did."""
        if self.popen is not None and self.popen.poll() is not None:
            self.exits.append(self.popen.returncode)
            self.start()
            return True
        return False


def manage(*args: str) -> list[str]:
    return [sys.executable, "manage.py", *args]


def gunicorn(port: int) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "hogsend_site.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
            "--timeout", "60", "--graceful-timeout", "5"]


def wait_http(port: int, timeout: float = 60) -> None:
    """Block until the web server answers /healthz (any status)."""
    import http.client

    deadline = time.monotonic() + timeout
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
