"""The audit trail's body summaries (api/redaction.py): secrets masked, size capped."""

from __future__ import annotations

import json

from concur_scim.api.audit import resource_of
from concur_scim.api.redaction import DETAIL_LIMIT, body_summary, mask_xml, redact_json

SECRET = "Sup3r-Secret-Value"


def summary(body: bytes, content_type: str = "application/scim+json", **kw: bool) -> object:
    """The summary of a whole body."""
    return body_summary(body, content_type, size=len(body), **kw)


def test_json_secret_keys_are_redacted_at_any_depth_in_any_case() -> None:
    """Every secret-named key is masked, however deep and however spelled."""
    document = {"a": [{"b": {"Authorization": "x", "TOKEN": {"deep": 1}}}], "Secret": 2, "k": 3}
    assert redact_json(document) == {
        "a": [{"b": {"Authorization": "[redacted]", "TOKEN": "[redacted]"}}],
        "Secret": "[redacted]",
        "k": 3,
    }


def test_json_is_made_storable() -> None:
    """NUL, lone surrogates and non-finite numbers never reach the database."""
    cleaned = redact_json({"a": "x\x00y", "b": "\ud800", "c": float("nan")})
    assert cleaned == {"a": "x\ufffdy", "b": "?", "c": "nan"}


def test_xml_secrets_are_masked_even_in_cdata_or_left_open() -> None:
    """``<Password>`` contents go, in any namespace prefix, in CDATA or cut off mid-way."""
    text = (
        f"<a><Password>{SECRET}</Password><p:password x='1'><![CDATA[{SECRET}]]></p:password>"
        f"<Password/><PasswordHint>hint</PasswordHint><Password>{SECRET}"
    )
    assert mask_xml(text) == (
        "<a><Password>[redacted]</Password><p:password x='1'>[redacted]</p:password>"
        "<Password/><PasswordHint>hint</PasswordHint><Password>[redacted]"
    )


def test_token_form_keeps_grant_type_and_client_id_only() -> None:
    """A token request's form is reduced to the two fields that name the caller."""
    body = f"grant_type=password&client_id=c1&client_secret={SECRET}&password={SECRET}&x=1"
    found = summary(body.encode(), "application/x-www-form-urlencoded", token_endpoint=True)
    assert found == {
        "bytes": len(body),
        "contentType": "application/x-www-form-urlencoded",
        "form": {"grant_type": "password", "client_id": "c1"},
    }


def test_large_json_is_cut_after_redaction() -> None:
    """A summary longer than the cap is cut to it and marked truncated."""
    body = json.dumps({"password": SECRET, "items": ["v" * 50] * 400}).encode()
    found = summary(body)
    assert isinstance(found, dict)
    assert found["truncated"] is True
    assert len(found["json"]) == DETAIL_LIMIT
    assert SECRET not in found["json"]


def test_unparsed_or_partial_json_keeps_only_its_size() -> None:
    """A body that does not parse, or was only partly kept, is stored as its size."""
    bad = f'{{"password": "{SECRET}"'.encode()
    assert summary(bad) == {
        "bytes": len(bad),
        "contentType": "application/scim+json",
        "unparsed": True,
    }
    partial = body_summary(b'{"a": 1', "application/json", size=10_000_000)
    assert partial == {"bytes": 10_000_000, "contentType": "application/json", "truncated": True}
    assert summary(b"") is None


def test_resource_of_paths() -> None:
    """Resource type and id come from the first collection segment of the path."""
    assert resource_of("/scim/v2/Users/abc") == ("User", "abc")
    assert resource_of("/scim/v4/Groups") == ("Group", None)
    assert resource_of("/profile/v4/Bulk") == ("Bulk", None)
    assert resource_of("/profile/v4/provisions/p1/status") == ("Provision", "p1")
    assert resource_of("/api/user/v1.0/users/password") == ("UserPassword", None)
    assert resource_of("/oauth2/v0/token") == ("Token", None)
    assert resource_of("/nowhere") == (None, None)
