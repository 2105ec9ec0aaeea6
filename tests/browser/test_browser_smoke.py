"""The browser toolchain end to end: a real server, headless Chromium, a screenshot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request, expect

from browser.conftest import LiveServer

pytestmark = pytest.mark.server


def test_swagger_ui_renders_the_operations_from_the_server_alone(
    live_server: LiveServer, page: Page, screenshot: Callable[[Page, str], Path]
) -> None:
    """/docs renders Swagger UI with the SCIM operations, loading nothing from elsewhere
    (its assets are served locally); the screenshot shows it."""
    elsewhere: list[str] = []

    def note(request: Request) -> None:
        if request.url.startswith("http") and not request.url.startswith(live_server.base_url):
            elsewhere.append(request.url)

    page.on("request", note)
    page.goto(f"{live_server.base_url}/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("concur-scim")
    users = page.locator('.opblock-summary-path[data-path="/scim/v2/Users"]')
    expect(users.first).to_be_visible()
    assert users.count() >= 2  # GET and POST at least

    path = screenshot(page, "swagger-ui")
    assert path.read_bytes().startswith(b"\x89PNG")
    assert elsewhere == []
