"""Company isolation, for every route of every dialect (issue item 4).

A token of company A can never read, list, search, change, delete or learn the existence of
company B's users, groups, provisions or statuses: another company's id answers exactly what
an unknown id answers (404, never 403), lists and searches show nothing of B's, and B's data
reads the same with B's token before and after A's calls.

The routes come from the application's route table (:func:`support.isolation.app_routes`);
:data:`PROBES` says how each (method, path template) is exercised. A route missing from the
table fails ``test_route_keeps_companies_apart`` ("unclassified route"), a table entry the app
no longer serves fails ``test_probe_table_has_no_stale_routes``: a new route cannot escape.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from support.databases import temporary_database
from support.factories import CORE_GROUP, group_body, patch, user_body
from support.isolation import (
    CONSOLE_FORMS,
    CONSOLE_PAGES,
    CONSOLE_PUBLIC,
    CORE_USER_URN,
    ROLE_GROUPS,
    TOKEN_A,
    TOKEN_B,
    V1,
    TwoCompanyVerifier,
    World,
    app_routes,
    build_world,
    concur_user,
    normalized,
    secret,
    snapshot,
    v1_batch,
    v1_profile,
)
from support.ups import (
    APPROVER,
    ENTERPRISE,
    IDV4,
    PATCH_OP,
    UPS,
    bulk_body,
    full_user,
    identity,
    operation,
)

from concur_scim.app import create_app
from concur_scim.config import Settings
from concur_scim.store.tables import companies

RFC_SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
CONCUR_SEARCH = "urn:ietf:params:scim:api:messages:concur:2.0:SearchRequest"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
UPS_ROOTS = ("/profile/v4", "/provisioning/v4")
DEADLINE_SECONDS = 30.0
NOT_FOUND = {404}

# ----------------------------------------------------------------------------- the harness


@dataclass
class Ctx:
    """Both companies' clients, B's data and its baseline; every call A makes is checked."""

    a: TestClient
    b: TestClient
    world: World
    baseline: dict[str, Any]
    sent: list[str] = field(default_factory=list)

    def call(
        self,
        method: str,
        url: str,
        *,
        expect: set[int] | None = None,
        params: dict[str, str] | None = None,
        body: Any = None,
        xml: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """A's request; fails if the answer names anything of B's that A did not send."""
        content = xml if xml is not None else None if body is None else json.dumps(body)
        self.sent.append(f"{url} {params} {content}")
        wanted = dict(headers or {})
        if content is not None and xml is None:
            wanted.setdefault("Content-Type", "application/scim+json")
        response = self.a.request(method, url, params=params, content=content, headers=wanted)
        told = " ".join(self.sent)
        leaked = sorted(m for m in self.world.markers() if m in response.text and m not in told)
        assert not leaked, f"{method} {url} answered B's {leaked}: {response.text[:500]}"
        if expect is not None:
            assert response.status_code in expect, (method, url, response.text[:500])
        return response

    def b_unchanged(self) -> None:
        """B's data, read with B's token, is what it was before A's calls."""
        assert snapshot(self.b, self.world) == self.baseline


Probe = Callable[[Ctx, str, str], None]


def fill(path: str, value: str) -> str:
    """``path`` with its one path parameter replaced by ``value``."""
    filled, count = re.subn(r"\{[^}]+\}", value, path)
    assert count == 1, path
    return filled


def b_ids(world: World, kind: str) -> list[str]:
    """B's ids of ``kind``."""
    return {
        "user": list(world.b_users.values()),
        "group": [world.b_group],
        "role_group": [world.b_role_group],
        "provision": world.b_provisions,
    }[kind]


def indistinguishable(ctx: Ctx, method: str, path: str, kind: str, body: Any = None) -> None:
    """Every B id of ``kind`` in ``path`` answers 404, exactly as an unknown id does."""
    unknown = str(uuid.uuid4())
    for theirs in b_ids(ctx.world, kind):
        answer = ctx.call(method, fill(path, theirs), body=body, expect=NOT_FOUND)
        control = ctx.call(method, fill(path, unknown), body=body, expect=NOT_FOUND)
        assert normalized(answer.text, [theirs]) == normalized(control.text, [unknown])
        assert {k: v for k, v in answer.headers.items() if k.lower() == "etag"} == {}


# ----------------------------------------------------------------------------- probes


