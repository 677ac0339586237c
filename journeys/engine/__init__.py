"""The authoring API: `from journeys.engine import define_journey, send_email, days, ...`."""

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
from journeys.engine.sends import send_email

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
