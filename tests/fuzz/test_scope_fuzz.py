"""Property: nothing is stored that the token's scopes forbid (reference/concur-v4.md §7).

Generated PATCH bodies spell the scope-guarded attributes every way a client could: keys of
an operation in any case (with case twins such as ``path`` + ``PATH``), ``Operations`` in
any case, paths in any case, qualified by the schema URN with ``:`` or ``.``, a schema URN as
the path with an object value, path-less values with the same keys, padding whitespace.
Each is sent with a token holding a generated subset of the write scopes to the generic,
Identity v4 and User Provisioning PATCH routes. Whatever the answer (it must be below 500),
``externalId`` changes only for a token with ``identity.user.externalID.writeonly``, the SAP
extension only with ``identity.user.sap.writeonly``, spend data only with
``spend.user.general.writeonly``, and ``emails.verified`` is never stored.

Budget: 150 bodies per backend, derandomised (about 450 requests per backend).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from support.factories import user_body
from support.tokens import Tokens

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
SAP = "urn:ietf:params:scim:schemas:extension:sap:2.0:User"
SPEND_USER = "urn:ietf:params:scim:schemas:extension:spend:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CORE_WRITE = "identity.user.coreenterprise.writeonly"
EXTERNAL_ID_WRITE = "identity.user.externalID.writeonly"
SAP_WRITE = "identity.user.sap.writeonly"
SPEND_WRITE = "spend.user.general.writeonly"
VERIFIED_WRITE = "identity.user.emails.verified.writeonly"
PROVISION_WRITE = "user.provision.write"
ROUTES = ("/scim/v2", "/profile/identity/v4", "/profile/v4")
OPTIONAL_SCOPES = (EXTERNAL_ID_WRITE, SAP_WRITE, SPEND_WRITE, VERIFIED_WRITE)

# (schema URN, attribute) pairs: the guarded ones (repeated, so that most operations aim
# at one) and harmless neighbours.
TARGETS = (
    (CORE, "externalId"),
    (CORE, "externalId"),
    (CORE, "externalId"),
    (SAP, "userUuid"),
    (SAP, "userUuid"),
    (SPEND_USER, "country"),
    (SPEND_USER, "country"),
    (CORE, "title"),
    (CORE, "displayName"),
)
# "@N@" becomes a number new to each example and "@C@" a country other than the last, so
# that every write that gets through changes what the property watches.
VALUES = {"externalId": "ext-@N@", "title": "T@N@", "displayName": "D@N@", "userUuid": "u-@N@"}
COUNTRIES = ("US", "GB", "DE")


@st.composite
def spelled(draw: st.DrawFn, word: str) -> str:
    """``word`` in a generated case."""
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(c.swapcase() if flip else c for c, flip in zip(word, flips, strict=True))


@st.composite
def operations(draw: st.DrawFn) -> dict[str, Any]:
    """One PATCH operation writing one target, in one of the forms the engine reads."""
    urn, attr = draw(st.sampled_from(TARGETS))
    value: Any = "@C@" if attr == "country" else VALUES[attr]
    name = draw(spelled(attr))
    qualified = draw(st.sampled_from(["", ":", "."]))
    if urn != CORE and not qualified:
        qualified = ":"
    urn_text = draw(st.sampled_from([urn, urn.lower(), urn.upper()]))
    form = draw(st.sampled_from(["path", "urn-path", "pathless", "pathless-object"]))
    op = draw(st.sampled_from(["add", "replace", "Replace", "ADD"]))
    keys = {k: draw(spelled(k)) for k in ("op", "path", "value")}
    pad = draw(st.sampled_from(["", " ", "\t"]))
    body: dict[str, Any] = {keys["op"]: op}
    if form == "path":
        body[keys["path"]] = f"{pad}{urn_text + qualified if qualified else ''}{name}{pad}"
        body[keys["value"]] = value
    elif form == "urn-path":
        body[keys["path"]] = urn_text
        body[keys["value"]] = {name: value}
    elif form == "pathless":
        body[keys["value"]] = {f"{urn_text + qualified if qualified else ''}{name}": value}
    else:
        body[keys["value"]] = {urn_text: {name: value}}
    if draw(st.booleans()) and draw(st.booleans()):
        # A case twin of one key, pointing somewhere harmless.
        twin = draw(st.sampled_from(["path", "value", "op"]))
        body[keys[twin].swapcase() if keys[twin].swapcase() != keys[twin] else twin.upper()] = (
            "displayName" if twin == "path" else "X" if twin == "value" else "remove"
        )
    return body


@st.composite
def verified_operations(draw: st.DrawFn) -> dict[str, Any]:
    """An operation aimed at emails.verified."""
    path = draw(
        st.sampled_from(
            [
                'emails[type eq "work"].verified',
                f'{CORE}:emails[type eq "work"].verified',
                f"{CORE.lower()}:EMAILS.VERIFIED",
            ]
        )
    )
    return {draw(spelled("op")): "replace", draw(spelled("path")): path, "value": True}


@st.composite
def patch_bodies(draw: st.DrawFn) -> dict[str, Any]:
    ops = draw(st.lists(operations(), min_size=1, max_size=2))
    if draw(st.integers(0, 4)) == 0:
        ops.append(draw(verified_operations()))
    key = draw(st.sampled_from(["Operations", "operations", "OPERATIONS"]))
    return {"schemas": [PATCH_OP], key: ops}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def snapshot(client: TestClient, admin: str, user_id: str) -> dict[str, Any]:
    """What the property watches, read with every scope."""
    user = client.get(f"/scim/v2/Users/{user_id}", headers=bearer(admin)).json()
    spend = client.get(f"/profile/spend/v4.1/Users/{user_id}", headers=bearer(admin)).json()
    return {
        "externalId": user.get("externalId"),
        "sap": user.get(SAP),
        "spend": spend.get(SPEND_USER) or None,
        "verified": [e.get("verified") for e in user.get("emails", []) if "verified" in e],
    }


@pytest.fixture
def tokens(client: TestClient, engine: Engine) -> Tokens:
    """A new company's token minter (``client`` first: the database is migrated and clean)."""
    del client
    return Tokens.for_new_company(engine)


