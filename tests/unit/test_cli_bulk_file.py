"""Reading and splitting `bulk submit` files (cli_bulk_file.py): limits, references, CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from concur_scim.cli_bulk_file import BulkFile, BulkFileError, encode, read_bulk_file, split


def users(count: int) -> BulkFile:
    ops = [
        {"method": "POST", "path": "/Users", "bulkId": f"b{n}", "data": {"userName": f"u{n}"}}
        for n in range(count)
    ]
    return BulkFile(ops)


def test_split_respects_both_limits() -> None:
    """No request exceeds the operation or the byte limit, and order is kept."""
    bodies = split(users(23), max_operations=5, max_bytes=600)
    assert all(len(b["Operations"]) <= 5 for b in bodies)
    assert all(len(encode(b)) <= 600 for b in bodies)
    sent = [op["bulkId"] for b in bodies for op in b["Operations"]]
    assert sent == [f"b{n}" for n in range(23)]


def test_an_operation_larger_than_a_request_is_refused() -> None:
    """An operation that cannot fit in any request is refused before anything is sent."""
    with pytest.raises(BulkFileError, match="more than a whole Bulk request"):
        split(users(1), max_operations=5, max_bytes=100)


def test_a_reference_across_requests_is_refused() -> None:
    """A bulkId reference that splitting would carry into another request is refused."""
    file = users(3)
    file.operations[2]["data"]["manager"] = {"value": "bulkId:b0"}
    with pytest.raises(BulkFileError, match="refers to bulkId 'b0'"):
        split(file, max_operations=2, max_bytes=10_000)
    assert len(split(file, max_operations=3, max_bytes=10_000)) == 1


def test_csv_row_becomes_a_user(tmp_path: Path) -> None:
    """CSV columns map to core and enterprise attributes; active defaults to true."""
    path = tmp_path / "u.csv"
    path.write_text("userName,givenName,email,employeeNumber\nada@x.org,Ada,ada@x.org,7\n")
    [op] = read_bulk_file(path).operations
    assert op["bulkId"] == "line-2"
    assert op["data"]["active"] is True
    assert op["data"]["name"] == {"givenName": "Ada"}
    assert op["data"]["emails"] == [{"value": "ada@x.org", "type": "work", "primary": True}]
    ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    assert op["data"][ent] == {"employeeNumber": "7"}


def test_json_array_and_single_user_are_read(tmp_path: Path) -> None:
    """A JSON array mixes users and operations; one user object is one operation."""
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{"userName": "a"}, {"method": "DELETE", "path": "/Users/x"}]))
    ops = read_bulk_file(path).operations
    assert [op["method"] for op in ops] == ["POST", "DELETE"]
    assert ops[1]["bulkId"] == "item-2"
    path.write_text(json.dumps({"userName": "a"}))
    assert len(read_bulk_file(path).operations) == 1
