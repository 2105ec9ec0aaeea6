"""The two UPS message schemas its ``/Schemas`` lists besides the user schemas (reference/
concur-v4.md §3.1): Concur's Error extension and the Provision:Status resource (§3.4, §4.5).

No model backs them: the server writes these bodies itself (``api/provision_status.py``,
``api/responses.py``) rather than validating client input against them; the documents below
describe exactly the fields those writers produce, in RFC 7643 §7 form.
"""

from __future__ import annotations

from typing import Any

PROVISION_STATUS_URN = "urn:ietf:params:scim:schemas:extension:concur:2.0:Provision:Status"
CONCUR_ERROR_URN = "urn:ietf:params:scim:api:messages:concur:2.0:Error"
SCHEMA_URN = "urn:ietf:params:scim:schemas:core:2.0:Schema"


def _attr(name: str, kind: str, description: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "type": kind,
        "multiValued": False,
        "description": description,
        "required": False,
        "caseExact": False,
        "mutability": "readOnly",
        "returned": "default",
        "uniqueness": "none",
    }
    body.update(extra)
    return body


def _complex(
    name: str, description: str, subs: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    return _attr(name, "complex", description, subAttributes=subs, **extra)


def _messages() -> dict[str, Any]:
    return _complex(
        "messages",
        "Concur's messages: what failed or was adjusted, per attribute.",
        [
            _attr("code", "string", "A machine-readable code, e.g. INVALID_VALUE.", required=True),
            _attr("message", "string", "The message text."),
            _attr("schemaPath", "string", "The attribute the message is about."),
            _attr(
                "type",
                "string",
                "error or warning.",
                required=True,
                canonicalValues=["error", "warning"],
            ),
        ],
        multiValued=True,
    )


def _status(with_result: bool) -> dict[str, Any]:
    subs = [
        _attr("completed", "boolean", "Whether processing has finished.", required=True),
        _attr("success", "boolean", "Whether it succeeded; null while pending."),
        _attr("code", "string", "An HTTP status code, as a string."),
    ]
    if with_result:
        subs.append(
            _attr(
                "result",
                "string",
                "The extension's result.",
                canonicalValues=["success", "error", "no-op", "not-processed"],
            )
        )
    return _complex("status", "The processing status.", subs, required=True)


PROVISION_SCHEMAS: tuple[dict[str, Any], ...] = (
    {
        "schemas": [SCHEMA_URN],
        "id": CONCUR_ERROR_URN,
        "name": "Concur Error",
        "description": "Concur's error extension of the SCIM Error response.",
        "attributes": [_messages()],
    },
    {
        "schemas": [SCHEMA_URN],
        "id": PROVISION_STATUS_URN,
        "name": "Provision Status",
        "description": "The status of a User Provisioning request and of its operations.",
        "attributes": [
            _attr("id", "string", "The provision request id.", required=True),
            _status(False),
            _complex(
                "operationsCount",
                "How many operations there are, by state.",
                [
                    _attr(n, "integer", f"Operations {n}.", required=True)
                    for n in ("total", "success", "failed", "pending")
                ],
            ),
            _complex(
                "operations",
                "The operations, when requested with attributes=operations.",
                [
                    _attr("id", "string", "The operation id: 1, 2, ..."),
                    _attr("bulkId", "string", "The operation's bulkId."),
                    _status(False),
                    _complex(
                        "resource",
                        "The user the operation wrote.",
                        [_attr("id", "string", "The user id."), _attr("type", "string", "User.")],
                    ),
                    _complex(
                        "extensions",
                        "One result per extension URN.",
                        [
                            _attr("name", "string", "The extension URN.", required=True),
                            _status(True),
                            _messages(),
                        ],
                        multiValued=True,
                    ),
                ],
                multiValued=True,
                returned="request",
            ),
        ],
    },
)
