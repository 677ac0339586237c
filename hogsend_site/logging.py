"""Log formatting: the run in hand on every line, and JSON on request.

`RunContextFilter` stamps each record with `run_id` and `contact_key` from the
run the current thread is executing (`journeys.engine.compat.current`, a
ContextVar the runner sets around a journey function), so every line an
engine, mailer or ingest call logs while running a journey says which run and
which person it was about. Both are "" outside a run.

`LOG_FORMAT=json` switches the console to `JsonFormatter`: one JSON object per
line (`time`, `level`, `logger`, `message`, `run_id`, `contact_key`, and
`exc_info` when there is one), for log shippers.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any


def _current_run() -> Any:
    try:
        from journeys.engine.compat import current
    except Exception:  # the apps are not loaded yet (early start-up lines)
        return None
    ctx = current.get()
    return getattr(ctx, "run", None) if ctx is not None else None


class RunContextFilter(logging.Filter):
    """Adds `run_id` and `contact_key` to every record (never filters one out)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "run_id"):
            run = _current_run()
            record.run_id = str(run.pk) if run is not None else ""
            record.contact_key = (run.user_key or "") if run is not None else ""
        return True


class PlainFormatter(logging.Formatter):
    """The default human format, with ` run=… contact=…` appended inside a run."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        run_id = getattr(record, "run_id", "")
        if run_id:
            text += f" run={run_id} contact={getattr(record, 'contact_key', '')}"
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "run_id": getattr(record, "run_id", ""),
            "contact_key": getattr(record, "contact_key", ""),
            "process": record.process,
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def logging_config(*, level: str, fmt: str) -> dict[str, Any]:
    """The LOGGING dict settings.py uses (`fmt` is "plain" or "json")."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"run_context": {"()": "hogsend_site.logging.RunContextFilter"}},
        "formatters": {
            "plain": {"()": "hogsend_site.logging.PlainFormatter",
                      "format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "hogsend_site.logging.JsonFormatter"},
        },
        "handlers": {"console": {"class": "logging.StreamHandler",
                                 "formatter": "json" if fmt == "json" else "plain",
                                 "filters": ["run_context"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.db.backends": {"level": "WARNING"}},
    }
