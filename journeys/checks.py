"""Start-up validation of journey definitions (messages say what and where)."""

from __future__ import annotations

from django.core.checks import Error, Tags, register

from journeys.engine.registry import registry


@register(Tags.compatibility)
def check_journeys(app_configs, **kwargs):
    errors = []
    for journey in registry:
        for rule in journey.exit_on:
            if rule.event == journey.trigger_event and not rule.where:
                errors.append(
                    Error(
                        f"journey {journey.id!r} ({journey.source}) exits on its own trigger "
                        f"{rule.event!r} with no where: every new trigger would end the "
                        "previous run.",
                        id="hogsend.E201",
                    )
                )
        if journey.entry_limit != "once_per_period" and journey.entry_period is not None:
            errors.append(
                Error(
                    f"journey {journey.id!r} ({journey.source}) sets entry_period but "
                    f"entry_limit is {journey.entry_limit!r}; entry_period only applies to "
                    "'once_per_period'.",
                    id="hogsend.E202",
                )
            )
        if journey.category is not None:
            from tracking.categories import category_problem

            problem = category_problem(journey.category)
            if problem:
                errors.append(Error(f"journey {journey.id!r} ({journey.source}): {problem}",
                                    id="hogsend.E203"))
    return errors
