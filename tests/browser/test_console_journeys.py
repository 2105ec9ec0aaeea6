"""The console's main journeys in headless Chromium against a real ``concur-scim serve``:
sign in, toggle a fault, submit a Bulk through the API and watch its grid complete, open a
failed extension's message, search a user and see every dialect, read a journal entry with
its lint, reset with confirmation. Each journey saves a screenshot of its page
(``test-artifacts/screenshots/``; ``make screenshots`` writes them to ``docs/console/``).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from support.ups import SPEND_USER, bulk_body, full_user, operation

from browser.conftest import LiveServer

pytestmark = pytest.mark.server

Shot = Callable[[Page, str], Path]
WAIT_MS = 30_000


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    """The default company's API client (its bearer token)."""
    headers = {"Authorization": f"Bearer {live_server.token}"}
    with httpx.Client(base_url=live_server.base_url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def admin(live_server: LiveServer) -> Iterator[httpx.Client]:
    """The admin API's client; the worker is resumed and fault rules cleared after a test."""
    headers = {"Authorization": f"Bearer {live_server.admin_token}"}
    with httpx.Client(base_url=live_server.base_url, headers=headers, timeout=30) as client:
        yield client
        client.post("/_admin/worker/resume").raise_for_status()
        client.delete("/_admin/faults").raise_for_status()


@pytest.fixture
def console(page: Page, live_server: LiveServer) -> Page:
    """``page`` signed in to the console through its form."""
    page.goto(f"{live_server.base_url}/console")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    page.get_by_label("Admin token").fill(live_server.admin_token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Companies")).to_be_visible()
    return page


def nav(page: Page, name: str) -> None:
    """Follow the header's link to the page called ``name``."""
    page.locator("header nav").get_by_role("link", name=name, exact=True).click()


def scim_user(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": name, "type": "work", "primary": True}],
        **extra,
    }


def test_sign_in_lands_on_the_companies(
    live_server: LiveServer, page: Page, api: httpx.Client, screenshot: Shot
) -> None:
    """A wrong token is refused on the form; the admin token opens the companies page,
    which counts the default company's live users."""
    api.post("/scim/v2/Users", json=scim_user(f"first-{uuid.uuid4().hex[:8]}@example.com"))
    page.goto(f"{live_server.base_url}/console")
    page.get_by_label("Admin token").fill(live_server.token)  # a company token: not admin
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not the admin token")
    page.get_by_label("Admin token").fill(live_server.admin_token)
    page.get_by_role("button", name="Sign in").click()
    row = page.locator("table.list tbody tr", has_text="default")
    expect(row).to_have_count(1)
    users = int(row.locator("td.num").first.inner_text().replace(",", ""))
    live = api.get("/scim/v2/Users", params={"count": 0}).json()["totalResults"]
    assert users == live >= 1
    screenshot(page, "companies")


def test_a_fault_switch_turns_answers_into_429_and_back(
    console: Page, api: httpx.Client, admin: httpx.Client, screenshot: Shot
) -> None:
    """Turning the Throttle switch on makes the company's next API request answer 429 with
    Retry-After; turning it off restores real answers."""
    nav(console, "Faults")
    switch = console.get_by_role("switch", name="Throttle")
    expect(switch).to_have_attribute("aria-checked", "false")
    switch.click()
    expect(console.get_by_role("status")).to_have_text("Switch turned on.")
    expect(console.get_by_role("switch", name="Throttle")).to_have_attribute("aria-checked", "true")
    throttled = api.get("/scim/v2/Users", params={"count": 1})
    deadline = time.monotonic() + 5  # API processes re-read rules at most once a second
    while throttled.status_code != 429 and time.monotonic() < deadline:
        time.sleep(0.2)
        throttled = api.get("/scim/v2/Users", params={"count": 1})
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "5"
    expect(console.locator("#rules tbody tr")).to_have_count(1)
    screenshot(console, "faults")
    console.get_by_role("switch", name="Throttle").click()
    expect(console.get_by_role("switch", name="Throttle")).to_have_attribute(
        "aria-checked", "false"
    )
    answered = api.get("/scim/v2/Users", params={"count": 1})
    deadline = time.monotonic() + 5
    while answered.status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        answered = api.get("/scim/v2/Users", params={"count": 1})
    assert answered.status_code == 200
    assert admin.get("/_admin/faults").json()["totalResults"] == 0


def test_a_bulk_grid_goes_live_and_opens_a_failed_message(
    console: Page, api: httpx.Client, admin: httpx.Client, screenshot: Shot
) -> None:
    """With the spend extension switched to fail and the worker paused, a Bulk of three
    users shows pending cells; once the worker resumes the grid completes by itself (no
    reload), the spend User cells are failed, and opening one shows Concur's code and
    message."""
    nav(console, "Faults")
    console.get_by_role("switch", name="Spend extension fails").click()
    expect(console.get_by_role("switch", name="Spend extension fails")).to_have_attribute(
        "aria-checked", "true"
    )
    admin.post("/_admin/worker/pause").raise_for_status()
    ops = [operation("POST", "/Users", full_user(), bulk_id=f"u{i}") for i in range(3)]
    submitted = api.post("/profile/v4/Bulk", json=bulk_body(ops))
    assert submitted.status_code == 202, submitted.text
    provision_id = submitted.json()["id"]

    nav(console, "Provisions")
    console.get_by_role("link", name=provision_id).click()
    grid = console.locator("#grid")
    expect(grid.locator(".summary")).to_have_attribute("data-state", "pending")
    expect(grid.locator("tbody tr")).to_have_count(3)
    assert grid.locator("td.cell.pending").count() >= 3

    console.evaluate("window.stillThisPage = true")  # gone if the page were reloaded
    admin.post("/_admin/worker/resume").raise_for_status()
    expect(grid.locator(".summary")).to_have_attribute("data-state", "completed", timeout=WAIT_MS)
    assert console.evaluate("window.stillThisPage") is True  # completed without a reload
    spend = grid.locator(f'td.cell[data-urn="{SPEND_USER}"]')
    expect(spend).to_have_count(3)
    for index in range(3):
        expect(spend.nth(index)).to_have_class(re.compile(r"\bfailed\b"))
    expect(grid.locator("td.cell.failed").first).to_be_visible()
    spend.first.get_by_role("button").click()
    detail = console.locator("#detail")
    expect(detail).to_be_visible()
    expect(detail.locator("#detail-title")).to_contain_text("spend User")
    expect(detail.locator("#detail-body")).to_contain_text("INTERNAL_SERVER_ERROR")
    expect(detail.locator("#detail-body")).to_contain_text('"code": "500"')
    console.set_viewport_size({"width": 1920, "height": 900})  # every extension column
    screenshot(console, "provision")

    nav(console, "Provisions")
    expect(console.locator("#provisions tbody tr", has_text=provision_id)).to_contain_text(
        "completed"
    )
    screenshot(console, "provisions")


def test_a_live_grid_stops_when_the_session_ends(
    console: Page, api: httpx.Client, admin: httpx.Client
) -> None:
    """A pending grid whose session ends (signed out elsewhere, expired) stops refreshing
    and says so; it never draws the sign-in page inside itself."""
    admin.post("/_admin/worker/pause").raise_for_status()
    ops = [operation("POST", "/Users", full_user(), bulk_id="solo")]
    submitted = api.post("/profile/v4/Bulk", json=bulk_body(ops))
    assert submitted.status_code == 202, submitted.text
    console.goto(console.url.split("/console")[0] + f"/console/provisions/{submitted.json()['id']}")
    grid = console.locator("#grid")
    expect(grid.locator(".summary")).to_have_attribute("data-state", "pending")
    console.context.clear_cookies()
    expect(grid.get_by_role("alert")).to_contain_text("the session has ended", timeout=WAIT_MS)
    expect(grid.locator("form")).to_have_count(0)  # no sign-in form drawn inside the grid
    expect(grid).to_have_attribute("data-live", "no")


def test_searching_a_user_opens_it_in_every_dialect(
    console: Page, api: httpx.Client, live_server: LiveServer, screenshot: Shot
) -> None:
    """The filter box finds one user among others; its page shows the user as each API
    answers it (Identity adds Concur's defaults) and its spend and travel views."""
    tag = uuid.uuid4().hex[:8]
    for n in range(3):
        created = api.post("/scim/v2/Users", json=scim_user(f"search-{tag}-{n}@example.com"))
        assert created.status_code == 201, created.text
    wanted = f"search-{tag}-1@example.com"
    nav(console, "Users")
    box = console.get_by_role("searchbox", name="SCIM filter")
    box.fill(f'userName sw "search-{tag}"')
    box.press("Enter")
    expect(console.locator("#users tbody tr")).to_have_count(3)
    screenshot(console, "users")
    box = console.get_by_role("searchbox", name="SCIM filter")
    box.fill(f'userName eq "{wanted}"')
    box.press("Enter")
    expect(console.locator("#users tbody tr")).to_have_count(1)
    box = console.get_by_role("searchbox", name="SCIM filter")
    box.fill("userName zz")
    box.press("Enter")
    expect(console.get_by_role("alert")).to_contain_text("400")
    box = console.get_by_role("searchbox", name="SCIM filter")
    box.fill(f'userName eq "{wanted}"')
    box.press("Enter")
    console.get_by_role("link", name=wanted).click()

    panels = console.locator("section.panel[data-dialect]")
    expect(panels).to_have_count(5)
    titles = [panels.nth(i).get_attribute("data-dialect") for i in range(5)]
    assert titles == ["scim2", "identity-v4", "identity-v4.1", "scim-v4", "ups-v4 user retrieval"]
    generic = console.locator('section[data-dialect="scim2"] pre').inner_text()
    identity = console.locator('section[data-dialect="identity-v4"] pre').inner_text()
    assert wanted in generic
    assert wanted in identity
    assert "America/New_York" in identity
    assert "America/New_York" not in generic
    expect(console.locator('section[data-extension="spend"]')).to_be_visible()
    expect(console.locator('section[data-extension="travel"]')).to_be_visible()
    screenshot(console, "user")


def test_a_journal_entry_shows_its_bodies_and_lint(
    console: Page, api: httpx.Client, screenshot: Shot
) -> None:
    """A write's entry shows the correlation id, the request as sent with the password
    masked, the answer, and what real Concur would do with the body (lint findings)."""
    correlation = str(uuid.uuid4())
    body = scim_user(
        f"lint-{correlation[:8]}@example.com",
        active="true",
        password="Sup3r-secret-pw",
        favouriteColour="teal",
    )
    answer = api.post("/scim/v2/Users", json=body, headers={"concur-correlationid": correlation})
    assert answer.status_code == 201, answer.text
    nav(console, "Journal")
    console.get_by_label("Correlation id").fill(correlation)
    console.get_by_role("button", name="Filter").click()
    rows = console.locator("#journal tbody tr")
    expect(rows).to_have_count(1)
    screenshot(console, "journal")
    rows.first.locator("a").first.click()

    expect(console.locator("dl.facts")).to_contain_text(correlation)
    request = console.locator("#request-body")
    expect(request).to_contain_text("favouriteColour")
    expect(request).to_contain_text("[redacted]")
    assert "Sup3r-secret-pw" not in console.content()
    expect(console.locator("#response-body")).to_contain_text(answer.json()["id"])
    lint = console.locator("#lint tbody")
    expect(lint.locator("tr", has_text="favouriteColour")).to_contain_text("ignore")
    expect(lint.locator("tr", has_text="active")).to_contain_text("coerce")
    screenshot(console, "entry")


def test_reset_needs_its_confirmation(
    console: Page, api: httpx.Client, live_server: LiveServer, screenshot: Shot
) -> None:
    """Reset refuses without RESET typed (nothing deleted), then deletes the default
    company's directory and says what went."""
    api.post("/scim/v2/Users", json=scim_user(f"reset-{uuid.uuid4().hex[:8]}@example.com"))
    before = api.get("/scim/v2/Users", params={"count": 0}).json()["totalResults"]
    assert before >= 1
    nav(console, "Reset")
    what = console.get_by_label("What")
    what.select_option(index=1)  # the default company (the only one)
    screenshot(console, "reset")
    console.locator('input[name="confirm"]').evaluate("e => e.removeAttribute('pattern')")
    console.locator('input[name="confirm"]').fill("reset")
    console.get_by_role("button", name="Reset").click()
    expect(console.get_by_role("alert")).to_contain_text("type RESET")
    assert api.get("/scim/v2/Users", params={"count": 0}).json()["totalResults"] == before
    console.get_by_label("What").select_option(index=1)
    console.locator('input[name="confirm"]').fill("RESET")
    console.get_by_role("button", name="Reset").click()
    expect(console.get_by_role("status")).to_contain_text(f"{before} users")
    assert api.get("/scim/v2/Users", params={"count": 0}).json()["totalResults"] == 0
