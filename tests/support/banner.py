"""`concur-scim serve --port 0` as a real process, read through the banner it prints.

Contract: ``serving(database, *args, env=...)`` starts ``python -m concur_scim.cli serve --port 0``
on the SQLite file ``database`` (its directory is the working directory), reads stdout up to
the banner's last line (``OpenAPI: …``) and yields it as a ``Banner``; the banner is printed
once the port is bound, so a request may follow at once. ``CONCUR_SCIM_*`` variables of the
calling environment are not inherited; ``env`` adds any. On exit the server gets SIGTERM and
must stop cleanly within 20 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Banner:
    """What one `serve` printed before serving."""

    lines: list[str]

    def value(self, prefix: str) -> str:
        found = [line for line in self.lines if line.startswith(prefix)]
        assert len(found) == 1, (prefix, self.lines)
        return found[0].removeprefix(prefix).strip()

    @property
    def token(self) -> str:
        return self.value("bearer token:")

    @property
    def base(self) -> str:
        return self.value("concur-scim serving SCIM 2.0 at").removesuffix("/scim/v2")


def serve_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONCUR_SCIM_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@contextmanager
def serving(database: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Banner]:
    """`serve --port 0` on ``database``; yields the banner as soon as it is printed."""
    command = [sys.executable, "-m", "concur_scim.cli", "serve", "--port", "0"]
    command += ["--database-url", f"sqlite:///{database}", *args]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=serve_env(env),
        cwd=database.parent,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            lines: list[str] = []
            while not lines or not lines[-1].startswith("OpenAPI:"):  # the banner's last line
                line = process.stdout.readline()
                assert line, f"serve stopped before its banner ended: {lines}"
                lines.append(line.rstrip("\n"))
            yield Banner(lines)
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) in (0, -signal.SIGTERM)
