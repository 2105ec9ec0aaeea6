"""The web console at /console (README "Console", docs/security.md "Console"), in-process on
SQLite and PostgreSQL: sign-in and the session cookie, CSRF on every form, escaping of every
stored value, and the companies, users, user, provisions, journal, reset and fault pages.

A "browser" here is a TestClient on the session's application with a cookie jar of its own
and no default headers; it is never entered, so the application's lifespan (worker, journal
writer) stays the one the ``client`` fixture runs. Every HTML answer it gets is checked for
the console's Content-Security-Policy.
"""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urljoin

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from support.admin import admin_session, journal
from support.factories import user_body
from support.ups import SPEND_USER, identity, operation, spend_user, submit

from concur_scim.console import session
from concur_scim.console.session import COOKIE, SESSION_SECONDS

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ORIGIN = "http://testserver"  # the TestClient's own origin
COMPANY_TOKEN = "test-token"  # conftest.TOKEN: the default company's bearer token
DEADLINE_SECONDS = 60.0
# Markup a directory value may carry; the console must show it as text, never as markup.
MARKUP = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'><svg onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "</pre><b>bold</b>",
    "&lt;i&gt;",
)
# Raw openers none of the checked pages has of its own (base.html has one <script src=…>).
RAW_MARKUP = ("<script>alert", "<img", "<svg", '<a href="javascript', "<b>", "</pre><b>")


# ----------------------------------------------------------------------------- helpers


def admin_token(client: TestClient) -> str:
    token: str = client.app.state.admin_token  # type: ignore[attr-defined]
    return token


def default_company(client: TestClient) -> str:
    found: str = client.app.state.default_company_id  # type: ignore[attr-defined]
    return found


def assert_console_headers(response: Response) -> None:
    """An HTML answer of the console carries its CSP: scripts from the console only."""
    if not response.headers.get("content-type", "").startswith("text/html"):
        return
    policy = response.headers.get("content-security-policy", "")
    directives = {d.strip().split(" ", 1)[0]: d.strip() for d in policy.split(";")}
    assert directives.get("script-src") == "script-src 'self'", policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert response.headers["x-frame-options"] == "DENY"


def browser(client: TestClient) -> TestClient:
    """A fresh browser on the session's app: no Authorization, an empty cookie jar."""
    return TestClient(client.app, raise_server_exceptions=False)


def sign_in_location(target: str) -> str:
    return f"/console/login?next={quote(target, safe='')}"


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', page)
    assert found is not None, page
    return html.unescape(found.group(1))


@dataclass
class Console:
    """A signed-in browser: its cookie value and the CSRF token its forms carry."""

    http: TestClient
    cookie: str
    csrf: str

    def get(self, path: str, **params: str) -> Response:
        response = self.http.get(path, params=params or None, follow_redirects=False)
        assert_console_headers(response)
        return response

    def post(
        self, path: str, form: dict[str, str], *, headers: dict[str, str] | None = None
    ) -> Response:
        """A form posted with this session's CSRF token (unless ``form`` names one)."""
        response = self.http.post(
            path,
            data={"csrf": self.csrf, **form},
            headers={"Origin": ORIGIN} if headers is None else headers,
            follow_redirects=False,
        )
        assert_console_headers(response)
        return response


@pytest.fixture
def admin(client: TestClient) -> Iterator[dict[str, str]]:
    """The admin token's headers; fault rules and a paused worker are undone afterwards."""
    with admin_session(client) as headers:
        yield headers


@pytest.fixture
def console(client: TestClient, admin: dict[str, str]) -> Iterator[Console]:
    """A browser signed in through the form."""
    del admin
    http = browser(client)
    try:
        signed = http.post(
            "/console/login", data={"token": admin_token(client)}, follow_redirects=False
        )
        assert signed.status_code == 303, signed.text
        cookie = http.cookies[COOKIE]
        faults_page = http.get("/console/faults")
        assert faults_page.status_code == 200, faults_page.text
        yield Console(http, cookie, csrf_of(faults_page.text))
    finally:
        http.close()


def create_user(client: TestClient, **overrides: Any) -> dict[str, Any]:
    answer = client.post("/scim/v2/Users", json=user_body(**overrides))
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body


def user_count(client: TestClient) -> int:
    answer = client.get("/scim/v2/Users", params={"count": "0"})
    assert answer.status_code == 200, answer.text
    total: int = answer.json()["totalResults"]
    return total


def rules(client: TestClient, admin: dict[str, str]) -> list[dict[str, Any]]:
    answer = client.get("/_admin/faults", headers=admin)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["Resources"]
    return found


def worker_state(console: Console) -> str:
    page = console.get("/console/faults")
    found = re.search(r'id="worker-state">(\w+)<', page.text)
    assert found is not None, page.text
    return found.group(1)


def user_links(page: str, company: str) -> list[tuple[str, str]]:
    """(id, userName as shown) of each user row of a users page."""
    pattern = rf'<a href="/console/companies/{re.escape(company)}/Users/([^"]+)">([^<]*)</a>'
    return [(uid, html.unescape(name)) for uid, name in re.findall(pattern, page)]


