"""The copies of Concur's published examples the tests send are Concur's, byte for byte.

``tests/data/ups-bulk-request-example.json`` is the User Provisioning Bulk example of
Concur's documentation as kept in ``shared/reference/data/`` beside this repository; the
end-to-end test (tests/api/test_ups_bulk.py) sends this copy, so it must never drift. The
reference pages whose quoted requests tests/api/test_reference_examples.py sends are kept
the same way in ``tests/data/reference/``.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "reference"
COPIES = {
    ROOT / "tests/data/ups-bulk-request-example.json": SHARED
    / "data/ups-bulk-request-example.json",
    ROOT / "tests/data/reference/concur-user-v1.md": SHARED / "concur-user-v1.md",
    ROOT / "tests/data/reference/idp-clients.md": SHARED / "idp-clients.md",
}


def test_published_examples_are_unchanged() -> None:
    """Each copy under tests/data is byte-identical to the published file."""
    for copy, published in COPIES.items():
        assert published.is_file(), f"the published example is missing: {published}"
        assert copy.read_bytes() == published.read_bytes(), f"{copy} differs from {published}"
