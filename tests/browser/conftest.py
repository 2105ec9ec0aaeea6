"""Fixtures of the browser tests: one real server, one headless Chromium, pages, screenshots.

Chromium is the distribution's build (Debian's ``chromium``, installed by
scripts/ensure-test-tools.sh), driven through playwright's sync API; playwright's own
browser downloads are never used. ``CONCUR_SCIM_CHROMIUM`` names another executable. A
missing browser fails the tests, it does not skip them.

Screenshots go to ``test-artifacts/screenshots/`` under the repository root, or to
``CONCUR_SCIM_SCREENSHOT_DIR``; CI keeps them as artefacts.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright
from support.banner import serving

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}

Screenshot = Callable[[Page, str], Path]


@dataclass(frozen=True)
class LiveServer:
    """A running ``concur-scim serve``: its origin and the tokens its banner printed."""

    base_url: str  # http://127.0.0.1:PORT, no trailing slash
    token: str  # the default company's bearer token
    admin_token: str  # the /_admin API's bearer token


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium executable: ``CONCUR_SCIM_CHROMIUM``, else the first of
    ``CHROMIUM_NAMES`` on PATH."""
    override = os.environ.get("CONCUR_SCIM_CHROMIUM")
    for name in [override] if override else CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    wanted = f"CONCUR_SCIM_CHROMIUM={override}" if override else " or ".join(CHROMIUM_NAMES)
    pytest.fail(
        f"no Chromium for the browser tests ({wanted} not found):"
        " run `bash scripts/ensure-test-tools.sh` (as root it installs Debian's chromium)",
        pytrace=False,
    )


@pytest.fixture(scope="package")
def browser(chromium_path: str) -> Iterator[Browser]:
    """One headless Chromium for the browser tests. Playwright passes ``--no-sandbox``
    (needed as root) and ``--disable-dev-shm-usage`` itself.

    Package-scoped, not session-scoped: while playwright's sync API is started, the main
    thread counts as running its event loop between calls, so an ``asyncio.run()`` in a
    later test elsewhere would fail; it stops once the last test of tests/browser/ is done.
    """
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page, ``VIEWPORT`` in size, in a context of its own: no cookies or storage shared
    with other tests."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def screenshot() -> Screenshot:
    """``screenshot(page, name)``: the whole page as ``<name>.png`` in the screenshot
    directory (created when missing); returns the file's path."""
    directory = Path(
        os.environ.get("CONCUR_SCIM_SCREENSHOT_DIR") or ROOT / "test-artifacts" / "screenshots"
    )

    def take(page: Page, name: str) -> Path:
        if not name or Path(name).name != name:
            raise ValueError(f"a file name, not a path: {name!r}")
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name.removesuffix('.png')}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One ``concur-scim serve --port 0`` on a new SQLite file for the session
    (tests/support/banner.py), with the admin API on (it is, on loopback)."""
    with serving(tmp_path_factory.mktemp("browser") / "browser.db") as banner:
        yield LiveServer(
            base_url=banner.base, token=banner.token, admin_token=banner.value("admin token:")
        )