def next_link(page: str) -> str | None:
    found = re.search(r'<a rel="next" href="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else None


def company_row(page: str, company: str) -> str:
    for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.DOTALL):
        if f"<code>{company}</code>" in row:
            found: str = row
            return found
    raise AssertionError(f"no row of company {company}")


def row_numbers(row: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r'<td class="num">([\d,]+)</td>', row)]


def journal_id(client: TestClient, admin: dict[str, str], correlation: str) -> int:
    (entry,) = journal(client, admin, correlationId=correlation)["Resources"]
    found: int = entry["id"]
    return found


def pre(page: str, element_id: str) -> str:
    found = re.search(rf'<pre class="json" id="{element_id}">(.*?)</pre>', page, re.DOTALL)
    assert found is not None, page
    return found.group(1)


# ----------------------------------------------------------------------------- sign-in


def test_sign_in_form_admits_the_admin_token_only(
    client: TestClient, admin: dict[str, str]
) -> None:
    """Without a session a page is a 303 to the form; a wrong token is 401 without a
    cookie; the right one is a 303 to ``next`` with an HttpOnly, SameSite=Strict cookie on
    /console that does not carry the admin token."""
    del admin
    token = admin_token(client)
    http = browser(client)
    try:
        first = http.get("/console", follow_redirects=False)
        assert first.status_code == 303
        assert first.headers["location"] == "/console/login?next=%2Fconsole"
        form = http.get(first.headers["location"])
        assert form.status_code == 200
        assert_console_headers(form)
        assert '<input type="hidden" name="next" value="/console">' in form.text

        for wrong in ("", "wrong", token[:-1], token + "x", token.upper(), COMPANY_TOKEN):
            refused = http.post(
                "/console/login",
                data={"token": wrong, "next": "/console"},
                follow_redirects=False,
            )
            assert refused.status_code == 401, wrong
            assert_console_headers(refused)
            assert "set-cookie" not in refused.headers
            assert "That is not the admin token." in refused.text
        assert COOKIE not in http.cookies

        signed = http.post(
            "/console/login",
            data={"token": token, "next": "/console/journal?status=4xx"},
            follow_redirects=False,
        )
        assert signed.status_code == 303, signed.text
        assert signed.headers["location"] == "/console/journal?status=4xx"
        (cookie,) = signed.headers.get_list("set-cookie")
        name_value, *attributes = [part.strip() for part in cookie.split(";")]
        name, _, value = name_value.partition("=")
        assert name == COOKIE
        assert token not in cookie
        assert session.session_valid(token, value)
        lowered = {a.lower() for a in attributes}
        assert "httponly" in lowered
        assert "samesite=strict" in lowered
        assert "path=/console" in lowered
        assert "secure" not in lowered  # plain http: a Secure cookie would never come back
        assert http.get("/console/journal", follow_redirects=False).status_code == 200
    finally:
        http.close()


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example",
        "/scim/v2/Users",
        "/console\\evil",
        "/\\evil.example",
        "/console/\\evil.example",
        "https://testserver/console",
        "/consolex",
        "javascript:alert(1)",
        "",
        "/console/../scim/v2/Users",
        "/console/%2e%2e/_admin/journal",
        "/console/..%2f..%2fscim",
        "/console/./../docs",
        "/console/%3F/../../_admin/journal",
        "/console/%3f/../..//evil.example",
        "/console/%23/../../scim/v2/Users",
        "/console/%5cevil.example",
        "/console/\u0000",
    ],
)
def test_sign_in_never_leaves_the_console(
    client: TestClient, admin: dict[str, str], target: str
) -> None:
    """A ``next`` off-site or outside /console lands on /console, in the form and after it."""
    del admin
    http = browser(client)
    try:
        form = http.get("/console/login", params={"next": target})
        assert '<input type="hidden" name="next" value="/console">' in form.text
        signed = http.post(
            "/console/login",
            data={"token": admin_token(client), "next": target},
            follow_redirects=False,
        )
        assert signed.status_code == 303
        assert signed.headers["location"] == "/console"
    finally:
        http.close()


def test_only_the_admin_token_opens_console_pages(
    client: TestClient, admin: dict[str, str]
) -> None:
    """The company's bearer token is sent to the sign-in form from every page and form;
    ``Authorization: Bearer <admin token>`` is admitted without a cookie."""
    company = default_company(client)
    pages = [
        "/console",
        f"/console/companies/{company}/Users",
        "/console/provisions",
        "/console/journal",
        "/console/faults",
        "/console/reset",
    ]
    missing = [  # admitted, these answer their own 404 page
        f"/console/companies/{company}/Users/{uuid.uuid4()}",
        f"/console/provisions/{uuid.uuid4()}",
        f"/console/provisions/{uuid.uuid4()}/grid",
        "/console/journal/999999999",
    ]
    forms = [
        "/console/faults",
        "/console/faults/switch",
        "/console/faults/some-rule/delete",
        "/console/faults/clear",
        "/console/worker",
        "/console/reset",
        "/console/logout",
    ]
    company_bearer = {"Authorization": f"Bearer {COMPANY_TOKEN}"}
    http = browser(client)
    try:
        for path in pages + missing:
            answer = http.get(path, headers=company_bearer, follow_redirects=False)
            assert answer.status_code == 303, path
            assert answer.headers["location"] == sign_in_location(path)
        for path in forms:
            answer = http.post(
                path,
                data={"paused": "true", "confirm": "RESET", "rule": '{"status": 503}'},
                headers={**company_bearer, "Origin": ORIGIN},
                follow_redirects=False,
            )
            assert answer.status_code == 303, path
            assert answer.headers["location"] == sign_in_location(path)
        assert rules(client, admin) == []
        assert worker_state_by_bearer(http, admin) == "running"
        for path in pages:
            answer = http.get(path, headers=admin, follow_redirects=False)
            assert answer.status_code == 200, path
            assert_console_headers(answer)
        for path in missing:
            answer = http.get(path, headers=admin, follow_redirects=False)
            assert answer.status_code == 404, path
            assert answer.headers["content-type"].startswith("text/html")
        assert COOKIE not in http.cookies  # the bearer token is never turned into a session
    finally:
        http.close()


