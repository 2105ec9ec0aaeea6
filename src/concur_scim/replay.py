"""Record and replay: a request journal turned into a contract scenario, and its replayer.

A *scenario* is a JSON object ``{"format": FORMAT, "company": ID, "steps": [...]}``; each step
is::

    {"step": 3, "method": "PATCH", "path": "/scim/v2/Users/{{id1}}",
     "headers": {"Content-Type": "application/scim+json"},
     "body": {...},                      # the journaled (redacted) JSON body, or absent
     "text": "...",                      # instead of "body": an XML body (User v1.0)
     "creates": "{{id2}}",               # a create: the id the answer issues binds this
     "expect": {"status": 200,
                "shape": {"keys": [...], "schemas": [...], "id": true}
                         | {"empty": true} | null},
     "skip": "why it cannot be replayed"}  # present only on a step that is not sent

:func:`scenario_from_journal` builds one from ``request_log`` rows (oldest first). Ids the
server issued in the recording (the ``resource_id`` of a successful create) become
placeholders ``{{id1}}``, ``{{id2}}``… wherever they appear later: in paths (whole
segments) and in every string of a body (as substrings when 8 characters or longer, which
UUIDs are; shorter ones only as whole strings). At replay time a create's answer (its JSON
``id``, else the last segment of ``Location``) binds its placeholder; a step that still holds
an unbound placeholder fails naming it.

The shape is what a fresh server must reproduce, not values: the set of top-level keys of a
JSON object answer, its ``schemas`` (sorted) when present and whether it has an ``id``;
``{"empty": true}`` for an answer without body; ``null`` (status only) when the journal did
not keep the answer whole (cut past 8 KB, not JSON).

What the journal cannot give is never invented: a step is exported with ``skip`` (and not
sent) when its request body was cut past 8 KB or kept as its size only, when it is a token
request (credentials are never journaled), when a fault rule made its answer, when the
client left mid-body (499), or when it is a failed read of a collection (the journal keeps
no query string). Secrets are masked in the journal (``"[redacted]"``) and are replayed as
that text. ``If-Match`` is not journaled, so no step sends it.

:class:`Replayer` sends steps in order to a server root URL with a bearer token and judges
each against its ``expect``; :func:`replay` runs a whole scenario. Both ``concur-scim journal
replay`` and the pytest files ``concur-scim journal export --format pytest`` writes use them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx

FORMAT = "concur-scim-replay/1"
PLACEHOLDER = re.compile(r"\{\{(id\d+)\}\}")
SUBSTRING_ID_LENGTH = 8  # ids at least this long are mapped inside longer strings too
TIMEOUT_SECONDS = 30.0
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ScenarioError(ValueError):
    """A scenario document that is not of :data:`FORMAT`."""


# -- export ----------------------------------------------------------------------------------


def answer_shape(summary: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The expected shape of an answer from its journal summary (see the module doc)."""
    if summary is None:
        return {"empty": True}
    if summary.get("truncated") or "json" not in summary:
        return None
    return shape_of(summary["json"])


def shape_of(document: Any) -> dict[str, Any] | None:
    """The shape of a parsed JSON answer: None unless it is an object."""
    if not isinstance(document, dict):
        return None
    shape: dict[str, Any] = {"keys": sorted(document), "id": "id" in document}
    schemas = document.get("schemas")
    if isinstance(schemas, list):
        shape["schemas"] = sorted(str(s) for s in schemas)
    return shape


class IdMap:
    """The server-issued ids of a recording and their placeholders, in order of issue."""

    def __init__(self) -> None:
        self.placeholders: dict[str, str] = {}

    def issue(self, resource_id: str) -> str:
        """The placeholder of ``resource_id``, a new ``{{idN}}`` the first time."""
        found = self.placeholders.get(resource_id)
        if found is None:
            found = f"{{{{id{len(self.placeholders) + 1}}}}}"
            self.placeholders[resource_id] = found
        return found

    def text(self, value: str) -> str:
        """``value`` with known ids replaced (whole string, or substring for long ids)."""
        exact = self.placeholders.get(value)
        if exact is not None:
            return exact
        for resource_id, placeholder in self.placeholders.items():
            if len(resource_id) >= SUBSTRING_ID_LENGTH:
                value = value.replace(resource_id, placeholder)
        return value

    def path(self, path: str) -> str:
        """``path`` with every segment that is a known id replaced."""
        return "/".join(self.text(segment) for segment in path.split("/"))

    def document(self, node: Any) -> Any:
        """A copy of a JSON document with known ids replaced in every string value."""
        if isinstance(node, str):
            return self.text(node)
        if isinstance(node, list):
            return [self.document(item) for item in node]
        if isinstance(node, dict):
            return {key: self.document(item) for key, item in node.items()}
        return node