def static(ctx: Ctx, method: str, path: str) -> None:
    """Discovery and configuration: the same for every company, nothing of B's."""
    url = path.replace("{name}", "User").replace("{urn}", CORE_USER_URN)
    headers = {"Authorization": f"OAuth {TOKEN_A}"} if url.startswith("/api/") else None
    ctx.call(method, url, expect={200}, headers=headers)


def docs_asset(ctx: Ctx, method: str, path: str) -> None:
    """An asset of /docs: a file of the package, the same for every company."""
    ctx.call(method, path.replace("{name}", "swagger-ui.css"), expect={200})


def foreign(kind: str, body: Callable[[World], Any] | None = None) -> Probe:
    """A route addressing one resource: B's ids are not found, as unknown ids are."""

    def run(ctx: Ctx, method: str, path: str) -> None:
        indistinguishable(ctx, method, path, kind, body(ctx.world) if body else None)

    return run


Query = Callable[[World], dict[str, str]]


def listing(*queries: Query, total: str = "totalResults") -> Probe:
    """A list: plain, then with each of ``queries`` (which name B's data and find nothing)."""

    def run(ctx: Ctx, method: str, path: str) -> None:
        ctx.call(method, path, expect={200})
        for query in queries:
            found = ctx.call(method, path, params=query(ctx.world), expect={200}).json()
            if total in found:
                assert found[total] == 0, found
            else:
                assert not found.get("Items", found.get("Resources")), found

    return run


def search(*bodies: Callable[[World], dict[str, Any]], total: str = "totalResults") -> Probe:
    """A ``.search``: everything, then each of ``bodies`` (filters naming B's data); the
    count is ``total`` (User Retrieval's ``total``, reference §9 item 10)."""

    def run(ctx: Ctx, method: str, path: str) -> None:
        schema = CONCUR_SEARCH if "/identity/" in path else RFC_SEARCH
        ctx.call(method, path, body={"schemas": [schema]}, expect={200})
        for make in bodies:
            found = ctx.call(method, path, body={"schemas": [schema], **make(ctx.world)})
            assert found.status_code == 200, found.text
            assert found.json()[total] == 0, found.text

    return run


def by_user_name(w: World) -> dict[str, str]:
    return {"filter": f'userName eq "{w.b_user_name}"'}


def by_id(w: World) -> dict[str, str]:
    return {"filter": f'id eq "{w.b_users["v2"]}"'}


def by_employee_number(w: World) -> dict[str, str]:
    return {"filter": f'employeeNumber eq "{sorted(w.b_strings)[0]}"'}


def create_user(status: int, *, concur: bool) -> Probe:
    """A create naming B's userName (409: userNames are unique across companies), B's
    company or B's user as manager is refused; a plain create of A's user succeeds."""

    def run(ctx: Ctx, method: str, path: str) -> None:
        make = concur_user if concur else user_body
        w = ctx.world
        ctx.call(method, path, body={**make(), "userName": w.b_user_name}, expect={409})
        if concur:
            ctx.call(method, path, body=concur_user(companyId=w.company_b), expect={400})
            manager = {"value": w.b_users["ups"]}
            ctx.call(method, path, body=concur_user(manager=manager), expect={400})
        ctx.call(method, path, body=make(), expect={status})

    return run


def create_group(ctx: Ctx, method: str, path: str) -> None:
    """A group of A cannot hold B's users or groups; one with A's user is created."""
    w = ctx.world
    for member in (w.b_users["v2"], w.b_group):
        refused = ctx.call(method, path, body=group_body(members=[{"value": member}]))
        control = ctx.call(method, path, body=group_body(members=[{"value": "nobody-at-all"}]))
        assert refused.status_code == control.status_code == 400, refused.text
        assert normalized(refused.text, [member]) == normalized(control.text, ["nobody-at-all"])
    ctx.call(method, path, body=group_body(members=[{"value": w.a_user}]), expect={201})


def wait_as_a(ctx: Ctx, root: str, provision_id: str) -> dict[str, Any]:
    """A's provision request, polled with A's token until completed (with operations)."""
    url = f"{root}/provisions/{provision_id}/status"
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not ctx.call("GET", url, expect={200}).json()["status"]["completed"]:
        assert time.monotonic() < deadline, f"provision {provision_id} still pending"
        time.sleep(0.05)
    found: dict[str, Any] = ctx.call(
        "GET", url, params={"attributes": "operations"}, expect={200}
    ).json()
    return found


