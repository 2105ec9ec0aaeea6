"""The console's pictures: every page the browser journeys photograph is committed under
docs/console/ (``make screenshots``) and shown or linked in the README, and nothing there is
stale."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PICTURES = ROOT / "docs" / "console"
JOURNEYS = ROOT / "tests" / "browser" / "test_console_journeys.py"
# Every page template of the console that is a page of its own (not a fragment or a frame).
PAGES = {"companies", "users", "user", "provisions", "provision", "journal", "entry", "faults"} | {
    "reset"
}


def test_every_console_page_is_photographed_committed_and_in_the_readme() -> None:
    taken = set(re.findall(r'screenshot\(\w+, "([a-z-]+)"\)', JOURNEYS.read_text()))
    committed = {p.stem for p in PICTURES.glob("*.png")}
    readme = ROOT.joinpath("README.md").read_text()
    shown = set(re.findall(r"\(docs/console/([a-z-]+)\.png\)", readme))
    assert taken == committed == shown == PAGES
    for name in PAGES:
        assert PICTURES.joinpath(f"{name}.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_page_list_names_every_page_template() -> None:
    templates = ROOT / "src" / "concur_scim" / "console" / "templates"
    own_pages = {
        p.stem
        for p in templates.glob("*.html")
        if p.read_text().startswith('{% extends "base.html" %}')
    }
    # The sign-in form and the error page are not worth a picture of their own.
    assert own_pages - {"login", "error"} == PAGES