def worker_state_by_bearer(http: TestClient, admin: dict[str, str]) -> str:
    page = http.get("/console/faults", headers=admin).text
    found = re.search(r'id="worker-state">(\w+)<', page)
    assert found is not None, page
    return found.group(1)


def test_foreign_tampered_and_expired_cookies_are_sent_to_sign_in(
    client: TestClient, admin: dict[str, str]
) -> None:
    """Only a cookie this admin token minted in the last SESSION_SECONDS is a session."""
    del admin
    token = admin_token(client)
    good = session.new_session(token)
    issued, _, mac = good.partition(".")
    flipped = mac[:-1] + ("0" if mac[-1] != "0" else "1")
    refused = {
        "another admin token": session.new_session("another-admin-token"),
        "tampered mac": f"{issued}.{flipped}",
        "tampered time": f"{int(issued) - 1}.{mac}",
        "mac only": mac,
        "expired": session.new_session(token, now=time.time() - SESSION_SECONDS - 10),
        "from the future": session.new_session(token, now=time.time() + 3600),
        "the admin token": token,
        "empty": "",
    }
    http = browser(client)
    try:
        for label, value in refused.items():
            answer = http.get(
                "/console/faults", headers={"Cookie": f"{COOKIE}={value}"}, follow_redirects=False
            )
            assert answer.status_code == 303, label
            assert answer.headers["location"] == sign_in_location("/console/faults"), label
        admitted = http.get(
            "/console/faults", headers={"Cookie": f"{COOKIE}={good}"}, follow_redirects=False
        )
        assert admitted.status_code == 200
    finally:
        http.close()


def test_sign_out_clears_the_cookie(console: Console) -> None:
    """POST /console/logout (with its CSRF token) expires the cookie on /console."""
    answer = console.post("/console/logout", {})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?notice=signed-out"
    (cookie,) = answer.headers.get_list("set-cookie")
    parts = [p.strip().lower() for p in cookie.split(";")]
    assert parts[0] in (f"{COOKIE}=", f'{COOKIE}=""')
    assert "max-age=0" in parts
    assert "path=/console" in parts
    assert COOKIE not in console.http.cookies
    after = console.get("/console")
    assert after.status_code == 303
    assert after.headers["location"] == sign_in_location("/console")
    assert "Signed out." in console.get("/console/login", notice="signed-out").text


# ----------------------------------------------------------------------------- CSRF


# Each state-changing route with a form that would change something if it were accepted.
def _forms(company: str, rule_id: str) -> dict[str, dict[str, str]]:
    return {
        "/console/faults": {"rule": '{"status": 503}'},
        "/console/faults/switch": {"name": "throttle", "company": company, "on": "true"},
        f"/console/faults/{rule_id}/delete": {},
        "/console/faults/clear": {},
        "/console/worker": {"paused": "true"},
        "/console/reset": {"company": company, "confirm": "RESET"},
        "/console/logout": {},
    }


FOREIGN_ORIGINS = (
    {"Origin": "https://evil.example"},
    {"Origin": "http://testserver.evil.example"},
    {"Origin": "http://testserver:8080"},
    {"Origin": "http://testserve"},
    {"Origin": "null"},
    {"Referer": "https://evil.example/console/faults"},
)


def _bad_csrf(good: str, cookie: str) -> st.SearchStrategy[str | None]:
    """CSRF values that are not this session's: missing, empty, the cookie itself, the
    token with one character changed, another case, cut or extended, unicode, any text."""
    hexdigits = "0123456789abcdef"

    def one_changed(position: int) -> st.SearchStrategy[str]:
        others = [c for c in hexdigits if c != good[position]]
        return st.sampled_from(others).map(lambda c: good[:position] + c + good[position + 1 :])

    homoglyph = good.replace("a", "\u0430").replace("e", "\u0435")
    return st.one_of(
        st.none(),
        st.sampled_from(
            [
                "",
                cookie,
                good.upper(),
                good[:-1],
                good + "0",
                " " + good,
                good + "\n",
                homoglyph,
                "\u00e9" * len(good),
                session.new_session("x"),
            ]
        ),
        st.integers(min_value=0, max_value=len(good) - 1).flatmap(one_changed),
        st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=80),
    ).filter(lambda value: value != good)


