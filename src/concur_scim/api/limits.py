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
import math
from dataclasses import dataclass
from typing import Any

from concur_scim.config import Settings
from concur_scim.scim.errors import InvalidSyntax, InvalidValue

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
    """``raw`` parsed as JSON text (RFC 8259) and checked against ``limits``.

    Only RFC 8259 JSON is accepted: UTF-8 without a byte order mark (§8.1; a UTF-16 or
    UTF-32 body is not UTF-8), and no ``NaN``, ``Infinity`` or ``-Infinity`` literals (§6:
    they are not JSON). Repeated keys in an object keep the last value (Concur's own
    examples repeat keys); two keys that differ only in case are refused, because SCIM
    attribute names are case-insensitive (RFC 7643 §2.1) and such a body could be read two
    ways.

    Raises InvalidSyntax (400) for a body that is not such JSON, nests past
    ``limits.max_depth``, has an array longer than ``limits.max_array_items`` or an object
    with case-variant keys; InvalidValue (400) for a number too large for a double
    (``1e999``), which no attribute or parameter can hold.
    """
    if raw.startswith(_BOM):
        raise InvalidSyntax("the request body starts with a byte order mark (RFC 8259 §8.1)")
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidSyntax("the request body is not UTF-8 (RFC 8259 §8.1)") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:
        raise limits.depth_error() from None
    except ValueError:
        raise InvalidSyntax("the request body is not valid JSON") from None
    check_shape(value, limits)
    return value


_BOM = b"\xef\xbb\xbf"


def _refuse_constant(name: str) -> Any:
    raise InvalidSyntax(f"'{name}' is not a JSON value (RFC 8259 §6)")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise InvalidValue(f"the number {text[:40]} is out of range")
    return number


def check_shape(value: Any, limits: JsonLimits) -> None:
    """Raise InvalidSyntax if ``value`` nests or fans out past ``limits`` (iteratively)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            _check_keys(item)
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


def _check_keys(obj: dict[Any, Any]) -> None:
    """Raise InvalidSyntax if two keys of ``obj`` differ only in case.

    Every reader of a body (scope checks, the PATCH engine, validation) matches names
    case-insensitively; with one spelling per name they all read the same member.
    """
    # casefold, not lower: it also folds pairs lower() keeps apart (micro sign, Greek Mu).
    if len(obj) > 1 and len({k.casefold() for k in obj}) != len(obj):
        seen: dict[str, str] = {}
        for key in obj:
            other = seen.setdefault(key.casefold(), key)
            if other != key:
                raise InvalidSyntax(
                    f"the request body has the keys '{other}' and '{key}', which differ only"
                    " in case (RFC 7643 §2.1: attribute names are case-insensitive)"
                )