def create_ups_user(ctx: Ctx, method: str, path: str) -> None:
    """UPS POST /Users: B's company, B's manager or B's userName is refused; A's user is
    created and its provisioning completes."""
    w = ctx.world
    root = path.removesuffix("/Users")
    ctx.call(method, path, body=identity(companyId=w.company_b), expect={400})
    ctx.call(method, path, body={**identity(), "userName": w.b_user_name}, expect={409})
    # A manager outside the company is left out with a warning, as an unknown one is.
    reports = []
    for manager in (w.b_users["ups"], str(uuid.uuid4())):
        created = ctx.call(method, path, body=identity(manager={"value": manager}), expect={201})
        assert "manager" not in created.json()[ENTERPRISE], created.text
        done = wait_as_a(ctx, root, created.json()["meta"]["provisionId"])
        reports.append(
            [
                (e["name"], e["status"], normalized(json.dumps(e.get("messages")), [manager]))
                for e in done["operations"][0]["extensions"]
            ]
        )
    assert reports[0] == reports[1]
    created = ctx.call(method, path, body=identity(), expect={201}).json()
    assert wait_as_a(ctx, root, created["meta"]["provisionId"])["status"]["success"] is True


def ups_patch(_w: World) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]}


def bulk(ctx: Ctx, method: str, path: str) -> None:
    """A /Bulk naming B's users fails each such operation exactly as for an unknown id, and
    a user referring to B's user as approver or manager gets no such reference."""
    w = ctx.world
    target, unknown = w.b_users["ups"], str(uuid.uuid4())
    ops = []
    for n, user_id in enumerate((target, unknown)):
        ops += [
            operation("PUT", f"/Users/{user_id}", identity(), f"put{n}"),
            operation("PATCH", f"/Users/{user_id}", ups_patch(w), f"patch{n}"),
            operation("DELETE", f"/Users/{user_id}", None, f"delete{n}"),
        ]
    referring = [full_user(approver=user_id, manager=user_id) for user_id in (target, unknown)]
    ops += [operation("POST", "/Users", body, f"ref{n}") for n, body in enumerate(referring)]
    accepted = ctx.call(method, path, body=bulk_body(ops), expect={202}).json()
    done = wait_as_a(ctx, path.removesuffix("/Bulk"), accepted["id"])
    outcome = {op["bulkId"]: op for op in done["operations"]}
    for name in ("put", "patch", "delete"):
        theirs, nobody = (
            {k: v for k, v in outcome[f"{name}{n}"].items() if k not in ("id", "bulkId")}
            for n in (0, 1)
        )
        assert theirs["status"]["code"] == nobody["status"]["code"] == "404", theirs
        assert normalized(json.dumps(theirs), [target]) == normalized(json.dumps(nobody), [unknown])
    theirs, nobody = outcome["ref0"], outcome["ref1"]
    assert theirs["status"] == nobody["status"], (theirs, nobody)
    assert [e["status"] for e in theirs["extensions"]] == [
        e["status"] for e in nobody["extensions"]
    ]
    approvers = {e["name"]: e["status"]["result"] for e in theirs["extensions"]}
    assert approvers.get(APPROVER) != "success", theirs
    ctx.sent.clear()  # what follows reads A's data: B's ids must not appear in it at all
    for body in referring[:1]:
        query = {"filter": f'userName eq "{body["userName"]}"'}
        for user in ctx.call("GET", f"{IDV4}/Users", params=query, expect={200}).json()[
            "Resources"
        ]:
            for view in ("/profile/spend/v4.1", "/profile/travel/v4", IDV4):
                ctx.call("GET", f"{view}/Users/{user['id']}", expect={200})


