"""Two companies on one application, for the company-isolation tests.

:class:`TwoCompanyVerifier` maps one bearer token to each company. :func:`build_world`
creates company B's data through the API (every dialect: SCIM 2.0 users and groups,
Identity v4, UPS ``POST /Users`` and ``/Bulk`` with every extension, SCIM v4 role-group
membership, User v1.0) and a little of company A's. :func:`snapshot` reads everything of B's
with B's token, so a test can prove B's data unchanged. :func:`app_routes` lists the
application's routes (method, path template) from its route table.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from concur_scim.api.deps import Principal
from support.factories import group_body, patch, user_body
from support.ups import (
    ENTERPRISE,
    IDV4,
    SPEND,
    TRAVEL,
    UPS,
    full_user,
    operation,
    run_bulk,
    wait,
)

TOKEN_A = "token-a"
TOKEN_B = "token-b"
V1 = "/api/user/v1.0"
V1_NS = "http://www.concursolutions.com/api/user/2011/02"
ROLE_GROUPS = "/scim/v4/Groups"
CORE_USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"


class TwoCompanyVerifier:
    """``token-a`` → company A, ``token-b`` → company B (every scope); nothing else."""

    def __init__(self, company_a: str, company_b: str) -> None:
        self._principals = {
            TOKEN_A: Principal(company_id=company_a, subject="tester-a"),
            TOKEN_B: Principal(company_id=company_b, subject="tester-b"),
        }

    def principal_for(self, token: str) -> Principal | None:
        """The company principal of ``token``, or None."""
        return self._principals.get(token)

    def known_principal(self, token: str) -> Principal | None:
        """As :meth:`principal_for` (no I/O)."""
        return self.principal_for(token)


def app_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path template) the application serves, from its route table.

    A route that is not a FastAPI ``APIRoute`` (a mount, a plain Starlette route) is listed
    with method ``"*"``, so that it cannot go unnoticed either.
    """
    found: set[tuple[str, str]] = set()
    for context in iter_route_contexts(app.routes):
        path = context.path or repr(context.original_route)
        if not isinstance(context.original_route, APIRoute):
            found.add(("*", path))
            continue
        for method in context.methods or ():
            found.add((method, path))
    return sorted(found, key=lambda r: (r[1], r[0]))


def secret() -> str:
    """A string no other data of the test session contains."""
    return uuid.uuid4().hex[:12]


def concur_user(**enterprise: Any) -> dict[str, Any]:
    """A user valid for the Concur dialects (Identity v4, v4.1, SCIM v4)."""
    n = secret()
    return {
        "schemas": [CORE_USER_URN, ENTERPRISE],
        "userName": f"c{n}@example.com",
        "active": True,
        "name": {"givenName": "Given", "familyName": "Family"},
        "emails": [{"value": f"c{n}@example.com", "type": "work"}],
        ENTERPRISE: {"employeeNumber": f"E{n}", **enterprise},
    }


def v1_batch(*profiles: dict[str, str]) -> str:
    """A User v1.0 batch of ``profiles`` (element name → text)."""
    inner = "".join(
        "<UserProfile>" + "".join(f"<{k}>{v}</{k}>" for k, v in p.items()) + "</UserProfile>"
        for p in profiles
    )
    return f'<batch xmlns="{V1_NS}">{inner}</batch>'


def v1_profile(login: str, emp: str, **extra: str) -> dict[str, str]:
    """The fields a User v1.0 create needs, plus ``extra``."""
    return {
        "EmpId": emp,
        "FeedRecordNumber": "1",
        "LoginId": login,
        "FirstName": "Vee",
        "LastName": "One",
        "EmailAddress": login,
        "Password": "Pw-1",
        "LedgerKey": "DEFAULT",
        "LocaleName": "en_US",
        "CtryCode": "US",
        "CrnKey": "USD",
        **extra,
    }


def v1_post(client: TestClient, token: str, body: str) -> Any:
    """POST a User v1.0 batch with ``OAuth <token>``."""
    headers = {"Authorization": f"OAuth {token}", "Content-Type": "application/xml"}
    return client.post(f"{V1}/users", content=body, headers=headers)


