"""Extension payloads are validated against the registry's downstream schema of their URN."""

from __future__ import annotations

import pytest

from concur_scim.scim.errors import InvalidSyntax, InvalidValue
from concur_scim.services.extensions import TRAVEL_USER, normalize_extension


def test_payload_is_coerced_and_unknown_attributes_dropped() -> None:
    """Types are coerced, names canonicalised, unknown keys ignored; Travel's groups is kept."""
    doc = normalize_extension(
        {
            "ruleClass": {"id": 624905},
            "ORGUNIT": "Sales",
            "groups": ["12", 13],
            "nickName": "x",
            "gender": None,
        },
        TRAVEL_USER,
    )
    assert doc == {"ruleClass": {"id": 624905}, "orgUnit": "Sales", "groups": [12, 13]}


def test_wrong_type_is_invalid_value() -> None:
    """A value of the wrong type is refused."""
    with pytest.raises(InvalidValue):
        normalize_extension({"ruleClass": {"id": 1}, "groups": ["twelve"]}, TRAVEL_USER)


def test_without_a_schema_any_object_is_kept_as_sent() -> None:
    """A URN the registry has no schema for keeps any JSON object unchanged."""
    payload = {"ruleClass": {"id": 1}, "whatever": [1, 2]}
    assert normalize_extension(payload, "urn:example:NoSchema") == payload
    with pytest.raises(InvalidSyntax):
        normalize_extension("not an object", "urn:example:NoSchema")