def test_every_form_refuses_a_bad_csrf_token_or_a_foreign_origin(
    client: TestClient, admin: dict[str, str], console: Console
) -> None:
    """Property: a state-changing form posted with a missing or wrong CSRF token (from the
    same origin or none), or with the right token from another origin, is refused 403 and
    changes nothing: the fault rules, the worker, the users and the session stay."""
    company = default_company(client)
    assert console.csrf != console.csrf.upper()
    user = create_user(client)
    kept = client.post(
        "/_admin/faults", json={"path": "/never/matched/*", "status": 503}, headers=admin
    )
    assert kept.status_code == 201, kept.text
    forms = _forms(company, kept.json()["id"])
    before = rules(client, admin)

    def unchanged() -> None:
        assert rules(client, admin) == before
        assert worker_state(console) == "running"
        assert client.get(f"/scim/v2/Users/{user['id']}").status_code == 200
        assert console.get("/console").status_code == 200  # still signed in

    def assert_refused(answer: Response) -> None:
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"].startswith("text/html")
        assert "came from another site" in answer.text

    @settings(
        max_examples=60,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        path=st.sampled_from(sorted(forms)),
        csrf=_bad_csrf(console.csrf, console.cookie),
        origin=st.sampled_from([{}, {"Origin": ORIGIN}, {"Referer": f"{ORIGIN}/console"}]),
    )
    def refused_with_bad_token(path: str, csrf: str | None, origin: dict[str, str]) -> None:
        data = dict(forms[path])
        if csrf is not None:
            data["csrf"] = csrf
        answer = console.http.post(path, data=data, headers=origin, follow_redirects=False)
        assert_console_headers(answer)
        assert_refused(answer)
        unchanged()

    refused_with_bad_token()

    for path, form in forms.items():
        for foreign in FOREIGN_ORIGINS:
            answer = console.post(path, form, headers=foreign)
            assert_refused(answer)
    unchanged()


def test_every_form_works_with_its_csrf_token_from_the_same_origin(
    client: TestClient, admin: dict[str, str], console: Console
) -> None:
    """The right CSRF token from the console's own origin is accepted by every form."""
    company = default_company(client)
    create_user(client)

    added = console.post("/console/faults", {"rule": '{"path": "/never/*", "status": 503}'})
    assert added.status_code == 303, added.text
    assert added.headers["location"] == "/console/faults?notice=fault-added"
    (rule,) = rules(client, admin)

    switched = console.post(
        "/console/faults/switch", {"name": "throttle", "company": company, "on": "true"}
    )
    assert switched.status_code == 303, switched.text
    assert len(rules(client, admin)) == 2

    removed = console.post(f"/console/faults/{rule['id']}/delete", {})
    assert removed.status_code == 303, removed.text
    assert [r["id"] for r in rules(client, admin)] != [rule["id"]]
    assert len(rules(client, admin)) == 1

    cleared = console.post("/console/faults/clear", {})
    assert cleared.status_code == 303, cleared.text
    assert rules(client, admin) == []

    paused = console.post("/console/worker", {"paused": "true"})
    assert paused.status_code == 303, paused.text
    assert worker_state(console) == "paused"
    resumed = console.post("/console/worker", {"paused": "false"})
    assert resumed.status_code == 303, resumed.text
    assert worker_state(console) == "running"

    reset = console.post("/console/reset", {"company": company, "confirm": "RESET"})
    assert reset.status_code == 200, reset.text
    assert user_count(client) == 0

    # A form whose page sent no Origin (and no Referer) is guarded by the token alone.
    bare = console.http.post(
        "/console/worker", data={"csrf": console.csrf, "paused": "true"}, follow_redirects=False
    )
    assert bare.status_code == 303, bare.text
    assert worker_state(console) == "paused"

    out = console.post("/console/logout", {})
    assert out.status_code == 303, out.text
    assert console.get("/console").status_code == 303


# ----------------------------------------------------------------------------- escaping

_payloads = st.lists(
    st.one_of(st.sampled_from(MARKUP), st.text(alphabet="abc <>&\"'/=", max_size=6)),
    min_size=1,
    max_size=3,
).map("".join)


