"""``concur-scim bulk submit FILE``: send a file of users or operations to a running server's
User Provisioning ``/Bulk`` (reference/concur-v4.md §3.2-§3.4) and report what became of it.

The file is read and split by ``cli_bulk_file.py`` under the limits the server publishes in
``/profile/v4/ServiceProviderConfig`` (``bulk.maxOperations``, ``bulk.maxPayloadSize``),
lowered by ``--max-operations`` / ``--max-bytes``. Each request is POSTed; then every
provision's status URL is polled until it has completed, with a rich progress bar on a
terminal (plain lines otherwise, or with ``--no-progress``). Last come a summary table
(extension by success / no-op / error / not-processed) and one line per failed operation.

Only over HTTP, on purpose: the API is where scopes, body limits and the lint report apply
and where the server's worker is woken, so a file sent here is treated exactly as an
identity provider's requests would be. Writing provisions into the database directly would
skip those checks and still need a running worker to resolve them; putting users into a
database without a server is what ``seed`` is for.

Exit status: 0 every operation succeeded; 1 some operation failed; 2 a usage error (bad
file, options, token refused) or a connection error (server unreachable, a request refused,
provisions not completed within ``--timeout``).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from concur_scim.cli_bulk_file import FORMATS, BulkFileError, encode, read_bulk_file, split
from concur_scim.cli_help import option_help, setting_help
from concur_scim.cli_output import Output
from concur_scim.config import Settings
from concur_scim.services.provisioning import EXTENSION_NAMES

if TYPE_CHECKING:
    import httpx

UPS_ROOT = "/profile/v4"
DEFAULT_URL = "http://127.0.0.1:8000"
RESULTS = ("success", "no-op", "error", "not-processed")
STATUS_PAGE = 1000  # the most operations one status page carries (api/ups.py)
MAX_FAILURES_SHOWN = 20


class BulkCommandError(Exception):
    """A usage or connection problem: one line, exit status 2."""


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    """The ``bulk submit`` parser."""
    bulk = sub.add_parser("bulk", help="send users or operations to User Provisioning /Bulk")
    actions = bulk.add_subparsers(dest="action", required=True)
    submit = actions.add_parser(
        "submit",
        help="submit a JSON, NDJSON or CSV file, wait for the worker, summarise the results",
        description=(
            "Send a file of users or operations to a running server's User Provisioning /Bulk,"
            " split under the server's Bulk limits, wait until the worker has resolved every"
            " provision and summarise the results per extension. Exit status: 0 all succeeded,"
            " 1 some operation failed, 2 usage or connection error."
        ),
    )
    submit.add_argument("file", type=Path, help="a JSON BulkRequest, NDJSON or CSV file")
    submit.add_argument(
        "--format",
        choices=FORMATS,
        default="auto",
        help=option_help("file format; auto goes by suffix, then by content", "auto"),
    )
    submit.add_argument(
        "--url", default=DEFAULT_URL, help=option_help("base URL of the server", DEFAULT_URL)
    )
    submit.add_argument(
        "--token",
        help=setting_help("bearer token of the company to provision", "bearer_token"),
    )
    submit.add_argument(
        "--max-operations",
        type=int,
        help=option_help(
            "most operations per request", "the server's bulk.maxOperations (Concur: 100)"
        ),
    )
    submit.add_argument(
        "--max-bytes",
        type=int,
        help=option_help(
            "most bytes per request", "the server's bulk.maxPayloadSize (Concur: 409600)"
        ),
    )
    submit.add_argument(
        "--poll-interval",
        type=float,
        default=0.5,
        help=option_help("seconds between status reads", "0.5"),
    )
    submit.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        help=option_help("seconds to wait for the provisions to complete", "600"),
    )
    submit.add_argument(
        "--no-progress",
        action="store_true",
        help=option_help(
            "plain lines (progress, summary) instead of a progress bar and a drawn table",
            "a bar on a terminal",
        ),
    )


@dataclass
class Provision:
    """One submitted request: where its status is, and what it became."""

    number: int
    location: str
    total: int
    done: int = 0
    completed: bool = False
    operations: list[dict[str, Any]] = field(default_factory=list)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out ``bulk submit``; returns the exit status (module docstring)."""
    import httpx  # noqa: PLC0415 (loaded on first use: serve imports cheaply)

    out = Output(rich=False) if args.no_progress else Output()
    try:
        return _submit(settings, args, out)
    except BulkFileError as exc:
        print(f"concur-scim: {args.file}: {exc}", file=sys.stderr)
    except BulkCommandError as exc:
        print(f"concur-scim: {exc}", file=sys.stderr)
    except httpx.HTTPError as exc:
        print(f"concur-scim: cannot reach {args.url}: {exc or type(exc).__name__}", file=sys.stderr)
    return 2