def skip_reason(row: Mapping[str, Any]) -> str | None:
    """Why a journal row cannot be replayed faithfully, or None when it can."""
    detail: Mapping[str, Any] | None = row.get("detail")
    if row.get("fault_rule") is not None:
        return f"the answer was made or delayed by fault rule {row['fault_rule']}"
    if row["status"] == 499:
        return "the client left before sending its whole body (499): nothing was handled"
    if row["path"].lower().endswith("/oauth2/v0/token"):
        return "a token request: its credentials are never journaled"
    if detail is not None:
        if detail.get("truncated"):
            return "the journal cut the request body past 8 KB: it cannot be replayed"
        if "form" in detail:
            return "a form body: its secret fields are not journaled"
        if "json" not in detail and "xml" not in detail:
            return "the journal kept only the request body's size, not its content"
    collection_read = row["method"] not in _WRITES and row.get("resource_id") is None
    if collection_read and not row["path"].endswith("/.search"):
        return "a failed read of a collection: the journal keeps no query string"
    return None


def _creates(row: Mapping[str, Any]) -> bool:
    resource_id = row.get("resource_id")
    return (
        row["method"] == "POST"
        and 200 <= row["status"] < 300
        and bool(resource_id)
        and resource_id not in row["path"].split("/")
    )


def scenario_from_journal(
    rows: Iterable[Mapping[str, Any]], *, company: str, ids: IdMap | None = None
) -> dict[str, Any]:
    """The scenario of journal ``rows`` (``request_log`` mappings, oldest first)."""
    ids = ids if ids is not None else IdMap()
    steps: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=1):
        step: dict[str, Any] = {
            "step": number,
            "method": row["method"],
            "path": ids.path(row["path"]),
            "headers": {},
        }
        detail: Mapping[str, Any] | None = row.get("detail")
        if detail is not None and "json" in detail and not detail.get("truncated"):
            step["headers"]["Content-Type"] = detail.get("contentType") or "application/json"
            step["body"] = ids.document(detail["json"])
        elif detail is not None and "xml" in detail and not detail.get("truncated"):
            step["headers"]["Content-Type"] = detail.get("contentType") or "application/xml"
            step["text"] = ids.text(detail["xml"])
        reason = skip_reason(row)
        if reason is not None:
            step["skip"] = reason
        if _creates(row):
            step["creates"] = ids.issue(str(row["resource_id"]))
        step["expect"] = {"status": row["status"], "shape": answer_shape(row.get("response"))}
        steps.append(step)
    return {"format": FORMAT, "company": company, "steps": steps}


