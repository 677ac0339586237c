"""One `DeprecationWarning` per call site for the previous author forms.

Once per site, not per call: a journey function re-runs from the top on every
resume, so a per-call warning would repeat for every parked run.
"""

from __future__ import annotations

import sys
import warnings

_warned: set[tuple[str, int, str]] = set()


def warn_once(message: str, *, depth: int = 1, site: tuple[str, int] | None = None) -> None:
    """Warn about a call site once: `site` (file, line), else the frame `depth`
    levels above the caller of this function."""
    if site is None:
        frame = sys._getframe(depth + 1)
        site = (frame.f_code.co_filename, frame.f_lineno)
    if (*site, message) in _warned:
        return
    _warned.add((*site, message))
    warnings.warn_explicit(message, DeprecationWarning, filename=site[0], lineno=site[1])
