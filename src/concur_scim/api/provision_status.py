"""The Provision:Status resource of a UPS request (reference/concur-v4.md §3.4), rendered.

``status.success`` stays null until the request has completed; ``operations[]`` is shown
only when asked for (``attributes=operations``), paged with ``startIndex``/``count`` and
filtered with ``state``. Timestamps use Concur's status format
``2021-04-26T16:29:38.459+0000`` (milliseconds, an offset without a colon).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from concur_scim.scim.lint import LINT_URN
from concur_scim.scim.provision_schemas import PROVISION_STATUS_URN
from concur_scim.services.provisioning import EXTENSION_NAMES
from concur_scim.store.provisions import OperationRecord, ProvisionRecord, ResultRecord

_ORDER = {urn: index for index, urn in enumerate(EXTENSION_NAMES)}


def status_time(moment: datetime) -> str:
    """``moment`` in Concur's status format: ``2020-07-15T23:03:07.859+0000``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def status_url(root: str, provision_id: str) -> str:
    """Where the status of ``provision_id`` is read (``meta.location``, ``meta.statusUrl``)."""
    return f"{root}/provisions/{provision_id}/status"


def render_status(
    provision: ProvisionRecord,
    root: str,
    page: tuple[list[OperationRecord], int, int] | None = None,
    results: dict[int, list[ResultRecord]] | None = None,
) -> dict[str, Any]:
    """The Provision:Status body; ``page`` is (operations, total, startIndex) when asked."""
    completed = provision.state == "completed"
    meta: dict[str, Any] = {
        "resourceType": "ProvisionRequest",
        "location": status_url(root, provision.id),
        "companyId": provision.company_id,
        "created": status_time(provision.created),
        "lastModified": status_time(provision.last_modified),
        "provisionType": provision.provision_type,
        "correlationId": provision.correlation_id,
    }
    if provision.completed is not None:
        meta["completed"] = status_time(provision.completed)
    body: dict[str, Any] = {
        "schemas": [PROVISION_STATUS_URN],
        "id": provision.id,
        "status": {"completed": completed, "success": provision.success if completed else None},
        "operationsCount": {
            "total": provision.total,
            "success": provision.succeeded,
            "failed": provision.failed,
            "pending": provision.pending,
        },
        "meta": meta,
    }
    if page is not None:
        operations, total, start_index = page
        body["totalResults"] = total
        body["itemsPerPage"] = len(operations)
        body["startIndex"] = start_index
        body["operations"] = [
            render_operation(op, (results or {}).get(op.position, [])) for op in operations
        ]
    return body


def render_operation(op: OperationRecord, results: list[ResultRecord]) -> dict[str, Any]:
    """One entry of ``operations[]``: its status, resource and per-extension results, and
    the lint report stored with it (scim/lint.py), if the request asked for one."""
    status: dict[str, Any] = {"completed": op.done, "success": op.success if op.done else None}
    if op.done and op.code is not None:
        status["code"] = op.code
    body: dict[str, Any] = {"id": str(op.position), "bulkId": op.bulk_id, "status": status}
    if op.resource_id is not None:
        body["resource"] = {"id": op.resource_id, "type": "User"}
    body["extensions"] = [
        render_result(r) for r in sorted(results, key=lambda r: _ORDER.get(r.urn, len(_ORDER)))
    ]
    if op.lint is not None:  # stored when the request asked for the lint report
        body[LINT_URN] = {"findings": op.lint}
    return body


def render_result(result: ResultRecord) -> dict[str, Any]:
    """One extension's result (§3.4): ``success`` is false only for ``error`` and
    ``not-processed``; ``no-op`` counts as success, as Concur reports it."""
    status: dict[str, Any] = {
        "completed": True,
        "success": result.result in ("success", "no-op"),
        "result": result.result,
    }
    if result.code is not None:
        status["code"] = result.code
    body: dict[str, Any] = {"name": result.urn, "status": status}
    if result.messages:
        body["messages"] = result.messages
    return body
