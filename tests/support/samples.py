"""Recorded identity-provider request bodies (tests/samples/*.json) with run-time ids filled in.

A sample is the body a client sends, copied from reference/idp-clients.md and named
``<client>_<dialect>_<step>.json``. Values the server issues at run time (user and group ids)
appear as ``{{name}}`` placeholders inside JSON strings; :func:`load_sample` parses the file
first and substitutes afterwards, so an id never has to be JSON-escaped and a placeholder can
sit inside a longer string (``"manager[value eq \\"{{manager_id}}\\"]"``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def load_sample(name: str, **values: str) -> Any:
    """The JSON body of ``tests/samples/<name>.json`` with ``{{key}}`` replaced by ``values``.

    Raises KeyError when the sample has a placeholder ``values`` does not fill, so a test can
    never send a literal ``{{user_id}}`` by mistake.
    """
    raw = json.loads((SAMPLES_DIR / f"{name}.json").read_text(encoding="utf-8"))
    return _fill(raw, values, name)


def _fill(node: Any, values: dict[str, str], name: str) -> Any:
    if isinstance(node, str):
        return _PLACEHOLDER.sub(lambda m: _lookup(m[1], values, name), node)
    if isinstance(node, list):
        return [_fill(item, values, name) for item in node]
    if isinstance(node, dict):
        return {_fill(k, values, name): _fill(v, values, name) for k, v in node.items()}
    return node


def _lookup(key: str, values: dict[str, str], name: str) -> str:
    if key not in values:
        raise KeyError(f"sample {name!r} needs a value for {{{{{key}}}}}")
    return values[key]
