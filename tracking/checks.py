"""System checks for the email layer: fail closed at start-up, since a misnamed
category would otherwise send mail that no preference switch can turn off.

hogsend.E101  a registered template key has no `.html` + `.txt` pair
hogsend.E102  a template's category is unknown, a channel, or an excluded opt-in list
hogsend.E103  a list id is reserved or malformed
hogsend.W101  an opt-out list used as a category is excluded by ENABLED_LISTS
hogsend.W102  test mode is on: no customer receives email
"""

from __future__ import annotations

from django.core.checks import CheckMessage, Error, Tags, Warning, register

from tracking import categories, templates_registry, test_mode


@register(Tags.templates)
def check_email_templates(app_configs, **kwargs) -> list[CheckMessage]:
    templates_registry.discovered_keys.cache_clear()
    found = templates_registry.discovered_keys()
    errors: list[CheckMessage] = []
    for key, entry in sorted(templates_registry.registered().items()):
        if key not in found:
            errors.append(Error(
                f"Email template {key!r} is registered but templates/emails/{key}.html "
                "and .txt are not both there.", id="hogsend.E101"))
        problem = categories.category_problem(entry.category)
        if problem:
            errors.append(Error(f"Email template {key!r}: {problem}.", id="hogsend.E102"))
        elif entry.category not in categories.BUILT_INS and not categories.is_enabled(
                entry.category):
            errors.append(Warning(f"Email template {key!r} uses list {entry.category!r}, "
                                  "excluded by ENABLED_LISTS.", id="hogsend.W101"))
    return errors


@register(Tags.compatibility)
def check_email_lists(app_configs, **kwargs) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for list_id in categories.all_lists():
        if list_id in categories.RESERVED_IDS or not categories.LIST_ID_RE.match(list_id):
            errors.append(Error(f"Email list id {list_id!r} is reserved or not "
                                "[a-z0-9_-]+.", id="hogsend.E103"))
    return errors


@register(Tags.compatibility)
def check_test_mode(app_configs, **kwargs) -> list[CheckMessage]:
    state = test_mode.status()
    if not state["enabled"]:
        return []
    where = (f"redirected to {state['redirectTo']}" if state["redirectTo"]
             else "blocked (HOGSEND_TEST_EMAIL is empty)")
    return [Warning(f"HOGSEND_TEST_MODE is on: every email is {where}, no customer "
                    "receives anything.", id="hogsend.W102")]
