"""OAuth2 for Concur (reference §7): ``POST /oauth2/v0/token`` and ``GET /oauth2/v0/jwks``.

The token endpoint takes ``application/x-www-form-urlencoded`` fields (client credentials
may also come as HTTP Basic, RFC 6749 §2.3.1) and answers Concur's token response, or its
OAuth error body ``{error, error_description, code, geolocation}``: :func:`install_oauth`
registers the one handler that renders :class:`~concur_scim.services.oauth.OAuthError`.
Responses carry ``Cache-Control: no-store`` (RFC 6749 §5.1). The JWKS is public.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import parse_qsl, unquote

from fastapi import APIRouter, Depends, FastAPI, Request
from starlette.responses import JSONResponse, Response

from concur_scim.api.deps import ReadConn, ServicesDep, UnitOfWorkRoute, WriteConn
from concur_scim.services.oauth import OAuthError, issue_token
from concur_scim.services.signing_keys import jwks

MAX_FORM_BYTES = 65_536
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_UNSUPPORTED = 135  # Concur's "unsupported request format"


def _issuer(request: Request, svc: ServicesDep) -> str:
    """The ``iss`` to mint: ``CONCUR_SCIM_ISSUER``, else the base URL as requested."""
    return svc.settings.issuer or str(request.base_url).rstrip("/")


async def _form(request: Request) -> dict[str, str]:
    """The form fields; raises OAuthError (135) for another media type, an oversized or
    undecodable body, or a repeated field (RFC 6749 §3.2)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", _UNSUPPORTED, "use application/x-www-form-urlencoded")
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > MAX_FORM_BYTES:
            raise OAuthError("invalid_request", _UNSUPPORTED, "the request body is too large")
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", _UNSUPPORTED, "the form is malformed") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise OAuthError("invalid_request", _UNSUPPORTED, f"{name} is repeated")
        form[name] = value
    _basic_credentials(request, form)
    return form


def _basic_credentials(request: Request, form: dict[str, str]) -> None:
    """Client credentials from ``Authorization: Basic`` when the form has none."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or "client_id" in form:
        return
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", 64, "bad client credentials") from None
    client_id, _, secret = decoded.partition(":")
    form["client_id"] = unquote(client_id)
    form["client_secret"] = unquote(secret)


FormDep = Annotated[dict[str, str], Depends(_form)]


def oauth_router() -> APIRouter:
    """The token and JWKS routes."""
    router = APIRouter(prefix="/oauth2/v0", include_in_schema=False, route_class=UnitOfWorkRoute)

    @router.post("/token")
    def token(request: Request, svc: ServicesDep, form: FormDep, conn: WriteConn) -> Response:
        body = issue_token(conn, form, issuer=_issuer(request, svc), now=svc.clock())
        return JSONResponse(body, headers=_NO_STORE)

    @router.get("/jwks")
    def keys(svc: ServicesDep, conn: ReadConn) -> Response:
        return JSONResponse(jwks(conn, svc.clock()), headers={"Cache-Control": "max-age=300"})

    return router


def install_oauth(app: FastAPI) -> None:
    """Mount the OAuth2 routes and render :class:`OAuthError` as Concur's error body."""

    async def oauth_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OAuthError)
        services = request.app.state.services
        geolocation = services.settings.issuer or str(request.base_url).rstrip("/")
        headers = dict(_NO_STORE)
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="concur-scim"'
        return JSONResponse(exc.to_body(geolocation), status_code=exc.status, headers=headers)

    app.add_exception_handler(OAuthError, oauth_error)
    app.include_router(oauth_router())
