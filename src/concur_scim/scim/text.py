"""What text the store can hold: both backends refuse NUL, and UTF-8 has no lone surrogates."""

from __future__ import annotations


def storable_text(value: str) -> bool:
    """True when ``value`` can be written to and compared in SQLite and PostgreSQL."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable_path(value: object, where: str = "") -> str | None:
    """Where in a JSON value (keys included) the first text :func:`storable_text` refuses
    sits, as a ``a.b[2]`` path; None when all of it can be stored. Iterative: any depth."""
    todo: list[tuple[object, str]] = [(value, where)]
    while todo:
        node, path = todo.pop()
        if isinstance(node, str):
            if not storable_text(node):
                return path or "(value)"
        elif isinstance(node, dict):
            for key, item in node.items():
                name = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and not storable_text(key):
                    return (path + "." if path else "") + "(a key)"
                todo.append((item, name))
        elif isinstance(node, list):
            todo.extend((item, f"{path}[{index}]") for index, item in enumerate(node))
    return None