def _submit(settings: Settings, args: argparse.Namespace, out: Output) -> int:
    token = args.token or (
        settings.bearer_token.get_secret_value() if settings.bearer_token else ""
    )
    if not token:
        raise BulkCommandError("bulk submit needs --token or CONCUR_SCIM_BEARER_TOKEN")
    import httpx  # noqa: PLC0415 (loaded on first use: serve imports cheaply)

    file = read_bulk_file(args.file, args.format)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/scim+json"}
    with httpx.Client(base_url=args.url.rstrip("/"), headers=headers, timeout=30.0) as client:
        max_operations, max_bytes = _limits(client, args)
        bodies = split(file, max_operations=max_operations, max_bytes=max_bytes)
        progress = out.rich and not args.no_progress
        provisions = [
            _post(client, body, n, len(bodies), out, progress) for n, body in enumerate(bodies, 1)
        ]
        with _progress_bar(out, sum(p.total for p in provisions), progress) as advance:
            _wait(client, provisions, args, out, advance, progress)
    return _summarise(out, provisions)


def _refused(response: httpx.Response, what: str) -> BulkCommandError:
    try:
        detail = response.json().get("detail") or response.text
    except ValueError:
        detail = response.text
    return BulkCommandError(f"{what}: HTTP {response.status_code}: {str(detail)[:200]}")


def _limits(client: httpx.Client, args: argparse.Namespace) -> tuple[int, int]:
    """The server's Bulk limits, lowered by the options."""
    response = client.get(f"{UPS_ROOT}/ServiceProviderConfig")
    if response.status_code != 200:
        raise _refused(response, "reading the server's Bulk limits")
    published = response.json().get("bulk", {})
    max_operations = int(published.get("maxOperations") or 100)
    max_bytes = int(published.get("maxPayloadSize") or 409_600)
    if args.max_operations is not None:
        if args.max_operations < 1:
            raise BulkCommandError("--max-operations must be at least 1")
        max_operations = min(max_operations, args.max_operations)
    if args.max_bytes is not None:
        if args.max_bytes < 1:
            raise BulkCommandError("--max-bytes must be at least 1")
        max_bytes = min(max_bytes, args.max_bytes)
    return max_operations, max_bytes


def _post(
    client: httpx.Client, body: dict[str, Any], number: int, count: int, out: Output, bar: bool
) -> Provision:
    response = client.post(
        f"{UPS_ROOT}/Bulk",
        content=encode(body),
        headers={"Content-Type": "application/scim+json"},
    )
    if response.status_code != 202:
        raise _refused(response, f"request {number} of {count} refused")
    status = response.json()
    location = response.headers.get("Location") or status["meta"]["location"]
    total = int(status["operationsCount"]["total"])
    if not bar:
        out.line(
            f"submitted request {number} of {count}: provision {status['id']} ({total} operations)"
        )
    return Provision(number=number, location=location, total=total)


@contextmanager
def _progress_bar(out: Output, total: int, shown: bool) -> Iterator[Any]:
    """A function advancing the bar by n operations (a no-op without a bar)."""
    if not shown:
        yield lambda _n: None
        return
    from rich.progress import (  # noqa: PLC0415 (loaded on first use: serve imports cheaply)
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("operations"),
        TimeElapsedColumn(),
        console=out.console,
    ) as progress:
        task = progress.add_task("provisions", total=total)
        yield lambda n: progress.advance(task, n)


