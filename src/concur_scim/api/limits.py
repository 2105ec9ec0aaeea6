"""Shape limits of a JSON request body: nesting depth and items per array.

The byte cap (``max_payload_bytes``, 413) bounds a body before it is parsed; these caps bound
what a body within that size may hold, so that no later stage (schema validation, PATCH,
filters inside PATCH paths, the store) walks a structure deeper or wider than any SCIM
message needs. A body past either cap is a 400 ``invalidSyntax`` (RFC 7644 §3.12: "the
request body message structure was invalid or did not conform to the request schema");
``tooMany`` is kept for filters, which is what the RFC defines it for.

The check walks the parsed document with an explicit stack, never by recursion, so its
cost is linear in the number of values and its stack use is constant. A document nested
beyond the interpreter's recursion limit never gets that far: the JSON decoder raises
``RecursionError`` and :func:`parse_json` reports it as the same depth error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from concur_scim.config import Settings
from concur_scim.scim.errors import InvalidSyntax

DEFAULT_MAX_DEPTH = 32
DEFAULT_MAX_ARRAY_ITEMS = 10_000


@dataclass(frozen=True)
class JsonLimits:
    """How deep a JSON body may nest and how many items one array may hold.

    Depth counts containers: ``{}`` is depth 1, ``{"a": [1]}`` depth 2; scalars add none.
    """

    max_depth: int = DEFAULT_MAX_DEPTH
    max_array_items: int = DEFAULT_MAX_ARRAY_ITEMS

    @classmethod
    def from_settings(cls, settings: Settings) -> JsonLimits:
        """The limits ``CONCUR_SCIM_MAX_JSON_DEPTH`` and ``..._MAX_JSON_ARRAY_ITEMS`` set."""
        return cls(max_depth=settings.max_json_depth, max_array_items=settings.max_json_array_items)

    def depth_error(self) -> InvalidSyntax:
        """The error for a body nested deeper than :attr:`max_depth`."""
        return InvalidSyntax(f"the request body nests deeper than {self.max_depth} levels")


def parse_json(raw: bytes | bytearray, limits: JsonLimits) -> Any:
    """``raw`` parsed as JSON and checked against ``limits``.

    Repeated keys in an object keep the last value. Raises InvalidSyntax (400) for a body
    that is not JSON, nests past ``limits.max_depth`` or has an array longer than
    ``limits.max_array_items``.
    """
    try:
        value = json.loads(raw)
    except RecursionError:
        raise limits.depth_error() from None
    except ValueError:
        raise InvalidSyntax("the request body is not valid JSON") from None
    check_shape(value, limits)
    return value


def check_shape(value: Any, limits: JsonLimits) -> None:
    """Raise InvalidSyntax if ``value`` nests or fans out past ``limits`` (iteratively)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            if len(item) > limits.max_array_items:
                raise InvalidSyntax(
                    f"an array in the request body has more than {limits.max_array_items} items"
                )
            children = item
        else:
            continue
        if depth > limits.max_depth:
            raise limits.depth_error()
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
