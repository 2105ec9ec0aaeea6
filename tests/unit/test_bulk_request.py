"""The RFC 7644 §3.7 BulkRequest reader of /scim/v2/Bulk (``scim/bulk_request.py``), pure."""

from __future__ import annotations

from typing import Any

import pytest

from concur_scim.scim import bulk_request
from concur_scim.scim.bulk_request import BULK_REQUEST_URN, BulkOperation
from concur_scim.scim.errors import InvalidSyntax, InvalidValue, PayloadTooLarge


def message(*operations: Any, **members: Any) -> dict[str, Any]:
    return {"schemas": [BULK_REQUEST_URN], "Operations": list(operations), **members}


def test_rfc_example_operations_are_read_as_sent() -> None:
    """§3.7.1's operations: method, endpoint, id (a bulkId reference kept as written),
    bulkId, version and data; ``failOnErrors``; DELETE data is dropped."""
    user = {"userName": "Alice"}
    parsed = bulk_request.parse(
        message(
            {"method": "POST", "path": "/Users", "bulkId": "qwerty", "data": user},
            {"method": "put", "path": "/users/bulkId:qwerty/", "version": 'W/"3"', "data": user},
            {"method": "DELETE", "path": "/Groups/e9025315", "data": {"ignored": True}},
            failOnErrors=1,
        ),
        max_operations=3,
    )
    assert parsed.fail_on_errors == 1
    assert parsed.operations == (
        BulkOperation(0, "POST", "Users", None, "qwerty", None, user),
        BulkOperation(1, "PUT", "Users", "bulkId:qwerty", None, 'W/"3"', user),
        BulkOperation(2, "DELETE", "Groups", "e9025315", None, None, None),
    )
    assert parsed.operations[1].path == "/Users/bulkId:qwerty"


def test_more_operations_than_allowed_is_413_before_reading_them() -> None:
    """maxOperations (§3.7.4) is checked on the array's length alone."""
    with pytest.raises(PayloadTooLarge):
        bulk_request.parse(message("not read", "not read"), max_operations=1)


@pytest.mark.parametrize(
    ("operation", "wanted"),
    [
        ({"method": "PATCH", "path": "/Users/1/extra", "data": {}}, "path"),
        ({"method": "POST", "path": "Users", "bulkId": "a", "data": {}}, "path"),
        ({"method": "DELETE", "path": "/Schemas/1"}, "path"),
        ({"method": "POST", "path": "/Groups", "bulkId": 7, "data": {}}, "bulkId"),
        ({"method": "PUT", "path": "/Groups/1"}, "data"),
    ],
)
def test_each_operation_is_checked(operation: dict[str, Any], wanted: str) -> None:
    """An operation's path, bulkId and data are checked; the error names the member."""
    with pytest.raises(InvalidSyntax, match=wanted):
        bulk_request.parse(message(operation), max_operations=10)


def test_fail_on_errors_must_be_a_positive_integer() -> None:
    """A non-integer failOnErrors is malformed (invalidSyntax); 0 is an invalid value."""
    delete = {"method": "DELETE", "path": "/Users/1"}
    for wrong in ("1", 1.0, True):
        with pytest.raises(InvalidSyntax):
            bulk_request.parse(message(delete, failOnErrors=wrong), max_operations=1)
    with pytest.raises(InvalidValue):
        bulk_request.parse(message(delete, failOnErrors=0), max_operations=1)