@dataclass
class World:
    """The ids and names of both companies' data; B's are what A must never reach."""

    company_a: str
    company_b: str
    b_users: dict[str, str] = field(default_factory=dict)  # label → user id
    b_strings: set[str] = field(default_factory=set)  # userNames, emails, employee numbers
    b_group: str = ""
    b_group_name: str = ""
    b_role_group: str = ""
    b_role_groups: list[str] = field(default_factory=list)
    b_provisions: list[str] = field(default_factory=list)
    b_v1_login: str = ""
    b_v1_emp: str = ""
    a_user: str = ""
    a_group: str = ""
    a_role_group: str = ""
    b_v2_secret: str = ""

    @property
    def b_user_name(self) -> str:
        """A userName of B's (the SCIM 2.0 user)."""
        return f"{self.b_v2_secret}@bcorp.example"

    def markers(self) -> set[str]:
        """Every string that would betray B's data in an answer to A."""
        return {
            self.company_b,
            *self.b_users.values(),
            *self.b_strings,
            self.b_group,
            self.b_group_name,
            *self.b_role_groups,
            *self.b_provisions,
            self.b_v1_login,
            self.b_v1_emp,
        }


def _ok(response: Any, *codes: int) -> Any:
    assert response.status_code in (codes or (200,)), (response.status_code, response.text)
    return response.json() if response.content else None


def _remember_user(world: World, label: str, body: dict[str, Any], user_id: str) -> None:
    world.b_users[label] = user_id
    world.b_strings.add(body["userName"])
    world.b_strings.update(e["value"] for e in body.get("emails", []))
    number = (body.get(ENTERPRISE) or {}).get("employeeNumber")
    if number:
        world.b_strings.add(number)


def build_world(b: TestClient, a: TestClient, company_a: str, company_b: str) -> World:
    """Company B's data in every dialect (through B's client), and A's own user and group."""
    world = World(company_a=company_a, company_b=company_b)
    world.b_v2_secret = f"b{secret()}"
    # SCIM 2.0 user.
    v2 = user_body(
        userName=world.b_user_name,
        emails=[{"value": f"{world.b_v2_secret}@mail.bcorp.example", "type": "work"}],
        externalId=f"ext-{secret()}",
    )
    _remember_user(world, "v2", v2, _ok(b.post("/scim/v2/Users", json=v2), 201)["id"])
    world.b_strings.add(v2["externalId"])
    # Identity v4 user.
    idv4 = concur_user()
    _remember_user(world, "idv4", idv4, _ok(b.post(f"{IDV4}/Users", json=idv4), 200)["id"])
    # UPS: an approver through POST /Users, a user with every extension through /Bulk.
    approver = full_user()
    created = _ok(b.post(f"{UPS}/Users", json=approver), 201)
    _remember_user(world, "ups", approver, created["id"])
    world.b_provisions.append(created["meta"]["provisionId"])
    assert wait(b, created["meta"]["provisionId"])["status"]["success"] is True
    full = full_user(approver=created["id"], manager=created["id"])
    done = run_bulk(b, [operation("POST", "/Users", full, "full")])
    assert done["status"]["success"] is True, done
    world.b_provisions.append(done["id"])
    by_name = _ok(b.get(f"{IDV4}/Users", params={"filter": f'userName eq "{full["userName"]}"'}))
    _remember_user(world, "bulk", full, by_name["Resources"][0]["id"])
    # A SCIM 2.0 group with two members.
    group = group_body(displayName=f"Group {secret()}")
    members = [{"value": world.b_users["v2"]}, {"value": world.b_users["idv4"]}]
    world.b_group = _ok(b.post("/scim/v2/Groups", json={**group, "members": members}), 201)["id"]
    world.b_group_name = group["displayName"]
    # SCIM v4 role-group membership.
    roles = _ok(b.get(ROLE_GROUPS, params={"excludedAttributes": "members"}))
    world.b_role_groups = [g["id"] for g in roles["Resources"]]
    world.b_role_group = next(
        g["id"] for g in roles["Resources"] if g["displayName"] == "Expense User"
    )
    add = {"op": "add", "path": "members", "value": [{"value": world.b_users["v2"]}]}
    _ok(b.patch(f"{ROLE_GROUPS}/{world.b_role_group}", json=patch(add)), 204)
    # A User v1.0 user.
    world.b_v1_login, world.b_v1_emp = f"v{secret()}@bcorp.example", f"V{secret()}"
    response = v1_post(b, TOKEN_B, v1_batch(v1_profile(world.b_v1_login, world.b_v1_emp)))
    assert response.status_code == 200, response.text
    assert b"<records-succeeded>1<" in response.content.lower(), response.text
    v1_user = _ok(b.get(f"{IDV4}/Users", params={"filter": f'userName eq "{world.b_v1_login}"'}))
    world.b_users["v1"] = v1_user["Resources"][0]["id"]
    world.b_strings.update({world.b_v1_login, world.b_v1_emp})
    # Company A: one user, one group, its own catalogue.
    world.a_user = _ok(a.post("/scim/v2/Users", json=user_body()), 201)["id"]
    a_group = {**group_body(), "members": [{"value": world.a_user}]}
    world.a_group = _ok(a.post("/scim/v2/Groups", json=a_group), 201)["id"]
    a_roles = _ok(a.get(ROLE_GROUPS, params={"filter": 'displayName eq "Expense User"'}))
    world.a_role_group = a_roles["Resources"][0]["id"]
    assert world.a_role_group not in world.b_role_groups
    return world


