"""The README's settings table names every setting, once."""

from __future__ import annotations

import re
from pathlib import Path

from concur_scim.config import Settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_in_the_readme_table_once() -> None:
    """Each Settings field appears as CONCUR_SCIM_<NAME> in exactly one table row."""
    rows = [line for line in README.read_text().splitlines() if line.startswith("| `CONCUR_")]
    named = [
        name
        for row in rows
        for name in re.findall(r"`(CONCUR_SCIM_[A-Z0-9_]+)`", row.split(" | ")[0])
    ]
    for field in Settings.model_fields:
        assert named.count(f"CONCUR_SCIM_{field.upper()}") == 1, field