def test_stored_markup_is_shown_as_text_on_every_page(
    client: TestClient, admin: dict[str, str], console: Console
) -> None:
    """Property: a user whose userName, displayName and externalId carry markup is shown
    escaped on the users page, the user page and its journal entry; never as markup. Every
    console HTML answer carries the CSP (script-src 'self', nothing inline)."""
    company = default_company(client)
    counter = iter(range(10_000))

    @settings(
        max_examples=15,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(markup=_payloads)
    def shown_as_text(markup: str) -> None:
        n = next(counter)
        value = f"{markup}{n}<script>alert({n})</script>"
        correlation = f"escape-{uuid.uuid4()}"
        created = client.post(
            "/scim/v2/Users",
            json={"schemas": [CORE], "userName": value, "displayName": value, "externalId": value},
            headers={"concur-correlationid": correlation},
        )
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        as_text = str(escape(value))
        as_json_text = str(escape(json.dumps(value, ensure_ascii=False)[1:-1]))

        listing = console.get(f"/console/companies/{company}/Users")
        one = console.get(f"/console/companies/{company}/Users/{user_id}")
        entry = console.get(f"/console/journal/{journal_id(client, admin, correlation)}")
        for answer in (listing, one, entry):
            assert answer.status_code == 200, answer.text
            assert value not in answer.text
            for raw in RAW_MARKUP:
                assert raw not in answer.text, raw
            assert answer.text.count("<script") == 1  # base.html's own, from 'self'
        row = next(r for r in listing.text.split("<tr>") if user_id in r)
        assert row.count(as_text) == 3  # userName, displayName, externalId
        assert f"<h1>{as_text} <small>" in one.text
        assert as_json_text in one.text
        assert as_json_text in pre(entry.text, "request-body")
        assert as_json_text in pre(entry.text, "response-body")

    shown_as_text()


# ----------------------------------------------------------------------------- pages


def test_companies_page_counts_live_users(client: TestClient, console: Console) -> None:
    """The default company is listed, tagged default, with its live user count."""
    company = default_company(client)
    for _ in range(3):
        create_user(client)
    page = console.get("/console")
    assert page.status_code == 200
    row = company_row(page.text, company)
    assert '<span class="tag">default</span>' in row
    users, groups, provisions, pending = row_numbers(row)
    assert (users, groups, provisions, pending) == (3, 0, 0, 0)
    deleted = client.delete(f"/scim/v2/Users/{create_user(client)['id']}")
    assert deleted.status_code == 204
    assert row_numbers(company_row(console.get("/console").text, company))[0] == 3


def test_users_page_filter_finds_one_and_a_bad_filter_is_a_400_page(
    client: TestClient, console: Console
) -> None:
    """A SCIM filter narrows the list (uncounted); a bad one answers 400 with the same
    detail as the API, as a page."""
    company = default_company(client)
    made = [create_user(client) for _ in range(3)]
    wanted = made[1]
    found = console.get(
        f"/console/companies/{company}/Users", filter=f'userName eq "{wanted["userName"]}"'
    )
    assert found.status_code == 200
    assert user_links(found.text, company) == [(wanted["id"], wanted["userName"])]
    assert "Matching users" in found.text
    everyone = console.get(f"/console/companies/{company}/Users")
    assert len(user_links(everyone.text, company)) == 3
    assert "3 users" in everyone.text

    for bad in ('userName eq "x', "userName zz 1", "(", 'nope[ eq "x"'):
        api = client.get("/scim/v2/Users", params={"filter": bad})
        assert api.status_code == 400, bad
        answer = console.get(f"/console/companies/{company}/Users", filter=bad)
        assert answer.status_code == 400, bad
        assert answer.headers["content-type"].startswith("text/html")
        assert f"400 {api.json()['scimType']}: {escape(api.json()['detail'])}" in answer.text
        assert f'value="{escape(bad)}"' in answer.text  # the box keeps what was typed


def test_users_page_pages_fifty_by_cursor(
    client: TestClient, admin: dict[str, str], console: Console
) -> None:
    """120 seeded users come on pages of 50, 50 and 20, following rel=next links until
    there is none: every user exactly once."""
    company = default_company(client)
    names = [f"paged{n:03d}-{uuid.uuid4().hex[:8]}@example.com" for n in range(120)]
    seeded = client.post("/_admin/seed", json=[{"userName": n} for n in names], headers=admin)
    assert seeded.status_code == 200, seeded.text
    assert seeded.json() == {"created": 120, "failed": []}

    url: str | None = f"/console/companies/{company}/Users"
    sizes: list[int] = []
    seen: list[tuple[str, str]] = []
    while url is not None:
        answer = console.get(url)
        assert answer.status_code == 200, answer.text
        assert "120 users" in answer.text
        rows = user_links(answer.text, company)
        sizes.append(len(rows))
        seen += rows
        following = next_link(answer.text)
        url = urljoin(url, following) if following is not None else None
        assert len(sizes) <= 3, sizes
    assert sizes == [50, 50, 20]
    counted = Counter(uid for uid, _ in seen)
    assert len(counted) == 120
    assert set(counted.values()) == {1}
    assert sorted(name for _, name in seen) == sorted(names)


def test_user_page_shows_every_dialect_and_the_extensions(
    client: TestClient, console: Console
) -> None:
    """One panel per dialect (its own rendering of the user) and the spend and travel
    panels; an unknown user or company is a 404 page."""
    company = default_company(client)
    user = create_user(client)
    answer = console.get(f"/console/companies/{company}/Users/{user['id']}")
    assert answer.status_code == 200, answer.text
    dialects = re.findall(r'<section class="panel" data-dialect="([^"]+)">', answer.text)
    assert dialects == ["scim2", "identity-v4", "identity-v4.1", "scim-v4", "ups-v4 user retrieval"]
    extensions = re.findall(r'<section class="panel" data-extension="([^"]+)">', answer.text)
    assert extensions == ["spend", "travel"]
    bodies = [
        json.loads(html.unescape(b))
        for b in re.findall(r'<pre class="json">(.*?)</pre>', answer.text, re.DOTALL)
    ]
    assert len(bodies) == 7
    # Each panel is what that API answers for the user, byte for byte as JSON.
    reads = [
        client.get(f"{root}/Users/{user['id']}")
        for root in ("/scim/v2", "/profile/identity/v4", "/profile/identity/v4.1", "/scim/v4")
    ]
    search = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": f'id eq "{user["id"]}"',
    }
    found = client.post("/profile/v4/Users/.search", json=search)
    assert found.status_code == 200, found.text
    answers = [r.json() for r in reads] + [found.json()["Resources"][0]]
    assert bodies[:5] == answers
    assert isinstance(bodies[0]["meta"]["version"], str)  # generic SCIM: an ETag
    assert isinstance(bodies[1]["meta"]["version"], int)  # Concur Identity: an integer
    spend = client.get(f"/profile/spend/v4.1/Users/{user['id']}")
    assert spend.status_code == 200, spend.text
    travel = client.get(f"/profile/travel/v4/Users/{user['id']}")
    assert travel.status_code == 200, travel.text
    assert bodies[5:] == [spend.json(), travel.json()]
    assert "no travel document stored" in answer.text

    for path in (
        f"/console/companies/{company}/Users/{uuid.uuid4()}",
        f"/console/companies/{uuid.uuid4()}/Users/{user['id']}",
    ):
        missing = console.get(path)
        assert missing.status_code == 404, path
        assert missing.headers["content-type"].startswith("text/html")
        assert '<p class="error" role="alert">' in missing.text


