"""/v1/docs/ works without internet: Swagger UI comes from this server, pinned."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_api_docs_page_loads_swagger_ui_from_this_server_not_a_cdn():
    page = Client().get("/v1/docs/").content.decode()
    assert "cdn." not in page and "jsdelivr" not in page and "@latest" not in page
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert any("swagger-ui-bundle" in asset for asset in assets)
    for asset in assets:
        response = Client().get(asset)
        assert response.status_code == 200, asset
        response.close()
