"""The request examples quoted in the reference, sent exactly as quoted, get their documented
outcome (published examples are ground truth).

Each example is read at test time from the reference pages, kept byte-identical to
``shared/reference/*.md`` in ``tests/data/reference/`` (tests/unit/test_published_examples.py),
so a test can never drift from the text it claims to follow: the User v1.0 batch of
concur-user-v1.md §3.1 ("records-succeeded" 1), Entra's create of idp-clients.md §1.3b
(201 with the user) and Entra's first PATCH of §1.3d (200). Concur's User Provisioning Bulk
example is tests/api/test_ups_bulk.py's. The reference's other blocks are shapes with elisions
(``[…PatchOp]``, ``// comments``), not requests, and the OpenAPI files carry no request
examples. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"
HEADERS = {"Authorization": "Bearer test-token"}  # tests/conftest.py's token
_FENCE = re.compile(r"```(\w*)\n(.*?)```", re.S)


def blocks(name: str) -> list[str]:
    """The fenced code blocks of the reference page ``name``, in order."""
    path = REFERENCE / name
    assert path.is_file(), f"the reference is missing: {path}"
    return [body for _, body in _FENCE.findall(path.read_text(encoding="utf-8"))]


def request_block(name: str, first_line: str) -> tuple[str, str]:
    """The block whose first line starts with ``first_line``: that line, and the JSON body
    that follows it (up to the documented outcome, ``→ …``)."""
    for block in blocks(name):
        head, _, rest = block.partition("\n")
        if head.startswith(first_line):
            body = rest.split("→", 1)[0]
            return head, body[body.index("{") :].strip()
    raise AssertionError(f"no block starting with {first_line!r} in {name}")


def test_the_user_v1_batch_example_is_accepted(client: TestClient) -> None:
    """concur-user-v1.md §3.1's batch, unchanged: one record succeeds, none fails."""
    [batch] = [b for b in blocks("concur-user-v1.md") if b.lstrip().startswith("<batch")]
    response = client.post(
        "/api/user/v1.0/users",
        content=batch.encode(),
        headers={**HEADERS, "Content-Type": "application/xml"},
    )
    assert response.status_code == 200, response.text
    assert "<records-succeeded>1</records-succeeded>" in response.text
    assert "<records-failed>0</records-failed>" in response.text
    login = re.search(r"<LoginId>(.*?)</LoginId>", batch)
    assert login is not None
    found = client.get(
        "/scim/v2/Users", params={"filter": f'userName eq "{login[1]}"'}, headers=HEADERS
    )
    assert found.json()["totalResults"] == 1


def test_entras_create_and_patch_examples_get_their_outcomes(client: TestClient) -> None:
    """idp-clients.md §1.3b's create answers 201 with the user and §1.3d's PATCH 200, both
    sent as quoted."""
    line, body = request_block("idp-clients.md", "POST /Users")
    created = client.post(
        "/scim/v2/Users",
        content=body.encode(),
        headers={**HEADERS, "Content-Type": "application/scim+json"},
    )
    assert created.status_code == 201, (line, created.text)
    sent = json.loads(body)
    assert created.json()["userName"] == sent["userName"]
    assert created.json()["externalId"] == sent["externalId"]
    line, patch = request_block("idp-clients.md", "PATCH /Users/6764549bef60420686bc")
    patched = client.patch(
        f"/scim/v2/Users/{created.json()['id']}",
        content=patch.encode(),
        headers={**HEADERS, "Content-Type": "application/scim+json"},
    )
    assert patched.status_code == 200, (line, patched.text)
    assert patched.json()["name"]["familyName"] == "updatedFamilyName"
    assert patched.json()["emails"][0]["value"] == "updatedEmail@microsoft.com"