# ----------------------------------------------------------------------------- provisions


def _grid_rows(fragment: str) -> dict[int, str]:
    rows = re.findall(r'<tr data-position="(\d+)">(.*?)</tr>', fragment, re.DOTALL)
    return {int(position): row for position, row in rows}


def _cell(row: str, urn: str) -> tuple[str, str]:
    """(class, inner HTML) of the cell of ``urn`` in a grid row."""
    found = re.search(
        rf'<td class="cell (\w+)" data-urn="{re.escape(urn)}">(.*?)</td>', row, re.DOTALL
    )
    assert found is not None, row
    return found.group(1), found.group(2)


def _completed_grid(console: Console, source: str) -> Response:
    """The grid fragment at ``source`` once its request has completed (polled)."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    fragment = console.get(source)
    while fragment.headers["X-Provision-State"] != "completed":
        assert time.monotonic() < deadline, fragment.text
        time.sleep(0.05)
        fragment = console.get(source)
    return fragment


def test_provision_grid_goes_live_from_pending_to_failed_cells(
    client: TestClient, admin: dict[str, str], console: Console
) -> None:
    """With the worker paused a Bulk's grid is pending, cell by cell; resumed, it completes
    and the spend cell the ``spend-fails`` switch broke is ``failed`` with Concur's message
    and code in its button; ?state=failed shows that operation only."""
    company = default_company(client)
    assert client.post("/_admin/worker/pause", headers=admin).json() == {"paused": True}
    switched = console.post(
        "/console/faults/switch", {"name": "spend-fails", "company": company, "on": "true"}
    )
    assert switched.status_code == 303, switched.text
    plain, with_spend = identity(), identity()
    with_spend[SPEND_USER] = spend_user()
    accepted = submit(
        client,
        [
            operation("POST", "/Users", plain, bulk_id="plain"),
            operation("POST", "/Users", with_spend, bulk_id="spend"),
        ],
    )
    provision = accepted["id"]
    source = f"/console/provisions/{provision}/grid"

    waiting = console.get(source)
    assert waiting.status_code == 200, waiting.text
    assert waiting.headers["X-Provision-State"] == "pending"
    assert 'data-state="pending"' in waiting.text
    classes = re.findall(r'<td class="cell (\w+)"', waiting.text)
    assert classes
    assert set(classes) == {"pending"}
    assert f'data-urn="{SPEND_USER}"' in waiting.text
    full = console.get(f"/console/provisions/{provision}")
    assert 'data-live="yes"' in full.text

    assert client.post("/_admin/worker/resume", headers=admin).json() == {"paused": False}
    done = _completed_grid(console, source)

    rows = _grid_rows(done.text)
    assert len(rows) == 2
    (plain_row,) = [r for r in rows.values() if escape(plain["userName"]) in r]
    (spend_row,) = [r for r in rows.values() if escape(with_spend["userName"]) in r]
    assert "cell failed" not in plain_row
    tone, inner = _cell(spend_row, SPEND_USER)
    assert tone == "failed"
    body_attr = re.search(r'data-body="([^"]*)"', inner)
    assert body_attr is not None, inner
    detail = json.loads(html.unescape(body_attr.group(1)))
    assert detail["name"] == SPEND_USER
    assert detail["result"] == "error"
    assert detail["code"] == "500"
    assert [m["code"] for m in detail["messages"]] == ["INTERNAL_SERVER_ERROR"]
    assert 'data-live="no"' in console.get(f"/console/provisions/{provision}").text

    failed_only = console.get(source, state="failed")
    assert failed_only.status_code == 200
    (spend_position,) = [p for p, r in rows.items() if r == spend_row]
    assert list(_grid_rows(failed_only.text)) == [spend_position]
    listed = console.get("/console/provisions", state="completed")
    assert f'href="/console/provisions/{provision}"' in listed.text
    bad_state = console.get(source, state="exploded")
    assert bad_state.status_code == 400
    assert bad_state.headers["content-type"].startswith("text/html")

    # The Bulk's journal entry leads to its grid, a user write's to the user.
    bulk_entries = client.get(
        "/_admin/journal", params={"path": "/profile/v4/Bulk"}, headers=admin
    ).json()["Resources"]
    (entry,) = [e for e in bulk_entries if e["resourceId"] == provision]
    page = console.get(f"/console/journal/{entry['id']}")
    assert f'<a href="/console/provisions/{provision}">open its grid</a>' in page.text


def test_unknown_provision_is_a_404_page(console: Console) -> None:
    """An unknown provisioning request answers a 404 page, the grid fragment too."""
    for path in (f"/console/provisions/{uuid.uuid4()}", f"/console/provisions/{uuid.uuid4()}/grid"):
        missing = console.get(path)
        assert missing.status_code == 404, path
        assert missing.headers["content-type"].startswith("text/html")
        assert "no provisioning request" in missing.text


# ----------------------------------------------------------------------------- journal


def test_journal_shows_a_failed_write_with_bodies_and_correlation_id(
    client: TestClient, admin: dict[str, str], console: Console
) -> None:
    """A refused write is on the journal page; its entry shows request and response
    bodies and the correlation id; a bad status filter is a 400 page."""
    correlation = f"console-journal-{uuid.uuid4()}"
    refused = client.post(
        "/scim/v2/Users",
        json={"schemas": [CORE], "displayName": "No Name"},
        headers={"concur-correlationid": correlation},
    )
    assert refused.status_code == 400, refused.text

    listing = console.get("/console/journal")
    assert listing.status_code == 200
    row = next(r for r in listing.text.split("<tr") if correlation in r)
    assert "/scim/v2/Users" in row
    assert '<td class="num">400</td>' in row
    link = re.search(r'<a href="(/console/journal/\d+)">', row)
    assert link is not None, row
    assert link.group(1) == f"/console/journal/{journal_id(client, admin, correlation)}"

    entry = console.get(link.group(1))
    assert entry.status_code == 200, entry.text
    assert f"<code>{correlation}</code>" in entry.text
    request_body = json.loads(html.unescape(pre(entry.text, "request-body")))
    assert request_body["json"] == {"schemas": [CORE], "displayName": "No Name"}
    response_body = json.loads(html.unescape(pre(entry.text, "response-body")))
    assert response_body["json"]["detail"] == refused.json()["detail"]

    filtered = console.get("/console/journal", correlationId=correlation)
    assert filtered.text.count('<a href="/console/journal/') == 1

    for bad in ("abc", "99", "6xx"):
        answer = console.get("/console/journal", status=bad)
        assert answer.status_code == 400, bad
        assert answer.headers["content-type"].startswith("text/html")
        assert "&#39;status&#39;" in answer.text
    missing = console.get("/console/journal/999999999")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")


def test_journal_entry_lints_a_concur_write_and_hides_passwords(
    client: TestClient, admin: dict[str, str], console: Console
) -> None:
    """A Concur-dialect user write with attributes Concur ignores shows its lint table;
    a password sent in a body is never on the page."""
    secret = f"Console-Secret-{uuid.uuid4().hex}"
    correlation = f"console-lint-{uuid.uuid4()}"
    created = client.post(
        "/profile/identity/v4/Users",
        json=user_body(favouriteColour="teal", password=secret),
        headers={"concur-correlationid": correlation},
    )
    assert created.status_code in (200, 201), created.text

    entry = console.get(f"/console/journal/{journal_id(client, admin, correlation)}")
    assert entry.status_code == 200, entry.text
    table = re.search(r'<table class="list" id="lint">(.*?)</table>', entry.text, re.DOTALL)
    assert table is not None, entry.text
    assert f"<code>{CORE}:favouriteColour</code>" in table.group(1)
    assert "unknownAttribute" in table.group(1)
    assert f"<code>{CORE}:password</code>" in table.group(1)
    assert secret not in entry.text
    assert "[redacted]" in entry.text
    assert secret not in console.get("/console/journal").text
    user_page = f"/console/companies/{default_company(client)}/Users/{created.json()['id']}"
    assert f'<a href="{user_page}">open the user</a>' in entry.text

    changed = client.patch(
        f"/scim/v2/Users/{created.json()['id']}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "password", "value": secret}],
        },
        headers={"concur-correlationid": f"{correlation}-patch"},
    )
    assert changed.status_code == 200, changed.text
    patched = console.get(f"/console/journal/{journal_id(client, admin, f'{correlation}-patch')}")
    assert patched.status_code == 200
    assert secret not in patched.text


# ----------------------------------------------------------------------------- reset


def test_reset_needs_reset_typed_and_then_empties_the_company(
    client: TestClient, admin: dict[str, str], console: Console
) -> None:
    """Without RESET typed nothing is deleted (400 page); with it the company's users and
    journal are gone."""
    company = default_company(client)
    for _ in range(2):
        create_user(client)
    assert journal(client, admin, company=company)["totalResults"] == 2

    for typed in ("", "reset", "RESE", "NO"):
        refused = console.post("/console/reset", {"company": company, "confirm": typed})
        assert refused.status_code == 400, typed
        assert refused.headers["content-type"].startswith("text/html")
        assert "type RESET in the confirmation box" in refused.text
        assert user_count(client) == 2

    done = console.post("/console/reset", {"company": company, "confirm": "RESET"})
    assert done.status_code == 200, done.text
    assert f"Reset company {company}:" in done.text
    assert journal(client, admin, company=company)["totalResults"] == 0
    assert row_numbers(company_row(console.get("/console").text, company))[0] == 0
    assert user_count(client) == 0

    unknown = console.post("/console/reset", {"company": str(uuid.uuid4()), "confirm": "RESET"})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("text/html")


# ----------------------------------------------------------------------------- faults


def _switch(page: str, name: str) -> str:
    found = re.search(
        rf'data-switch="{name}">.*?aria-checked="(true|false)"', page, flags=re.DOTALL
    )
    assert found is not None, page
    return found.group(1)


def test_fault_switch_round_trip(
    client: TestClient, admin: dict[str, str], console: Console
) -> None:
    """A switch turned on shows aria-checked=true and is exactly one rule; on again adds
    none; off shows false and removes it."""
    company = default_company(client)
    page = console.get("/console/faults")
    assert {_switch(page.text, n) for n in ("throttle", "outage", "slow")} == {"false"}

    for _ in range(2):
        on = console.post(
            "/console/faults/switch", {"name": "throttle", "company": company, "on": "true"}
        )
        assert on.status_code == 303, on.text
        assert on.headers["location"].startswith("/console/faults?")
        after = console.get(on.headers["location"])
        assert _switch(after.text, "throttle") == "true"
        assert _switch(after.text, "outage") == "false"
        assert "Switch turned on." in after.text
        (rule,) = rules(client, admin)
        assert (rule["company"], rule["status"], rule["retryAfter"]) == (company, 429, 5)
        assert rule["count"] is None

    off = console.post(
        "/console/faults/switch", {"name": "throttle", "company": company, "on": "false"}
    )
    assert off.status_code == 303, off.text
    assert _switch(console.get(off.headers["location"]).text, "throttle") == "false"
    assert rules(client, admin) == []


def test_custom_rules_are_checked_and_then_act(
    client: TestClient, admin: dict[str, str], console: Console
) -> None:
    """Invalid JSON or an invalid rule is a 400 page saying why, keeping the draft, with
    no rule added; a valid rule from the form makes the next API request answer 503."""
    for draft, expected in (
        ("{not json", "the rule is not JSON"),
        ("", "the rule is not JSON"),
        ('{"status": 418}', None),
        ('{"status": 503, "colour": "red"}', None),
        ("[1, 2]", None),
    ):
        answer = console.post("/console/faults", {"rule": draft})
        assert answer.status_code == 400, draft
        assert answer.headers["content-type"].startswith("text/html")
        reason = expected
        if reason is None:
            api = client.post("/_admin/faults", content=draft, headers=admin)
            assert api.status_code == 400, api.text
            reason = api.json()["detail"]
        assert str(escape(reason)) in answer.text, draft
        assert f'spellcheck="false">{escape(draft)}</textarea>' in answer.text
        assert rules(client, admin) == []

    added = console.post(
        "/console/faults", {"rule": '{"status": 503, "retryAfter": 1, "count": 1}'}
    )
    assert added.status_code == 303, added.text
    (rule,) = rules(client, admin)
    assert (rule["status"], rule["retryAfter"], rule["count"]) == (503, 1, 1)
    listed = console.get("/console/faults")
    assert f"<code>{rule['id']}</code>" in listed.text

    unavailable = client.get("/scim/v2/Users")
    assert unavailable.status_code == 503, unavailable.text
    assert unavailable.headers["Retry-After"] == "1"
    assert client.get("/scim/v2/Users").status_code == 200  # count 1: spent


def test_form_mistakes_are_pages_not_json(client: TestClient, console: Console) -> None:
    """What a form can get wrong (a rule already removed, a switch or company that does not
    exist, a body too large or not UTF-8, a sign-in from another site) is answered as an
    HTML page with the API's status, and changes nothing."""
    company = default_company(client)
    cases = [
        (console.post("/console/faults/no-such-rule/delete", {}), 404, "no fault rule"),
        (console.post("/console/faults/switch", {"name": "nope", "company": company}), 400, ""),
        (
            console.post("/console/faults/switch", {"name": "throttle", "company": "nope"}),
            400,
            "",
        ),
    ]
    too_large = console.http.post(
        "/console/faults",
        content=b"csrf=" + console.csrf.encode() + b"&rule=" + b"x" * 70_000,
        headers={"Origin": ORIGIN, "Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    cases.append((too_large, 413, "exceeds"))
    not_utf8 = console.http.post(
        "/console/faults",
        content=b"csrf=" + console.csrf.encode() + b"&rule=\xff\xfe",
        headers={"Origin": ORIGIN, "Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    cases.append((not_utf8, 400, "UTF-8"))
    foreign = browser(client)
    try:
        signed = foreign.post(
            "/console/login",
            data={"token": admin_token(client)},
            headers={"Origin": "https://evil.example"},
            follow_redirects=False,
        )
        cases.append((signed, 403, "another site"))
        assert COOKIE not in foreign.cookies
    finally:
        foreign.close()
    for answer, status, words in cases:
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"].startswith("text/html"), answer.headers
        assert words in answer.text
        assert_console_headers(answer)
    assert rules(client, {"Authorization": f"Bearer {admin_token(client)}"}) == []