def _wait(
    client: httpx.Client,
    provisions: list[Provision],
    args: argparse.Namespace,
    out: Output,
    advance: Any,
    bar: bool,
) -> None:
    """Poll every provision until it has completed, then read its operations."""
    deadline = time.monotonic() + args.timeout
    while True:
        for provision in provisions:
            if provision.completed:
                continue
            response = client.get(provision.location)
            if response.status_code != 200:
                raise _refused(response, f"reading {provision.location}")
            status = response.json()
            counts = status["operationsCount"]
            done = int(counts["success"]) + int(counts["failed"])
            advance(done - provision.done)
            provision.done = done
            if status["status"]["completed"]:
                provision.completed = True
                provision.operations = _operations(client, provision.location)
                if not bar:
                    out.line(
                        f"provision {status['id']} completed: {counts['success']} succeeded,"
                        f" {counts['failed']} failed"
                    )
        if all(p.completed for p in provisions):
            return
        if time.monotonic() > deadline:
            pending = sum(not p.completed for p in provisions)
            raise BulkCommandError(f"{pending} provision(s) not completed within {args.timeout:g}s")
        time.sleep(args.poll_interval)


def _operations(client: httpx.Client, location: str) -> list[dict[str, Any]]:
    """Every operation of a completed provision, page by page."""
    operations: list[dict[str, Any]] = []
    while True:
        response = client.get(
            location,
            params={
                "attributes": "operations",
                "startIndex": len(operations) + 1,
                "count": STATUS_PAGE,
            },
        )
        if response.status_code != 200:
            raise _refused(response, f"reading {location}")
        page = response.json()
        operations.extend(page.get("operations", []))
        if not page.get("operations") or len(operations) >= int(page.get("totalResults", 0)):
            return operations


def short_name(urn: str) -> str:
    """``spend:Role`` for ``urn:…:extension:spend:2.0:Role``; ``core:User`` for core."""
    parts = urn.split(":")
    if len(parts) >= 3:
        return f"{parts[-3]}:{parts[-1]}"
    return urn


def _summarise(out: Output, provisions: list[Provision]) -> int:
    counts: dict[str, Counter[str]] = {}
    failures: list[str] = []
    succeeded = failed = 0
    for provision in provisions:
        for op in provision.operations:
            for ext in op.get("extensions", []):
                counts.setdefault(ext["name"], Counter())[ext["status"]["result"]] += 1
            if op["status"].get("success"):
                succeeded += 1
                continue
            failed += 1
            failures.append(_failure(provision, op))
    order = {urn: n for n, urn in enumerate(EXTENSION_NAMES)}
    names = sorted(counts, key=lambda urn: (order.get(urn, len(order)), urn))
    out.table(
        ["extension", *RESULTS],
        [[short_name(n), *(str(counts[n][r]) for r in RESULTS)] for n in names],
    )
    for line in failures[:MAX_FAILURES_SHOWN]:
        out.line(line)
    if len(failures) > MAX_FAILURES_SHOWN:
        out.line(f"… and {len(failures) - MAX_FAILURES_SHOWN} more failed operations")
    total = succeeded + failed
    out.line(
        f"{total} operations in {len(provisions)} request(s): {succeeded} succeeded,"
        f" {failed} failed"
    )
    return 1 if failed else 0


def _failure(provision: Provision, op: dict[str, Any]) -> str:
    """One line for a failed operation: its bulkId, code and the first error message."""
    problems = [
        ext for ext in op.get("extensions", []) if ext["status"]["result"] == "error"
    ] or op.get("extensions", [])
    detail = ""
    for ext in problems:
        messages = ext.get("messages") or []
        if messages:
            first = messages[0]
            detail = f"{short_name(ext['name'])}: {first.get('message') or first.get('code')}"
            break
    code = op["status"].get("code", "?")
    return (
        f"failed: {op.get('bulkId')} (request {provision.number}, operation {op.get('id')},"
        f" code {code}){': ' + detail if detail else ''}"
    )
