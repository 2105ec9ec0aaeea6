"""What the admin commands print: rich tables on a terminal, plain lines elsewhere.

On a terminal a table is drawn by rich; when stdout is a pipe or a file (CI logs, scripts)
each row is one line of columns separated by two spaces and padded to align, with a header
line first, so that ``grep`` and ``awk`` work on it and nothing is wrapped or coloured.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO


class Output:
    """One command's output stream: :meth:`line` and :meth:`table`."""

    def __init__(self, stream: TextIO | None = None, *, rich: bool | None = None) -> None:
        self._stream = stream or sys.stdout
        self.rich = self._stream.isatty() if rich is None else rich
        from rich.console import Console  # noqa: PLC0415 (loaded on first use: serve imports cheaply)

        self.console = Console(file=self._stream, highlight=False, soft_wrap=True)

    def line(self, text: str = "") -> None:
        """Print ``text`` as is (no markup)."""
        if self.rich:
            self.console.print(text, markup=False)
        else:
            print(text, file=self._stream, flush=True)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]], title: str = "") -> None:
        """Print ``rows`` under ``headers`` (a rich table, or aligned plain lines)."""
        if self.rich:
            from rich.table import Table  # noqa: PLC0415 (loaded on first use: serve imports cheaply)

            table = Table(title=title or None)
            for header in headers:
                table.add_column(header, overflow="fold")
            for row in rows:
                table.add_row(*row)
            self.console.print(table)
            return
        if title:
            print(title, file=self._stream)
        print("\n".join(plain_table(headers, rows)), file=self._stream, flush=True)


def plain_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """``headers`` and ``rows`` as aligned lines, columns separated by two spaces."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in [list(headers), *rows]
    ]