def snapshot(b: TestClient, world: World) -> dict[str, Any]:
    """Everything of B's, read with B's token: (status, body) by request."""
    reads: list[tuple[str, dict[str, str]]] = []
    for user_id in world.b_users.values():
        reads += [
            (f"/scim/v2/Users/{user_id}", {}),
            (f"{IDV4}/Users/{user_id}", {}),
            (f"{SPEND}/Users/{user_id}", {}),
            (f"{TRAVEL}/Users/{user_id}", {}),
        ]
    reads += [
        ("/scim/v2/Users", {"count": "1000"}),
        ("/scim/v2/Groups", {"count": "1000"}),
        (f"/scim/v2/Groups/{world.b_group}", {}),
        (ROLE_GROUPS, {}),
        (f"{ROLE_GROUPS}/{world.b_role_group}", {}),
        (f"{SPEND}/Users", {}),
        ("/api/v3.0/common/users", {"limit": "100"}),
    ]
    reads += [
        (f"{UPS}/provisions/{p}/status", {"attributes": "operations"}) for p in world.b_provisions
    ]
    found: dict[str, Any] = {}
    for path, params in reads:
        response = b.get(path, params=params)
        found[f"{path}?{params}"] = (response.status_code, response.json())
    profile = b.get(
        f"{V1}/user",
        params={"loginID": world.b_v1_login},
        headers={"Authorization": f"OAuth {TOKEN_B}", "Accept": "application/json"},
    )
    found["v1 profile"] = (profile.status_code, profile.json())
    return found


_VOLATILE = (
    re.compile(r"[0-9A-F]{32}"),  # the legacy error's Id
    re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?"),
)


def normalized(text: str, ids: Iterable[str]) -> str:
    """``text`` with ``ids`` and per-response values (error ids, times) masked."""
    for value in ids:
        text = text.replace(value, "<ID>")
    for pattern in _VOLATILE:
        text = pattern.sub("<X>", text)
    return text


# The web console (console/pages.py): pages and forms need the admin token (a session
# cookie or the bearer token); sign-in and the static assets are public.
CONSOLE_PUBLIC = (
    ("GET", "/console/login"),
    ("POST", "/console/login"),
    ("GET", "/console/static/{name}"),
    # Any other /console path: a 404 page, signed in or not.
    ("GET", "/console/{rest:path}"),
    ("POST", "/console/{rest:path}"),
)
CONSOLE_PAGES = (
    ("GET", "/console"),
    ("GET", "/console/companies/{company_id}/Users"),
    ("GET", "/console/companies/{company_id}/Users/{user_id}"),
    ("GET", "/console/provisions"),
    ("GET", "/console/provisions/{provision_id}"),
    ("GET", "/console/provisions/{provision_id}/grid"),
    ("GET", "/console/journal"),
    ("GET", "/console/journal/{seq}"),
    ("GET", "/console/faults"),
    ("GET", "/console/reset"),
)
CONSOLE_FORMS = (
    ("POST", "/console/logout"),
    ("POST", "/console/faults"),
    ("POST", "/console/faults/switch"),
    ("POST", "/console/faults/{rule_id}/delete"),
    ("POST", "/console/faults/clear"),
    ("POST", "/console/worker"),
    ("POST", "/console/reset"),
)
