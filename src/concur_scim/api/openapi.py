"""The OpenAPI document (``GET /openapi.json``, ``concur-scim openapi``) and ``GET /docs``.

:func:`install_openapi` makes ``app.openapi()`` FastAPI's document completed by
:func:`complete_document`: request bodies and query parameters (api/openapi_bodies.py),
path parameter examples, and the bearer scheme (the public routes, ``/healthz``, ``/readyz``
and OAuth2's, are not in the document). Both routes answer without a token: they describe
the API and hold no data.

``/docs`` is Swagger UI served from this server alone (the assets of the ``fastapi-offline``
package under ``/docs/assets/``), so it works on a machine with no internet access.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import FileResponse, JSONResponse, Response

from concur_scim.api.openapi_bodies import PATH_EXAMPLES, query_parameters, request_body
from concur_scim.config import Settings

DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
# The files /docs loads, by name: nothing else of that directory is served.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}
# SCIM clients send application/scim+json (RFC 7644 §3.1); plain JSON is accepted too.
BODY_TYPES = ("application/scim+json", "application/json")
DESCRIPTION = (
    "Concur-compatible SCIM 2.0 provisioning server. Authenticate with the bearer token"
    " `concur-scim serve` prints (or `CONCUR_SCIM_BEARER_TOKEN`), a static token"
    " (`concur-scim token --static`) or an access token of `POST /oauth2/v0/token`."
    " User v1.0 (`/api/user/v1.0`) also accepts `Authorization: OAuth <token>` and takes XML."
)


def complete_document(document: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """A copy of FastAPI's ``document`` with request bodies, query parameters, path
    parameter examples and bearer authentication added (what the routes read by hand)."""
    doc = copy.deepcopy(document)
    doc["info"]["description"] = DESCRIPTION
    doc.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer"}
    }
    doc["security"] = [{"bearer": []}]
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["name"] in PATH_EXAMPLES:
                    parameter["schema"] = {
                        "type": "string",
                        "minLength": 1,
                        "examples": [PATH_EXAMPLES[parameter["name"]]],
                    }
            operation["parameters"] = [
                *operation.get("parameters", []),
                *query_parameters(path, method),
            ]
            body = request_body(path, method, settings)
            if body is not None:
                operation["requestBody"] = {
                    "required": True,
                    "content": {media: {"schema": body} for media in BODY_TYPES},
                }
    return doc


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Serve ``/openapi.json``, ``/docs`` and ``/docs/assets/{name}`` (no token needed);
    ``app.openapi()`` returns the completed document, built once."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete_document(plain(), settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override

    @app.get("/openapi.json", include_in_schema=False)
    def openapi_json() -> Response:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="concur-scim API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon.png",
        )

    @app.get("/docs/assets/{name}", include_in_schema=False)
    def docs_asset(name: str) -> Response:
        media_type = ASSETS.get(name)
        if media_type is None:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return FileResponse(DOCS_ASSETS / name, media_type=media_type)
