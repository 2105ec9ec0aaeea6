"""Parse a SCIM filter (RFC 7644 §3.4.2.2) into the typed AST of :mod:`filter_ast`.

The grammar structure (attribute paths, value paths, ``and``/``or``/``not``, grouping) comes
from ``scim2-filter-parser``. Its lexer cannot read every comparison value real clients send:
``12`` lexes as two one-digit tokens, negative and decimal numbers and escaped quotes
(``"a\\"b"``) do not lex at all, and unquoted words (``externalId eq jyoung``, bare UUIDs and
dates, as some Entra and Okta versions send) are taken for attribute names. So a small
pre-pass scans the text first, reading JSON strings with their escapes, and replaces every
comparison value (and every other string) with a placeholder string the library lexes
trivially; after parsing, the converter puts the typed values back.

Two library quirks are corrected while converting: it gives ``and`` and ``or`` the same
precedence (``a or b and c`` comes out as ``(a or b) and c``), so unparenthesised chains are
flattened and regrouped with ``and`` binding tighter (RFC 7644 §3.4.2.2, "not" > "and" >
"or"); and it accepts nested brackets and ``attr.sub[filter]``, which are rejected here.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scim2_filter_parser import ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser, SCIMParserError

from .errors import InvalidFilter
from .filter_ast import (
    COMPARISON_OPERATORS,
    And,
    AttrPath,
    Compare,
    Expr,
    Not,
    Or,
    Present,
    Scalar,
    ValuePath,
)
from .text import storable_text

MAX_FILTER_LENGTH = 4096
MAX_NESTING = 32  # parentheses and brackets; bounds the converter's recursion
_LOGICAL = frozenset({"and", "or", "not"})
_NOT_A_VALUE = _LOGICAL | COMPARISON_OPERATORS | {"pr"}
_DELIMITERS = "()[]"
_PATH_WORD = re.compile(r"[A-Za-z0-9:._$-]+")
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?P<frac>\.[0-9]+)?(?P<exp>[eE][+-]?[0-9]+)?")


@dataclass(frozen=True)
class _Token:
    kind: str  # "word" | "string" | "punct"
    text: str
    start: int


@dataclass(frozen=True)
class _Piece:
    """One token of the rewritten text and where it came from, for error positions."""

    out_start: int
    orig_start: int
    orig_text: str
    verbatim: bool


def parse_filter(text: str) -> Expr:
    """Parse ``text`` into an :data:`Expr` (RFC 7644 §3.4.2.2).

    Operators and the keywords ``and``/``or``/``not``/``true``/``false``/``null`` are
    case-insensitive; values keep their JSON type; an unquoted word value is a string.
    ``attr[filter].sub op value`` becomes ``ValuePath(attr, And(filter, sub op value))``.

    Raises:
        InvalidFilter: for any text that is not a filter (empty, longer than
            ``MAX_FILTER_LENGTH``, bad syntax, ``pr`` with a value, a comparison without
            one, nested brackets); never any other exception.
    """
    if not text.strip():
        raise InvalidFilter("The filter is empty.")
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilter(f"The filter is longer than {MAX_FILTER_LENGTH} characters.")
    simple = _simple_equality(text)
    if simple is not None:
        return simple
    return _parse(text)


# ``name eq "value"``: the filter identity providers send before every write (idp-clients.md:
# ``userName eq``, ``externalId eq``, ``displayName eq``). Read without the parser; the result
# is what the parser gives (tests/unit/test_filter_fast_path.py holds the two equal).
_SIMPLE_EQUALITY = re.compile(
    r'[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]+[eE][qQ][ \t]+("(?:[^"\\]|\\.)*")[ \t]*'
)


def _simple_equality(text: str) -> Compare | None:
    """The comparison of a plain ``name eq "value"`` filter, else None (the parser decides)."""
    found = _SIMPLE_EQUALITY.fullmatch(text)
    if found is None:
        return None
    try:
        value = json.loads(found.group(2))
    except ValueError:
        return None
    if not isinstance(value, str) or not storable_text(value):
        return None  # a lone surrogate or NUL: the parser's own answer
    return Compare(AttrPath(None, found.group(1)), "eq", value)


def _parse(text: str) -> Expr:
    """:func:`parse_filter` by the grammar (text already checked for emptiness and length)."""
    rewritten, pieces, values = _rewrite(_scan(text))
    last: list[Any] = [None]

    def tracked(tokens: Iterator[Any]) -> Iterator[Any]:
        for token in tokens:
            last[0] = token
            yield token

    try:
        tree = SCIMParser().parse(tracked(SCIMLexer().tokenize(rewritten)))
    except SCIMParserError as exc:
        if str(exc).endswith("None"):  # the parser reached the end of input
            raise InvalidFilter(
                "The filter ends early: an operand, ')' or ']' is missing."
            ) from None
        start, end = getattr(last[0], "index", 0), getattr(last[0], "end", 0)
        raise InvalidFilter(_unexpected(start, end, rewritten, pieces)) from None
    except Exception:  # the lexer's ValueError, or any library failure on odd input
        # Lexer errors happen after the last token it produced: point at the next character.
        start = len(rewritten) - len(rewritten[getattr(last[0], "end", 0) :].lstrip())
        raise InvalidFilter(_unexpected(start, start + 1, rewritten, pieces)) from None
    try:
        return _Converter(values).expr(tree, in_brackets=False)
    except InvalidFilter:
        raise
    except Exception:  # a tree shape the converter did not foresee; still the client's filter
        raise InvalidFilter(
            "The filter is not valid SCIM filter syntax (RFC 7644 §3.4.2.2)."
        ) from None


def _scan(text: str) -> list[_Token]:
    """Split ``text`` into words, JSON strings and delimiters; whitespace separates."""
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            i += 1
        elif char in _DELIMITERS:
            tokens.append(_Token("punct", char, i))
            i += 1
        elif char == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise InvalidFilter(f"Unterminated string starting at position {i + 1}.")
            tokens.append(_Token("string", text[i : j + 1], i))
            i = j + 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '()[]"':
                j += 1
            tokens.append(_Token("word", text[i:j], i))
            i = j
    return tokens


def _rewrite(tokens: list[_Token]) -> tuple[str, list[_Piece], dict[str, Scalar]]:
    """Rebuild the filter for the library with every value replaced by a placeholder."""
    out: list[str] = []
    pieces: list[_Piece] = []
    values: dict[str, Scalar] = {}
    position = depth = 0

    def emit(text: str, token: _Token, verbatim: bool) -> None:
        nonlocal position
        pieces.append(_Piece(position, token.start, token.text, verbatim))
        out.append(text)
        position += len(text) + 1

    def placeholder(value: Scalar, token: _Token) -> None:
        # NUL never survives the scan outside a placeholder's quotes, so no collision.
        key = f"\x00{len(values)}"
        values[key] = value
        emit(f'"{key}"', token, verbatim=False)

    k, prev = 0, None
    while k < len(tokens):
        token = tokens[k]
        after = tokens[k + 1] if k + 1 < len(tokens) else None
        lower = token.text.lower()
        if token.kind == "string":
            placeholder(_decode(token), token)
        elif token.kind == "punct":
            depth += 1 if token.text in "([" else -1
            if depth > MAX_NESTING:
                raise InvalidFilter(f"The filter nests deeper than {MAX_NESTING} levels.")
            emit(token.text, token, verbatim=True)
        elif lower in COMPARISON_OPERATORS and _ends_path(prev):
            if after is None or after.kind == "punct" or after.text.lower() in _NOT_A_VALUE:
                raise InvalidFilter(
                    f"The operator {token.text!r} at position {token.start + 1} needs a value."
                )
            emit(token.text, token, verbatim=True)
            typed = _decode(after) if after.kind == "string" else _bare(after.text)
            placeholder(typed, after)
            k, prev = k + 2, after
            continue
        elif lower == "pr" and _ends_path(prev) and _is_operand(after):
            raise InvalidFilter(f"'pr' at position {token.start + 1} takes no value.")
        else:
            if not _PATH_WORD.fullmatch(token.text):
                bad = next(c for c in token.text if not _PATH_WORD.fullmatch(c))
                where = token.start + token.text.index(bad) + 1
                raise InvalidFilter(f"Unexpected character {bad!r} at position {where}.")
            if after is not None and after.text == "[" and "." in token.text.rsplit(":", 1)[-1]:
                raise InvalidFilter(
                    f"A [filter] applies to an attribute, not to the sub-attribute "
                    f"{token.text!r} (position {token.start + 1})."
                )
            emit(token.text, token, verbatim=True)
        k, prev = k + 1, token
    return " ".join(out), pieces, values


def _ends_path(token: _Token | None) -> bool:
    """Whether ``token`` can end an attribute path, so an operator word after it is one."""
    if token is None:
        return False
    if token.kind == "word":
        return token.text.lower() not in _NOT_A_VALUE
    return token.text == "]"


def _is_operand(token: _Token | None) -> bool:
    """Whether ``token`` reads as a value (so ``pr`` before it would take one)."""
    if token is None or token.kind == "punct":
        return False
    return token.kind == "string" or token.text.lower() not in _LOGICAL


def _decode(token: _Token) -> str:
    """The JSON string literal ``token`` (RFC 8259 §7) as a Python string."""
    try:
        value = json.loads(token.text, strict=False)
        value.encode("utf-8")  # rejects unpaired surrogates such as "\ud800"
    except (ValueError, UnicodeEncodeError):
        raise InvalidFilter(
            f"Invalid string {token.text!r} at position {token.start + 1}."
        ) from None
    assert isinstance(value, str)
    return value


def _bare(word: str) -> Scalar:
    """An unquoted value: a JSON literal or number, else (leniently) a string."""
    lower = word.lower()
    if lower in ("true", "false"):
        return lower == "true"
    if lower == "null":
        return None
    match = _JSON_NUMBER.fullmatch(word)
    if match is None:
        return word
    if match["frac"] is None and match["exp"] is None:
        return int(word)
    number = float(word)
    if not math.isfinite(number):
        raise InvalidFilter(f"The number {word!r} is out of range.")
    return number


def _unexpected(start: int, end: int, rewritten: str, pieces: list[_Piece]) -> str:
    """Name the rewritten text's ``[start:end]`` as the client wrote it, with its position."""
    if not pieces or start >= len(rewritten):
        return "The filter is not valid SCIM filter syntax (RFC 7644 §3.4.2.2)."
    piece = pieces[max(bisect_right([p.out_start for p in pieces], start) - 1, 0)]
    if piece.verbatim:
        shown, where = rewritten[start:end], piece.orig_start + start - piece.out_start
    else:
        shown, where = piece.orig_text, piece.orig_start
    return f"Unexpected {shown!r} at position {where + 1}."