def load_scenario(text: str) -> dict[str, Any]:
    """Parse a scenario document; ScenarioError when it is not one."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise ScenarioError(f"not JSON: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ScenarioError(f"not a scenario: its 'format' is not {FORMAT!r}")
    steps = document.get("steps")
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise ScenarioError("'steps' must be a list of objects")
    for step in steps:
        missing = {"step", "method", "path", "expect"} - set(step)
        if missing:
            raise ScenarioError(f"a step lacks {sorted(missing)}")
    return document


# -- replay ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepResult:
    """The outcome of one step: ``passed`` True or False, or None for a skipped step."""

    step: int
    request: str
    passed: bool | None
    message: str

    def line(self) -> str:
        """One report line: ``step 3 PATCH /scim/v2/Users/… : ok`` (or FAILED/skipped)."""
        verdict = "ok" if self.passed else "skipped" if self.passed is None else "FAILED"
        return f"step {self.step} {self.request}: {verdict}" + (
            f" ({self.message})" if self.message and self.passed is not True else ""
        )


class Unbound(LookupError):
    """A step names a placeholder no earlier answer bound."""


class Replayer:
    """Sends scenario steps in order to the server root ``url`` with bearer ``token``.

    Keeps the ids created answers bind to placeholders. A context manager (the HTTP client
    is closed on exit); ``client`` replaces the HTTP client (its base URL is then ``url``).
    """

    def __init__(self, url: str, token: str, client: httpx.Client | None = None) -> None:
        self.bound: dict[str, str] = {}
        self.client = client or httpx.Client(
            base_url=url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT_SECONDS,
        )

    def __enter__(self) -> Replayer:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.client.close()

    def resolve(self, value: Any) -> Any:
        """``value`` (a string or JSON document) with bound placeholders filled; Unbound
        names the first one not bound."""
        if isinstance(value, str):
            return PLACEHOLDER.sub(self._lookup, value)
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        return value

    def _lookup(self, match: re.Match[str]) -> str:
        found = self.bound.get(match[0])
        if found is None:
            raise Unbound(f"{match[0]} is not bound: the step that creates it did not pass")
        return found

    def run(self, step: Mapping[str, Any]) -> StepResult:
        """Send ``step`` (unless it is skipped) and judge the answer against its ``expect``."""
        request = f"{step['method']} {step['path']}"
        if step.get("skip"):
            return StepResult(step["step"], request, None, str(step["skip"]))
        try:
            path = self.resolve(step["path"])
            body = self.resolve(step["body"]) if "body" in step else None
            text = self.resolve(step["text"]) if "text" in step else None
        except Unbound as exc:
            return StepResult(step["step"], request, False, str(exc))
        content: bytes | None = None
        if body is not None:
            content = json.dumps(body).encode()
        elif text is not None:
            content = str(text).encode()
        try:
            response = self.client.request(
                step["method"],
                quote(path, safe=_PATH_SAFE),
                content=content,
                headers=dict(step.get("headers") or {}),
            )
        except httpx.HTTPError as exc:
            return StepResult(step["step"], request, False, f"no answer: {exc}")
        problem = self._judge(step, response)
        if problem is None and step.get("creates"):
            issued = _issued_id(response)
            if issued is None:
                problem = f"the answer issued no id for {step['creates']}"
            else:
                self.bound[step["creates"]] = issued
        if problem is None:
            return StepResult(step["step"], request, True, "")
        sent = json.dumps(body) if body is not None else text or "(no body)"
        return StepResult(
            step["step"], request, False, f"{problem}; sent {path} {_clip(str(sent))}"
        )

    def _judge(self, step: Mapping[str, Any], response: httpx.Response) -> str | None:
        expect: Mapping[str, Any] = step["expect"]
        got_body = _clip(response.text)
        if response.status_code != expect["status"]:
            return f"expected status {expect['status']}, got {response.status_code}: {got_body}"
        shape: Mapping[str, Any] | None = expect.get("shape")
        if shape is None:
            return None
        if shape.get("empty"):
            if response.content:
                return f"expected an empty answer, got {got_body}"
            return None
        try:
            got = shape_of(response.json())
        except ValueError:
            got = None
        if got is None:
            return f"expected a JSON object answer, got {got_body}"
        for key in ("keys", "schemas", "id"):
            if key in shape and shape[key] != got.get(key):
                return f"expected answer {key} {shape[key]}, got {got.get(key)}"
        return None


def _issued_id(response: httpx.Response) -> str | None:
    try:
        document = response.json()
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("id"), str | int):
        return str(document["id"])
    location = response.headers.get("location")
    if location:
        segments = [s for s in unquote(urlsplit(location).path).split("/") if s]
        return segments[-1] if segments else None
    return None


def _clip(text: str, size: int = 300) -> str:
    return text if len(text) <= size else text[:size] + "…"


def replay(scenario: Mapping[str, Any], url: str, token: str) -> Iterator[StepResult]:
    """Replay every step of ``scenario`` in order against ``url``; one result per step."""
    with Replayer(url, token) as replayer:
        for step in scenario["steps"]:
            yield replayer.run(step)
