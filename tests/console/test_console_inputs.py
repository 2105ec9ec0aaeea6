"""Property: no input of any console route makes it fail. Generated query parameters, path
segments and form fields (any text: markup, digits of other scripts such as "²", huge
numbers, NUL, quotes, filter syntax) are answered with a page (200, 303, 400, 403, 404 or
413), never a 500 or a 422, never JSON, always with the console's security headers, never a
redirect to sign in (the session holds); and a reset not confirmed with ``RESET`` deletes
nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.admin import admin_session

from console.test_console_pages import (
    ORIGIN,
    Console,
    admin_token,
    assert_console_headers,
    browser,
    create_user,
    csrf_of,
    default_company,
)

# Signed in, a page never redirects: a 303 to the sign-in form would mean the session
# was lost, and every other answer would go unchecked.
PAGE_ANSWERS = {200, 400, 404}
FORM_ANSWERS = {200, 303, 400, 404, 413}
FUZZ = settings(
    max_examples=120,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
# Text a browser can put in a URL or a form: anything but lone surrogates, plus values
# chosen to reach the parsers' edges.
EDGES = (
    "²",
    "٣",
    "99999999999999999999999",
    "9223372036854775808",
    "-1",
    "0",
    "1e3",
    "\x00",
    'userName eq "',
    "userName sw",
    "((",
    "emails[type eq",
    "<script>alert(1)</script>",
    "%2e%2e",
    "4xx",
    "6xx",
    "2026-13-40T25:61:00Z",
    "pending",
    "completed",
    "failed",
)
TEXT = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=60),
    st.sampled_from(EDGES),
)
# Every page and the query parameters it reads ({c}: the company, {u}: a user).
PAGES = {
    "/console": (),
    "/console/companies/{c}/Users": ("filter", "after"),
    "/console/companies/{c}/Users/{u}": (),
    "/console/provisions": ("company", "state", "startIndex"),
    "/console/provisions/{x}": ("start", "state"),
    "/console/provisions/{x}/grid": ("start", "state"),
    "/console/journal": (
        "company",
        "dialect",
        "method",
        "status",
        "path",
        "correlationId",
        "since",
        "startIndex",
    ),
    "/console/journal/{x}": (),
    "/console/faults": ("company",),
    "/console/reset": (),
    "/console/login": ("next",),
}


@pytest.fixture
def console(client: TestClient) -> Iterator[Console]:
    """A signed-in browser; fault rules and the worker are restored afterwards."""
    with admin_session(client):
        http = browser(client)
        try:
            signed = http.post(
                "/console/login", data={"token": admin_token(client)}, follow_redirects=False
            )
            assert signed.status_code == 303, signed.text
            page = http.get("/console/faults")
            yield Console(http, http.cookies["concur_scim_console"], csrf_of(page.text))
        finally:
            http.close()


def _checked(answer: Response, allowed: set[int]) -> None:
    assert answer.status_code in allowed, (answer.status_code, answer.text[:500])
    assert not answer.headers.get("location", "").startswith("/console/login?next="), (
        "the session was lost"
    )
    if answer.status_code != 303:
        assert answer.headers["content-type"].startswith("text/html"), answer.headers
    assert_console_headers(answer)


def test_no_page_fails_on_any_edge_value(client: TestClient, console: Console) -> None:
    """Every edge value in every query parameter of every page, and as every path id."""
    company = default_company(client)
    user = create_user(client)["id"]
    for page, params in PAGES.items():
        for value in EDGES:
            segment = quote(value, safe="")
            paths = {
                page.replace("{x}", segment).replace("{c}", company).replace("{u}", user),
                page.replace("{x}", "1").replace("{c}", segment).replace("{u}", user),
                page.replace("{x}", "1").replace("{c}", company).replace("{u}", segment),
            }
            for path in paths:
                _checked(console.http.get(path, follow_redirects=False), PAGE_ANSWERS)
            base = page.replace("{x}", "1").replace("{c}", company).replace("{u}", user)
            for name in params:
                answer = console.http.get(base, params={name: value}, follow_redirects=False)
                _checked(answer, PAGE_ANSWERS)


def test_no_page_fails_on_any_query_or_path(client: TestClient, console: Console) -> None:
    """Generated text in the query parameters and path ids of every page."""
    company = default_company(client)
    user = create_user(client)["id"]
    names = sorted(PAGES)

    @FUZZ
    @given(
        page=st.sampled_from(names),
        segment=TEXT,
        values=st.lists(st.tuples(st.integers(0, 7), TEXT), max_size=3),
    )
    def answered(page: str, segment: str, values: list[tuple[int, str]]) -> None:
        params = PAGES[page]
        query = {params[i % len(params)]: v for i, v in values} if params else {}
        # A generated segment (URL-quoted, as a browser sends it) stands for the company,
        # the user or the id in turn.
        given_segment = quote(segment, safe="")
        path = page.replace("{x}", given_segment).replace("{c}", company).replace("{u}", user)
        if "{c}" in page and len(values) % 2:
            path = page.replace("{c}", given_segment).replace("{u}", user)
        if "{u}" in page and values and values[0][0] % 2:
            path = page.replace("{c}", company).replace("{u}", given_segment)
        answer = console.http.get(path, params=query or None, follow_redirects=False)
        _checked(answer, PAGE_ANSWERS)

    answered()


def test_no_form_fails_on_any_field(client: TestClient, console: Console) -> None:
    """Every form, with this session's CSRF token and generated fields, answers a page;
    the users survive every reset not confirmed with ``RESET``."""
    user = create_user(client)["id"]
    forms = {
        "/console/faults": ("rule",),
        "/console/faults/switch": ("name", "company", "on"),
        "/console/faults/{x}/delete": (),
        "/console/faults/clear": (),
        "/console/worker": ("paused",),
        "/console/reset": ("company", "confirm"),
        "/console/login": ("token", "next"),
    }
    names = sorted(forms)

    @FUZZ
    @given(
        form=st.sampled_from(names),
        segment=TEXT.filter(lambda s: s not in ("", ".", "..")),
        values=st.lists(st.tuples(st.integers(0, 7), TEXT), max_size=3),
    )
    def answered(form: str, segment: str, values: list[tuple[int, str]]) -> None:
        fields = forms[form]
        data = {fields[i % len(fields)]: v for i, v in values} if fields else {}
        data.setdefault("csrf", console.csrf)
        if form == "/console/reset" and data.get("confirm", "").strip() == "RESET":
            data["confirm"] = "RESET?"  # a confirmed reset is tested elsewhere
        answer = console.http.post(
            form.replace("{x}", quote(segment, safe="")),
            data=data,
            headers={"Origin": ORIGIN},
            follow_redirects=False,
        )
        _checked(answer, FORM_ANSWERS | ({401} if form == "/console/login" else set()))
        assert client.get(f"/scim/v2/Users/{user}").status_code == 200

    answered()
    for form, fields in forms.items():
        for value in EDGES:
            path = form.replace("{x}", quote(value, safe="") or "x")
            for name in fields:
                data = {"csrf": console.csrf, name: value}
                answer = console.http.post(
                    path, data=data, headers={"Origin": ORIGIN}, follow_redirects=False
                )
                _checked(answer, FORM_ANSWERS | {401})
    assert client.get(f"/scim/v2/Users/{user}").status_code == 200
    assert re.fullmatch(r"[0-9a-f]{64}", console.csrf)
