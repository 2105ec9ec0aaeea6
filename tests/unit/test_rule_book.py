"""The rule book (scim/rule_book.py) is complete, and docs/concur-compatibility.md shows it."""

from __future__ import annotations

import re
from pathlib import Path

from concur_scim.scim import rules, strict
from concur_scim.scim.rule_book import EXCEPTIONS, RULE_BOOK, markdown_table, strength

DOC = Path(__file__).resolve().parents[2] / "docs" / "concur-compatibility.md"
SRC = Path(strict.__file__).resolve().parent


def test_the_compatibility_page_shows_the_rule_book() -> None:
    """The table between the rule-book markers is the one the code generates; to update it,
    paste the output of ``python -c "from concur_scim.scim.rule_book import markdown_table;
    print(markdown_table())"``."""
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- rule-book:start -->\n(.*)\n<!-- rule-book:end -->", text, re.S)
    assert found is not None, "docs/concur-compatibility.md lost its rule-book markers"
    assert found.group(1) == markdown_table()


def test_every_reported_rule_is_in_the_book() -> None:
    """Every rule id a check reports names a rule of the book (a typo would raise KeyError
    only when the check first fires)."""
    reported: set[str] = set()
    for path in (SRC / "strict.py", SRC / "rules.py", SRC / "validation.py"):
        source = path.read_text(encoding="utf-8")
        reported |= set(re.findall(r'(?:report|add)\(\s*"([a-zA-Z.]+)"', source))
    assert reported, "no rule id found: the pattern no longer matches the checks"
    assert reported <= set(RULE_BOOK), reported - set(RULE_BOOK)
    assert rules.RULES  # the cross-value rules are registered


def test_every_rule_has_a_source_and_a_strength() -> None:
    """Each rule says where Concur states it and how strongly it holds; every exception
    narrows a known rule and says why."""
    for spec in RULE_BOOK.values():
        assert spec.source.strip(), spec
        assert spec.checks.strip(), spec
        assert spec.strength in ("error", "warning", "ignored"), spec
        if spec.strength == "warning":
            assert "example" in spec.source, f"{spec.id}: a warning names its example"
    for (rule, path), (level, why) in EXCEPTIONS.items():
        assert rule in RULE_BOOK, rule
        assert path.startswith("urn:"), path
        assert why, path
        assert strength(rule, path) == level


def test_an_exception_applies_at_any_index() -> None:
    """An exception's path matches the attribute whatever the item index."""
    (rule, path), (level, _) = next(iter(EXCEPTIONS.items()))
    attribute, _, sub = path.rpartition(".")
    assert strength(rule, f"{attribute}[3].{sub}") == level
    assert strength(rule, f"{attribute}[0].{sub}") == level