def scim_bulk(ctx: Ctx, method: str, path: str) -> None:
    """RFC 7644 §3.7 Bulk: an operation naming B's user or group answers exactly what it
    answers for an unknown id (404 in a path; 400 as a member or a manager); A's own
    create in the same request succeeds."""
    w = ctx.world

    def request(user_id: str, group_id: str) -> dict[str, Any]:
        title = patch({"op": "add", "path": "title", "value": "x"})
        manager = user_body(**{ENTERPRISE: {"manager": {"value": user_id}}})
        operations = [
            {"method": "PUT", "path": f"/Users/{user_id}", "data": user_body()},
            {"method": "PATCH", "path": f"/Users/{user_id}", "data": title},
            {"method": "DELETE", "path": f"/Users/{user_id}"},
            {"method": "PUT", "path": f"/Groups/{group_id}", "data": group_body()},
            {"method": "PATCH", "path": f"/Groups/{group_id}", "data": role_group_patch(w)},
            {"method": "DELETE", "path": f"/Groups/{group_id}"},
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "member",
                "data": group_body(members=[{"value": user_id}]),
            },
            {"method": "POST", "path": "/Users", "bulkId": "manager", "data": manager},
            {"method": "POST", "path": "/Users", "bulkId": "own", "data": user_body()},
        ]
        return {"schemas": [BULK_REQUEST], "Operations": operations}

    unknown_user, unknown_group = str(uuid.uuid4()), str(uuid.uuid4())
    theirs = ctx.call(method, path, body=request(w.b_users["v2"], w.b_group), expect={200})
    control = ctx.call(method, path, body=request(unknown_user, unknown_group), expect={200})
    statuses = [r["status"] for r in theirs.json()["Operations"]]
    assert statuses == ["404"] * 6 + ["400", "400", "201"], theirs.text
    refused = [json.dumps(answer.json()["Operations"][:-1]) for answer in (theirs, control)]
    assert normalized(refused[0], [w.b_users["v2"], w.b_group]) == normalized(
        refused[1], [unknown_user, unknown_group]
    )


def role_group_patch(w: World) -> dict[str, Any]:
    return patch({"op": "add", "path": "members", "value": [{"value": w.a_user}]})


def role_group_put(w: World) -> dict[str, Any]:
    return {"schemas": [CORE_GROUP], "members": [{"value": w.a_user}]}


def v1_headers() -> dict[str, str]:
    return {"Authorization": f"OAuth {TOKEN_A}", "Content-Type": "application/xml"}


def v1_post_users(ctx: Ctx, method: str, path: str) -> None:
    """A v1.0 batch cannot update B's user (its LoginId is taken across companies) nor name
    B's employee as approver (answered as an unknown one); A's own record is created."""
    w = ctx.world
    taken = ctx.call(
        method,
        path,
        xml=v1_batch(v1_profile(w.b_v1_login, f"A{secret()}")),
        headers=v1_headers(),
        expect={200},
    )
    assert b"<records-failed>1</records-failed>" in taken.content, taken.text
    login, emp, unknown = f"a{secret()}@acorp.example", f"A{secret()}", f"Z{secret()}"
    answers = [
        ctx.call(
            method,
            path,
            xml=v1_batch(v1_profile(login, emp, ExpenseApproverEmployeeID=approver)),
            headers=v1_headers(),
            expect={200},
        )
        for approver in (w.b_v1_emp, unknown)
    ]
    assert b"<records-failed>1</records-failed>" in answers[0].content, answers[0].text
    assert normalized(answers[0].text, [w.b_v1_emp]) == normalized(answers[1].text, [unknown])
    created = ctx.call(
        method, path, xml=v1_batch(v1_profile(login, emp)), headers=v1_headers(), expect={200}
    )
    assert b"<records-succeeded>1</records-succeeded>" in created.content, created.text


def v1_get_user(ctx: Ctx, method: str, path: str) -> None:
    """B's loginID is not found, exactly as an unknown one (XML and JSON)."""
    unknown = f"nobody-{secret()}@example.com"
    for accept in ("application/xml", "application/json"):
        headers = {"Authorization": f"OAuth {TOKEN_A}", "Accept": accept}
        answers = [
            ctx.call(method, path, params={"loginID": login}, headers=headers, expect=NOT_FOUND)
            for login in (ctx.world.b_v1_login, unknown)
        ]
        assert normalized(answers[0].text, [ctx.world.b_v1_login]) == normalized(
            answers[1].text, [unknown]
        )


def v1_passwords(ctx: Ctx, method: str, path: str) -> None:
    """B's loginID fails, exactly as an unknown one."""
    unknown = f"nobody-{secret()}@example.com"
    answers = []
    for login in (ctx.world.b_v1_login, unknown):
        body = (
            f'<UserBatch xmlns="http://www.concursolutions.com/api/user/2011/02">'
            f"<User><LoginID>{login}</LoginID><Password>Pw-2</Password></User></UserBatch>"
        )
        answers.append(ctx.call(method, path, xml=body, headers=v1_headers(), expect={200}))
    assert b"<RecordsFailed>1</RecordsFailed>" in answers[0].content, answers[0].text
    assert normalized(answers[0].text, [ctx.world.b_v1_login]) == normalized(
        answers[1].text, [unknown]
    )


