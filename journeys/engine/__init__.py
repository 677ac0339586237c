"""The authoring API; authors import it from `journeys`:

    from journeys import RunContext, User, days, define_journey, hours, minutes
"""

from journeys.engine.compat import send_email
from journeys.engine.conditions import WhereBuilder
from journeys.engine.context import (
    DuplicateLabel,
    JourneyChanged,
    RunContext,
    SleepResult,
    User,
    WaitResult,
)
from journeys.engine.definition import DefinitionError, Journey, define_journey
from journeys.engine.durations import days, hours, minutes, seconds

__all__ = [
    "DefinitionError",
    "DuplicateLabel",
    "Journey",
    "JourneyChanged",
    "RunContext",
    "SleepResult",
    "User",
    "WaitResult",
    "WhereBuilder",
    "days",
    "define_journey",
    "hours",
    "minutes",
    "seconds",
    "send_email",
]