class _Converter:
    """Turns the library's tree into :mod:`filter_ast` nodes, restoring typed values."""

    def __init__(self, values: dict[str, Scalar]) -> None:
        self.values = values

    def expr(self, node: Any, *, in_brackets: bool) -> Expr:
        if isinstance(node, ast.Filter):
            if node.namespace is not None:
                return self.value_path(node.namespace, node.expr, None, in_brackets=in_brackets)
            if node.negated:
                return Not(self.expr(node.expr, in_brackets=in_brackets))
            return self.expr(node.expr, in_brackets=in_brackets)
        if isinstance(node, ast.LogExpr):
            return self.chain(node, in_brackets=in_brackets)
        if isinstance(node, ast.AttrExpr):
            return self.attr_expr(node, in_brackets=in_brackets)
        raise InvalidFilter("The filter is not valid SCIM filter syntax (RFC 7644 §3.4.2.2).")

    def chain(self, node: Any, *, in_brackets: bool) -> Expr:
        """Regroup an unparenthesised and/or chain so that ``and`` binds tighter."""
        operands: list[Any] = []
        ops: list[str] = []
        todo: list[Any] = [node]
        while todo:
            item = todo.pop()
            if isinstance(item, str):
                ops.append(item)
            elif isinstance(item, ast.LogExpr):
                todo.extend((item.expr2, str(item.op).lower(), item.expr1))
            elif (
                isinstance(item, ast.Filter)
                and not item.negated
                and item.namespace is None
                and isinstance(item.expr, ast.LogExpr)  # a bare chain; "(...)" nests a Filter
            ):
                todo.append(item.expr)
            else:
                operands.append(item)
        terms: list[Expr] = []
        current = self.expr(operands[0], in_brackets=in_brackets)
        for op, operand in zip(ops, operands[1:], strict=True):
            right = self.expr(operand, in_brackets=in_brackets)
            if op == "and":
                current = And(current, right)
            else:
                terms.append(current)
                current = right
        terms.append(current)
        result = terms[0]
        for term in terms[1:]:
            result = Or(result, term)
        return result

    def value_path(self, ns: Any, inner: Any, leaf: Expr | None, *, in_brackets: bool) -> Expr:
        """``ns[inner]``, or ``ns[inner].sub op value`` when ``leaf`` is that comparison."""
        if in_brackets:
            raise InvalidFilter("Nested [filters] are not allowed inside a [filter].")
        path = self.path(ns, in_brackets=False)
        if leaf is None and path.sub is not None:
            raise InvalidFilter(f"A [filter] cannot follow the sub-attribute {path.sub!r}.")
        condition = self.expr(inner, in_brackets=True)
        if leaf is not None:
            condition = And(condition, leaf)
        return ValuePath(AttrPath(path.urn, path.attr), condition)

    def attr_expr(self, node: Any, *, in_brackets: bool) -> Expr:
        op = str(node.value).lower()
        target = node.attr_path
        if isinstance(target.attr_name, ast.Filter):
            # attr[filter].sub op value: the library moved ".sub" onto the namespace path.
            ns = target.attr_name.namespace
            sub = getattr(ns, "sub_attr", None)
            if in_brackets:
                raise InvalidFilter("Nested [filters] are not allowed inside a [filter].")
            if sub is None:
                raise InvalidFilter("Compare a sub-attribute after ']', e.g. emails[...].value.")
            leaf = self.leaf(AttrPath(None, str(sub.value)), op, node.comp_value)
            return self.value_path(ns, target.attr_name.expr, leaf, in_brackets=in_brackets)
        return self.leaf(self.path(target, in_brackets=in_brackets), op, node.comp_value)

    def leaf(self, path: AttrPath, op: str, comp_value: Any) -> Expr:
        if op == "pr":
            if comp_value is not None:
                raise InvalidFilter("'pr' takes no value.")
            return Present(path)
        key = getattr(comp_value, "value", None)
        if op not in COMPARISON_OPERATORS or not isinstance(key, str) or key not in self.values:
            raise InvalidFilter(f"The comparison on {path.attr!r} has no valid value.")
        return Compare(path, op, self.values[key])

    def path(self, node: Any, *, in_brackets: bool) -> AttrPath:
        if not isinstance(node, ast.AttrPath) or not isinstance(node.attr_name, str):
            raise InvalidFilter("Nested [filters] are not allowed.")
        sub = None if node.sub_attr is None else str(node.sub_attr.value)
        path = AttrPath(node.uri, node.attr_name, sub)
        if in_brackets and path.urn is not None:
            written = f"{path.urn}:{path.attr}" + (f".{path.sub}" if path.sub else "")
            raise InvalidFilter(
                "Inside a [filter], name a sub-attribute of the enclosing attribute, "
                f"without a schema URN (got {written!r})."
            )
        # ``attr[sub.subsub op v]`` is kept: Concur's own PATCH paths filter on a nested
        # sub-attribute (``report[approver.value eq "…"]``, reference/concur-v4.md §3.6).
        return path