def oauth_token(ctx: Ctx, method: str, path: str) -> None:
    """A token request naming B's company is refused exactly as one naming an unknown
    company (the grant needs a client and a request token of that company)."""
    unknown = str(uuid.uuid4())
    answers = []
    for company in (ctx.world.company_b, unknown):
        form = {
            "grant_type": "password",
            "credtype": "authtoken",
            "username": company,
            "password": "not-a-request-token",
            "client_id": "client-of-a",
            "client_secret": "wrong",
        }
        answers.append(
            ctx.call(
                method,
                path,
                xml=urlencode(form),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        )
    assert answers[0].status_code == answers[1].status_code != 200, answers[0].text
    assert normalized(answers[0].text, [ctx.world.company_b]) == normalized(
        answers[1].text, [unknown]
    )


def v3_query(key: str, pick: Callable[[World], str]) -> Query:
    return lambda w: {key: pick(w)}


# ----------------------------------------------------------------------------- the table


def _probe_table() -> dict[tuple[str, str], Probe]:
    """How each (method, path template) the application serves is exercised."""
    table: dict[tuple[str, str], Probe] = {
        ("GET", "/healthz"): static,
        ("GET", "/readyz"): static,
        # Prometheus metrics: labels carry no company, user or id (api/metrics.py).
        ("GET", "/metrics"): static,
        # OAuth2: the public key set, and grants that are about credentials, not tokens.
        ("GET", "/oauth2/v0/jwks"): static,
        ("POST", "/oauth2/v0/token"): oauth_token,
        # The API's description and its Swagger UI: the same for every company.
        ("GET", "/openapi.json"): static,
        ("GET", "/docs"): static,
        ("GET", "/docs/assets/{name}"): docs_asset,
    }
    _user_routes(table)
    _other_routes(table)
    return table


def _user_routes(table: dict[tuple[str, str], Probe]) -> None:
    """The SCIM-style dialects: discovery, Users, and their searches."""
    user_put = {
        "/scim/v2": lambda _w: user_body(),
        "/profile/identity/v4": lambda _w: concur_user(),
        "/profile/identity/v4.1": lambda _w: concur_user(),
        "/scim/v4": lambda _w: concur_user(),
    }
    user_lists: dict[str, tuple[Query, ...]] = {
        "/scim/v2": (by_user_name, by_id),
        "/profile/identity/v4": (by_user_name,),
        "/profile/identity/v4.1": (),
        "/scim/v4": (by_user_name, by_id),
    }
    replace_name = patch({"op": "replace", "path": "displayName", "value": "Renamed"})
    for prefix, put_body in user_put.items():
        for tail in ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas"):
            table["GET", prefix + tail] = static
        table["GET", f"{prefix}/ResourceTypes/{{name}}"] = static
        table["GET", f"{prefix}/Schemas/{{urn}}"] = static
        table["GET", f"{prefix}/Users"] = listing(*user_lists[prefix])
        concur = prefix != "/scim/v2"
        status = 200 if "/identity/" in prefix else 201
        table["POST", f"{prefix}/Users"] = create_user(status, concur=concur)
        one = f"{prefix}/Users/{{resource_id}}"
        table["GET", one] = foreign("user")
        table["PUT", one] = foreign("user", put_body)
        table["PATCH", one] = foreign("user", lambda _w: replace_name)
        table["DELETE", one] = foreign("user")
    user_search = (
        by_user_name,
        lambda w: {"filter": f'emails.value eq "{w.b_v2_secret}@mail.bcorp.example"'},
    )
    table["POST", "/scim/v2/.search"] = search(*user_search)
    table["POST", "/scim/v2/Users/.search"] = search(*user_search)
    table["POST", "/profile/identity/v4.1/Users/.search"] = search(*user_search, by_id)


def _other_routes(table: dict[tuple[str, str], Probe]) -> None:
    """Groups, role groups, UPS, the read views, User v1.0 and Users v3.0."""
    by_group_name: Query = lambda w: {"filter": f'displayName eq "{w.b_group_name}"'}  # noqa: E731
    table["GET", "/scim/v2/Groups"] = listing(by_group_name)
    table["POST", "/scim/v2/Groups/.search"] = search(by_group_name)
    table["POST", "/scim/v2/Groups"] = create_group
    group = "/scim/v2/Groups/{resource_id}"
    table["GET", group] = foreign("group")
    table["PUT", group] = foreign("group", lambda w: group_body(members=[{"value": w.a_user}]))
    table["PATCH", group] = foreign("group", role_group_patch)
    table["DELETE", group] = foreign("group")
    table["POST", "/scim/v2/Bulk"] = scim_bulk
    # SCIM v4 Groups: the role catalogue; A sees its own catalogue, never B's ids or members.
    table["GET", ROLE_GROUPS] = listing()
    role = f"{ROLE_GROUPS}/{{group_id}}"
    table["GET", role] = foreign("role_group")
    table["PATCH", role] = foreign("role_group", role_group_patch)
    table["PUT", role] = foreign("role_group", role_group_put)
    for root in UPS_ROOTS:
        for tail in ("/ServiceProviderConfig", "/ResourceTypes", "/Schemas"):
            table["GET", root + tail] = static
        table["GET", f"{root}/ResourceTypes/{{name}}"] = static
        table["GET", f"{root}/Schemas/{{urn}}"] = static
        table["POST", f"{root}/Users"] = create_ups_user
        table["PUT", f"{root}/Users/{{user_id}}"] = foreign("user", lambda _w: identity())
        table["PATCH", f"{root}/Users/{{user_id}}"] = foreign("user", ups_patch)
        table["DELETE", f"{root}/Users/{{user_id}}"] = foreign("user")
        table["POST", f"{root}/Bulk"] = bulk
        table["GET", f"{root}/provisions/{{provision_id}}/status"] = foreign("provision")
        # User Retrieval: A finds none of B's users by name, id, email, employee number or
        # spend data (the filter also reads the user's Spend User row).
        table["POST", f"{root}/Users/.search"] = search(
            by_user_name,
            by_id,
            lambda w: {"filter": f'emails.value eq "{w.b_v2_secret}@mail.bcorp.example"'},
            lambda w: {"filter": f'id eq "{w.b_users["bulk"]}" or id eq "{w.b_users["ups"]}"'},
            lambda w: {
                "filter": f'id eq "{w.b_users["ups"]}" and '
                f'urn:ietf:params:scim:schemas:extension:spend:2.0:User:country eq "US"'
            },
            lambda w: {"filter": f"{ENTERPRISE}:{by_employee_number(w)['filter']}"},
            total="total",
        )
    # Spend and travel read views.
    table["GET", "/profile/spend/v4.1/Users"] = listing()
    table["GET", "/profile/spend/v4.1/Users/{user_id}"] = foreign("user")
    table["GET", "/profile/spend/v4/Users/roleCodes"] = static
    table["GET", "/profile/travel/v4/Users/{user_id}"] = foreign("user")
    # User v1.0 and the Users v3.0 list.
    table["POST", f"{V1}/users"] = v1_post_users
    table["GET", f"{V1}/user"] = v1_get_user
    table["GET", f"{V1}/formfields"] = static
    table["POST", f"{V1}/users/password"] = v1_passwords
    table["GET", "/api/v3.0/common/users"] = listing(
        v3_query("user", lambda w: w.b_v1_login),
        v3_query("user", lambda w: w.b_user_name),
        v3_query("primaryemail", lambda w: w.b_v1_login),
        v3_query("employeeid", lambda w: w.b_v1_emp),
    )


def admin_only(ctx: Ctx, method: str, path: str) -> None:
    """The admin API is not company-scoped by a company token: it answers only the admin
    token, so A's token is refused (401) before anything of anyone's is read or changed."""
    url = path.replace("{rule_id}", str(uuid.uuid4())).replace("{company_id}", ctx.world.company_b)
    body: dict[str, Any] | None = {} if method in ("POST", "PUT") else None
    answer = ctx.call(method, url, body=body, expect={401})
    assert "admin token" in answer.text, answer.text


def console_only(ctx: Ctx, method: str, path: str) -> None:
    """The console answers the admin token only: A's company token, on a page or a form
    naming B's company, users or rules, is sent to the sign-in form and changes nothing."""
    url = path.replace("{company_id}", ctx.world.company_b)
    url = re.sub(r"\{[^}]+\}", ctx.world.b_users["v2"], url)
    body: dict[str, Any] | None = {} if method == "POST" else None
    answer = ctx.call(method, url, body=body, expect={200})
    assert answer.url.path == "/console/login", (method, url, answer.url)


def console_public(ctx: Ctx, method: str, path: str) -> None:
    """Sign-in and the console's assets: the same for everyone; A's company token is not
    the admin token, so signing in with it fails (401)."""
    if path == "/console/static/{name}":
        ctx.call(method, path.replace("{name}", "console.css"), expect={200})
    elif path == "/console/{rest:path}":
        url = f"/console/nothing/{ctx.world.company_b}"
        answer = ctx.call(method, url, expect={404})
        assert answer.headers["content-type"].startswith("text/html")
    elif method == "POST":
        ctx.call(method, path, body={"token": TOKEN_A}, expect={401})
    else:
        ctx.call(method, path, expect={200})


def _admin_routes(table: dict[tuple[str, str], Probe]) -> None:
    for method, path in (
        ("GET", "/_admin/journal"),
        ("GET", "/_admin/provisions"),
        ("POST", "/_admin/reset"),
        ("POST", "/_admin/seed"),
        ("POST", "/_admin/faults"),
        ("GET", "/_admin/faults"),
        ("DELETE", "/_admin/faults"),
        ("DELETE", "/_admin/faults/{rule_id}"),
        ("POST", "/_admin/worker/pause"),
        ("POST", "/_admin/worker/resume"),
        ("PUT", "/_admin/webhooks/{company_id}"),
        ("GET", "/_admin/webhooks/{company_id}"),
        ("DELETE", "/_admin/webhooks/{company_id}"),
    ):
        table[method, path] = admin_only
    table |= dict.fromkeys(CONSOLE_PAGES + CONSOLE_FORMS, console_only)
    table |= dict.fromkeys(CONSOLE_PUBLIC, console_public)


PROBES = _probe_table()
_admin_routes(PROBES)
ROUTES = app_routes(create_app(Settings(database_url="sqlite://")))


def route_id(route: tuple[str, str]) -> str:
    return f"{route[0]} {route[1]}"


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def ctx(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ctx]:
    """An application on a database of its own holding companies A and B, B's data in
    every dialect, and B's baseline read with B's token."""
    with temporary_database(database_url, tmp_path_factory.mktemp("isolation")) as url:
        app = create_app(Settings(database_url=url, max_payload_bytes=262_144))
        with TestClient(app, raise_server_exceptions=False) as running:
            company_a, company_b = str(uuid.uuid4()), str(uuid.uuid4())
            services = app.state.services
            with services.engine.begin() as conn:
                for company, label in ((company_a, "A"), (company_b, "B")):
                    conn.execute(
                        companies.insert().values(
                            id=company, name=label, is_default=False, created=datetime.now(UTC)
                        )
                    )
            verifier = TwoCompanyVerifier(company_a, company_b)
            app.state.services = replace(services, verifier=verifier)
            a = TestClient(
                app,
                headers={"Authorization": f"Bearer {TOKEN_A}"},
                raise_server_exceptions=False,
            )
            b = TestClient(
                app,
                headers={"Authorization": f"Bearer {TOKEN_B}"},
                raise_server_exceptions=False,
            )
            world = build_world(b, a, company_a, company_b)
            yield Ctx(a=a, b=b, world=world, baseline=snapshot(b, world))
            del running
            app.state.services = services


# ----------------------------------------------------------------------------- tests


def test_probe_table_has_no_stale_routes() -> None:
    """Every classified route is still served (the table is the route table, no more)."""
    assert sorted(set(PROBES) - set(ROUTES)) == []


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
def test_route_keeps_companies_apart(ctx: Ctx, route: tuple[str, str]) -> None:
    """A's token on this route reaches nothing of B's, and B's data is unchanged after."""
    method, path = route
    probe = PROBES.get(route)
    assert probe is not None, f"unclassified route: {method} {path} (add it to PROBES)"
    ctx.sent.clear()
    if path.startswith(UPS_ROOTS):
        # UPS: a companyId parameter naming B is refused before anything else (§3.1).
        url = path.replace("{name}", "User").replace("{urn}", CORE_USER_URN)
        url = re.sub(r"\{[^}]+\}", ctx.world.b_users["ups"], url)
        body = identity() if method in ("POST", "PUT", "PATCH") else None
        refused = ctx.call(
            method, url, params={"companyId": ctx.world.company_b}, body=body, expect={400}
        )
        assert "companyId" in refused.text, refused.text
    probe(ctx, method, path)
    if method != "GET":
        ctx.b_unchanged()


def test_a_group_cannot_take_b_members(ctx: Ctx) -> None:
    """Adding B's user to A's group (PATCH or PUT, SCIM 2.0 and SCIM v4 role groups) is
    refused as for an unknown id, and no membership appears on either side."""
    w = ctx.world
    ctx.sent.clear()
    unknown = str(uuid.uuid4())
    attempts: list[tuple[str, str, Callable[[str], Any]]] = [
        (
            "PATCH",
            f"/scim/v2/Groups/{w.a_group}",
            lambda m: patch({"op": "add", "path": "members", "value": [{"value": m}]}),
        ),
        (
            "PUT",
            f"/scim/v2/Groups/{w.a_group}",
            lambda m: group_body(members=[{"value": w.a_user}, {"value": m}]),
        ),
        (
            "PATCH",
            f"{ROLE_GROUPS}/{w.a_role_group}",
            lambda m: patch({"op": "add", "path": "members", "value": [{"value": m}]}),
        ),
        (
            "PUT",
            f"{ROLE_GROUPS}/{w.a_role_group}",
            lambda m: {"schemas": [CORE_GROUP], "members": [{"value": m}]},
        ),
    ]
    before = [ctx.call("GET", url, expect={200}).json() for _, url, _ in attempts]
    for member in (w.b_users["v2"], w.b_users["ups"]):
        for method, url, make in attempts:
            theirs = ctx.call(method, url, body=make(member))
            nobody = ctx.call(method, url, body=make(unknown))
            assert theirs.status_code in (400, 404), theirs.text
            assert theirs.status_code == nobody.status_code
            assert normalized(theirs.text, [member]) == normalized(nobody.text, [unknown])
    ctx.sent.clear()
    after = [ctx.call("GET", url, expect={200}).json() for _, url, _ in attempts]
    assert after == before
    ctx.b_unchanged()


def test_ups_references_to_b_users_fail(ctx: Ctx) -> None:
    """UPS POST /Users naming B's user as approver or delegate: the extension fails as for
    an unknown user, and A's user holds no reference to B."""
    w = ctx.world
    ctx.sent.clear()
    statuses, mine = [], []
    for approver in (w.b_users["ups"], str(uuid.uuid4())):
        created = ctx.call("POST", f"{UPS}/Users", body=full_user(approver=approver))
        assert created.status_code == 201, created.text
        mine.append(created.json()["id"])
        done = wait_as_a(ctx, UPS, created.json()["meta"]["provisionId"])
        statuses.append(done["operations"][0])
    theirs, nobody = statuses
    assert theirs["status"] == nobody["status"]
    assert theirs["status"]["success"] is False
    results = {e["name"]: e["status"]["result"] for e in theirs["extensions"]}
    assert results[APPROVER] not in ("success", "no-op"), theirs
    assert [e["status"] for e in theirs["extensions"]] == [
        e["status"] for e in nobody["extensions"]
    ]
    ctx.sent.clear()  # A's user, read back, holds no reference to B's
    ctx.call("GET", f"/profile/spend/v4.1/Users/{mine[0]}", expect={200})
    ctx.call("GET", "/profile/spend/v4.1/Users", expect={200})
    ctx.b_unchanged()


def test_company_id_naming_b_is_refused(ctx: Ctx) -> None:
    """The enterprise companyId naming B is refused on create, PUT and PATCH of A's user
    (Concur dialects); the UPS companyId parameter naming B is refused (every UPS route is
    also checked in ``test_route_keeps_companies_apart``)."""
    w = ctx.world
    ctx.sent.clear()
    mine = ctx.call("POST", f"{IDV4}/Users", body=concur_user(), expect={200}).json()
    for prefix in ("/profile/identity/v4", "/profile/identity/v4.1", "/scim/v4"):
        ctx.call("POST", f"{prefix}/Users", body=concur_user(companyId=w.company_b), expect={400})
        body = {**concur_user(companyId=w.company_b), "userName": mine["userName"]}
        ctx.call("PUT", f"{prefix}/Users/{mine['id']}", body=body, expect={400})
        op = {"op": "replace", "path": f"{ENTERPRISE}:companyId", "value": w.company_b}
        ctx.call("PATCH", f"{prefix}/Users/{mine['id']}", body=patch(op), expect={400})
    for root in UPS_ROOTS:
        params = {"companyId": w.company_b}
        ctx.call("POST", f"{root}/Users", params=params, body=identity(), expect={400})
    ctx.sent.clear()
    stored = ctx.call("GET", f"{IDV4}/Users/{mine['id']}", expect={200}).json()
    assert stored[ENTERPRISE]["companyId"] == w.company_a
    ctx.b_unchanged()
