"""`manage.py check` refuses a brand the emails and pages cannot use."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from hogsend_site.brand import check_brand


@pytest.mark.parametrize("setting", ["BRAND_PRIMARY_COLOR", "BRAND_BACKGROUND_COLOR"])
@pytest.mark.parametrize("value", ["red", "#12345", "#ggg", "#2563eb;}", ""])
def test_a_bad_brand_colour_fails_the_system_check(settings, setting, value):
    setattr(settings, setting, value)
    assert [error.id for error in check_brand(None)] == ["hogsend.E501"]
    with pytest.raises(SystemCheckError, match=setting):
        call_command("check")


@pytest.mark.parametrize("value", ["logo.png", "javascript:alert(1)", "ftp://x.test/l.png",
                                   'https://x.test/l.png"onerror="x'])
def test_a_logo_that_is_no_absolute_web_address_fails_the_system_check(settings, value):
    settings.BRAND_LOGO_URL = value
    assert [error.id for error in check_brand(None)] == ["hogsend.E502"]


def test_good_brand_settings_pass(settings):
    settings.BRAND_PRIMARY_COLOR = "#C2410C"
    settings.BRAND_BACKGROUND_COLOR = "#fff"
    settings.BRAND_LOGO_URL = "https://cdn.acme.test/logo.png"
    assert check_brand(None) == []
