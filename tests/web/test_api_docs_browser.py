"""/docs renders the API in a real browser with every outside request refused: its files come from the package."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_api_docs_render_with_no_internet(page, maven_server):
    outside = []

    def only_loopback(route):
        if route.request.url.startswith(maven_server.base_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    page.goto(f"{maven_server.base_url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("sellerloop")
    expect(page.locator(".opblock-tag").first).to_be_visible()
    assert outside == []
