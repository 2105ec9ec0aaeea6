"""Assertions every replayed exchange shares: status, SCIM media type, SCIM error bodies."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from httpx2 import Response

SCIM_MEDIA_TYPE = "application/scim+json"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def expect(response: Response, status: int) -> Any:
    """Assert ``status`` and the ``application/scim+json`` media type; the JSON body, or None.

    A 204/304 must carry no body at all (hence no media type to check).
    """
    assert response.status_code == status, response.text
    if status in (204, 304):
        assert response.content == b""
        return None
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    assert media_type == SCIM_MEDIA_TYPE, response.headers
    return response.json()


def expect_error(response: Response, status: int, scim_type: str | None = None) -> Any:
    """Assert a SCIM Error response (RFC 7644 §3.12): ``status`` as a string, ``detail`` set."""
    body = expect(response, status)
    assert body["schemas"] == [ERROR_URN]
    assert body["status"] == str(status)
    assert isinstance(body.get("detail"), str)
    assert body["detail"]
    if scim_type is not None:
        assert body.get("scimType") == scim_type
    return body


def expect_list(response: Response, total: int) -> list[dict[str, Any]]:
    """Assert a 200 ListResponse with ``totalResults == total``; its ``Resources``."""
    body = expect(response, 200)
    assert body["schemas"] == [LIST_URN]
    assert body["totalResults"] == total
    assert isinstance(body["Resources"], list)
    assert body["itemsPerPage"] == len(body["Resources"])
    resources: list[dict[str, Any]] = body["Resources"]
    return resources


def filtered(endpoint: str, expression: str, **params: str) -> str:
    """``endpoint?filter=…`` encoded as Entra and Okta send it (``%20`` spaces, ``%22`` quotes)."""
    query = [f"filter={quote(expression, safe='')}"]
    query += [f"{key}={quote(value, safe='')}" for key, value in params.items()]
    return f"{endpoint}?{'&'.join(query)}"
