"""Start-up validation of campaign definitions (messages say what and where)."""

from __future__ import annotations

from django.core.checks import Error, Tags, register

from campaigns.registry import registry


@register(Tags.compatibility)
def check_campaigns(app_configs, **kwargs):
    from campaigns.services import definition_problem

    errors = []
    for definition in registry:
        problem = definition_problem(definition)
        if problem:
            errors.append(Error(f"campaign {definition.id!r} ({definition.source}): {problem}",
                                id="hogsend.E601"))
    return errors
