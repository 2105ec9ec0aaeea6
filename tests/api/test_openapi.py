"""The served OpenAPI document, /docs without a CDN, and ``concur-scim openapi``."""

from __future__ import annotations

import json
import os
import re

import pytest
from fastapi.testclient import TestClient

from concur_scim import cli
from concur_scim.app import create_app
from concur_scim.config import Settings

BODY_TYPES = {"application/scim+json", "application/json"}


@pytest.fixture(scope="module")
def anonymous() -> TestClient:
    """The app without a token and without its lifespan: the document needs no database."""
    return TestClient(create_app(Settings(database_url="sqlite://", bearer_token="t")))


def _schema(document: dict[str, object], method: str, path: str) -> dict[str, object]:
    operation = document["paths"][path][method]  # type: ignore[index]
    content = operation["requestBody"]["content"]
    assert set(content) == BODY_TYPES
    schema: dict[str, object] = content["application/scim+json"]["schema"]
    return schema


def test_openapi_json_is_served_without_a_token(anonymous: TestClient) -> None:
    """GET /openapi.json answers the document to a client with no token."""
    response = anonymous.get("/openapi.json")
    assert response.status_code == 200
    assert response.json()["openapi"].startswith("3.")
    assert response.json()["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_openapi_describes_every_request_body(anonymous: TestClient) -> None:
    """Creates, replaces, PATCH, searches and both Bulks carry their message's JSON Schema."""
    document = anonymous.get("/openapi.json").json()
    user = _schema(document, "post", "/scim/v2/Users")
    assert user["required"] == ["userName"]
    assert "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" in user["properties"]  # type: ignore[operator]
    group = _schema(document, "put", "/scim/v2/Groups/{resource_id}")
    assert group["required"] == ["displayName"]
    patch = _schema(document, "patch", "/scim/v2/Users/{resource_id}")
    assert patch["required"] == ["schemas", "Operations"]
    search = _schema(document, "post", "/scim/v2/Users/.search")
    assert "filter" in search["properties"]  # type: ignore[operator]
    ups_bulk = _schema(document, "post", "/profile/v4/Bulk")
    assert ups_bulk["properties"]["Operations"]["maxItems"] == 100  # type: ignore[index]
    scim_bulk = _schema(document, "post", "/scim/v2/Bulk")
    assert scim_bulk["properties"]["Operations"]["maxItems"] == 1000  # type: ignore[index]
    listing = document["paths"]["/scim/v2/Users"]["get"]["parameters"]
    assert {p["name"] for p in listing} >= {"filter", "startIndex", "count", "cursor"}
    assert document["security"] == [{"bearer": []}]


def test_docs_page_loads_only_local_assets(anonymous: TestClient) -> None:
    """/docs is Swagger UI whose every script, stylesheet and icon is served by this app."""
    page = anonymous.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(references) == 3, references
    assert "http" not in page.text.replace("http-equiv", "")
    assert "url: '/openapi.json'" in page.text
    types = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
    for reference in references:
        assert reference.startswith("/docs/assets/"), reference
        asset = anonymous.get(reference)
        assert asset.status_code == 200, reference
        assert asset.headers["content-type"].startswith(types[reference[reference.rindex(".") :]])
        assert len(asset.content) > 0
    assert "SwaggerUIBundle" in anonymous.get("/docs/assets/swagger-ui-bundle.js").text


@pytest.mark.parametrize("name", ["redoc.standalone.js", "..%2Fcore.py", "nothing.js"])
def test_docs_assets_serve_only_the_page_files(anonymous: TestClient, name: str) -> None:
    """Only the three files /docs loads are served from the asset directory."""
    assert anonymous.get(f"/docs/assets/{name}").status_code == 404


def test_openapi_command_prints_the_served_document(
    anonymous: TestClient, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`concur-scim openapi` prints what /openapi.json serves, as JSON on stdout."""
    for name in list(os.environ):
        if name.startswith("CONCUR_SCIM_"):
            monkeypatch.delenv(name)
    assert cli.main(["openapi"]) == 0
    printed = json.loads(capsys.readouterr().out)
    served = anonymous.get("/openapi.json").json()
    assert printed["paths"].keys() == served["paths"].keys()
    assert printed == json.loads(json.dumps(served))
