"""Helpers shared by the benchmark harnesses (``run.py``, ``ups.py``, ``compare.py``).

Nothing here imports ``concur_scim``, so a server process of ``compare.py`` (the peer's)
can import it without loading the application under test.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import socket
import sqlite3
from pathlib import Path
from typing import Any

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's guess)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def backend_of(url: str) -> str:
    """A one-line description of the database backend."""
    if url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version} (WAL, file in a temp dir)"
    return "PostgreSQL (" + url.rsplit("@", maxsplit=1)[-1] + ")"  # never print credentials


def user_doc(prefix: str, i: int) -> dict[str, Any]:
    """A realistic user: core attributes plus the enterprise extension."""
    given = f"Given{i}"
    family = f"Family{i % 977}"
    return {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "userName": f"{prefix}-{i}@example.com",
        "externalId": f"{prefix}-ext-{i}",
        "name": {"givenName": given, "familyName": family, "formatted": f"{given} {family}"},
        "displayName": f"{given} {family}",
        "title": "Engineer",
        "active": True,
        "emails": [{"value": f"{prefix}-{i}@example.com", "type": "work", "primary": True}],
        "phoneNumbers": [{"value": f"+1 555 {i:07d}", "type": "work"}],
        ENTERPRISE_USER: {
            "employeeNumber": f"{prefix}-E{i}",
            "department": f"Dept {i % 37}",
            "costCenter": f"CC{i % 101}",
        },
    }


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def process_tree(root: int) -> list[int]:
    """``root`` and its descendants (from /proc; just ``root`` elsewhere)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = entry.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(entry.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    return found


def proc_cpu(pid: int) -> float:
    """CPU seconds (utime + stime) of one live process; 0 when unknown."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def ratio(a: float, b: float) -> str:
    """``a / b`` as ``1.23x`` (``n/a`` when undefined)."""
    if not b or math.isnan(a) or math.isnan(b):
        return "n/a"
    return f"{a / b:.2f}x"
