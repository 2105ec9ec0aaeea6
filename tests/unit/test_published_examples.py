"""The copies of Concur's published examples the tests send are Concur's, byte for byte.

``tests/data/ups-bulk-request-example.json`` is the User Provisioning Bulk example of
Concur's documentation as kept in ``shared/reference/data/`` beside this repository; the
end-to-end test (tests/api/test_ups_bulk.py) sends this copy, so it must never drift.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COPIES = {
    ROOT / "tests/data/ups-bulk-request-example.json": (
        ROOT.parent / "shared/reference/data/ups-bulk-request-example.json"
    ),
}


def test_published_examples_are_unchanged() -> None:
    """Each copy under tests/data is byte-identical to the published file."""
    for copy, published in COPIES.items():
        assert published.is_file(), f"the published example is missing: {published}"
        assert copy.read_bytes() == published.read_bytes(), f"{copy} differs from {published}"