def test_nothing_is_stored_that_the_scopes_forbid(client: TestClient, tokens: Tokens) -> None:
    """For generated PATCH bodies and scope sets, a guarded attribute changes only for a
    token that holds its write scope, and no answer is a 5xx."""
    admin = tokens.static(None)
    body = user_body(externalId="ext-0", **{SAP: {"userUuid": "u-0"}})
    body["emails"][0]["type"] = "work"
    created = client.post("/scim/v2/Users", json=body, headers=bearer(admin))
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    minted: dict[frozenset[str], str] = {}
    sent = itertools.count(1)

    @settings(
        max_examples=150,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        patch_bodies(),
        st.sets(st.sampled_from(OPTIONAL_SCOPES)),
        st.sampled_from(ROUTES),
    )
    def run(patch: dict[str, Any], extra: set[str], prefix: str) -> None:
        scopes = frozenset({CORE_WRITE, PROVISION_WRITE, *extra})
        if scopes not in minted:
            minted[scopes] = tokens.jwt(sorted(scopes))
        before = snapshot(client, admin, user_id)
        n = next(sent)
        text = json.dumps(patch).replace("@N@", str(n)).replace("@C@", COUNTRIES[n % 3])
        headers = {**bearer(minted[scopes]), "Content-Type": "application/scim+json"}
        response = client.patch(f"{prefix}/Users/{user_id}", content=text, headers=headers)
        assert response.status_code < 500, response.text
        after = snapshot(client, admin, user_id)
        if after["externalId"] != before["externalId"]:
            assert EXTERNAL_ID_WRITE in scopes, (patch, response.text)
        if after["sap"] != before["sap"]:
            assert SAP_WRITE in scopes, (patch, response.text)
        if after["spend"] != before["spend"]:
            assert SPEND_WRITE in scopes, (patch, response.text)
        assert after["verified"] == [], (patch, response.text)

    run()
