"""The downstream extension handlers of the provisioning worker: one object per URN.

Concur's User Provisioning Service hands each spend, payroll and travel extension to the
service that owns it and reports each one's result (reference/concur-v4.md §3.4). Each
handler here validates what that service checks (the §3.4 message table, §6.5-§6.14, §9
items 17-19) and stores the extension through ``services/extensions.py``, the same writer
the other APIs read from. Handlers are registered in :data:`HANDLERS` in the order the
worker runs them: Spend User first, because every other spend extension needs a saved Spend
User; Payroll and Travel do not depend on it.

A handler returns an :class:`Outcome` (``success``, ``no-op`` when nothing changed, or
``error`` with Concur's messages, in which case it wrote nothing); the worker turns a SCIM
error raised by validation into an ``error`` outcome the same way. Warnings (an ignored
attribute, an unchangeable ``testEmployee``) travel with a successful outcome.

The worker hands each handler an :class:`ExtensionRows` for the operation's user: the
user's extension rows read once (not at all for a user the operation just created), and
written together when the operation ends (one ``executemany``) instead of one statement per
extension. Handlers read the user's own rows through it (``ctx.stored``, ``ctx.roles_of``), so
a write deferred this way is seen by the handlers after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection

from concur_scim.scim.unknown import unknown_in_extension
from concur_scim.scim.violations import Findings
from concur_scim.services import extensions
from concur_scim.services.common import Clock
from concur_scim.store import extensions as extension_store
from concur_scim.store import roles as role_store
from concur_scim.store import users as user_store
from concur_scim.store.extensions import ExtensionRecord
from concur_scim.store.records import ResourceRecord

Result = Literal["success", "error", "no-op", "not-processed"]
Message = dict[str, str]

# §6.6: these roles follow the entitlements Expense, Request and Invoice, not Role.
ENTITLEMENT_ROLES = {"EXP_USER": "Expense", "REQ_USER": "Request", "INV_PMT_USER": "Invoice"}
# §6.7: the role an approver needs for each approval list (Appendix A1 codes). Concur names
# the report mapping; the others follow the product's approver role (inferred).
APPROVER_ROLES = {
    "report": "EXP_APPROVER",
    "cashAdvance": "EXP_APPROVER",
    "request": "REQ_APPROVER",
    "invoice": "INV_APPROVER",
    "purchaseRequest": "INV_PURCH_REQ_APPROVER",
    "statement": "STATEMENT_APPROVER",
    "budget": "SHD_BUDGET_APPROVER",
}
# §6.7: only these lists accept ``primary: false``.
# §6.8 (V, v4.1 spend doc): the role an approval limit's approvalType needs.
LIMIT_ROLES = {
    "report": "EXP_APPROVER",
    "request": "REQ_APPROVER",
    "purchaseRequest": "INV_PURCH_REQ_APPROVER",
    "payment": "INV_APPROVER",
}
# §6.9: a delegate who may approve needs the approver role of the product it delegates.
DELEGATE_APPROVER_ROLES = {
    "expense": "EXP_APPROVER",
    "payment": "INV_APPROVER",
    "purchaseRequest": "INV_PURCH_REQ_APPROVER",
}
# Display names of the reimbursement types, as Concur's own examples send them (§6.5).
REIMBURSEMENT_ALIASES = {
    "expense pay by concur": "CONCUR_PAY",
    "concur pay": "CONCUR_PAY",
    "accounts payable": "ACCOUNTS_PAYABLE",
    "adp payroll": "ADP_PAYROLL",
    "paypal": "PAY_PAL",
}


def message(code: str, text: str, path: str, kind: str = "error") -> Message:
    """One Concur status message (§3.4: ``{code, message, schemaPath, type}``)."""
    return {"code": code, "message": text, "schemaPath": path, "type": kind}


def unknown_warnings(paths: list[str]) -> list[Message]:
    """A warning per ignored attribute (RFC 7644 §3.3 lets the server ignore them)."""
    return [
        message("UNKNOWN_ATTRIBUTE", f"Unknown attribute ignored: '{p}'", p, "warning")
        for p in paths
    ]


@dataclass(frozen=True)
class Outcome:
    """What one handler did: its result and Concur's messages (warnings or errors)."""

    result: Result
    messages: list[Message] = field(default_factory=list)
    code: str | None = None  # the status code, when not the result's usual one


class ExtensionRows:
    """One user's downstream extension rows during one operation of the worker.

    Read at most once (one query for every URN; none when ``fresh``: a user the operation
    just created has no rows). With ``deferred`` the writes are kept until :meth:`flush`,
    which stores them with one ``executemany``; :meth:`get` sees them at once. Without it
    every write is stored at once (the worker's one-operation fallback, where each handler
    runs in a SAVEPOINT of its own). Deletes are always stored at once.
    """

    def __init__(
        self,
        conn: Connection,
        company_id: str,
        user_id: str,
        clock: Clock,
        *,
        fresh: bool,
        deferred: bool,
    ) -> None:
        self.conn = conn
        self.company_id = company_id
        self.user_id = user_id
        self.clock = clock
        self.deferred = deferred
        self._records: dict[str, ExtensionRecord | None] | None = {} if fresh else None
        self._pending: dict[str, dict[str, Any]] = {}

    def get(self, urn: str) -> ExtensionRecord | None:
        """The user's ``urn`` row as it stands, written or not yet flushed."""
        if self._records is None:
            found = extension_store.get_user_extensions(self.conn, self.company_id, self.user_id)
            self._records = dict(found)
        return self._records.get(urn)

    def put(self, urn: str, doc: dict[str, Any], previous: ExtensionRecord | None) -> bool:
        """Store ``doc`` as the ``urn`` row (``previous``: the row :meth:`get` gave); False
        when it equals the stored document (nothing is written: the handler's no-op)."""
        if previous is not None and previous.doc == doc:
            return False
        if self._records is None:
            self.get(urn)
        assert self._records is not None
        if not self.deferred:
            written = extensions.store_extension(
                self.conn, self.company_id, self.user_id, urn, doc, previous, self.clock
            )
            self._records[urn] = written.record
            return True
        now = self.clock()
        self._pending[urn] = doc
        self._records[urn] = ExtensionRecord(
            user_id=self.user_id,
            urn=urn,
            doc=doc,
            created=previous.created if previous is not None else now,
            last_modified=now,
            version=previous.version + 1 if previous is not None else 1,
        )
        return True

    def delete(self, urn: str) -> bool:
        """Remove the ``urn`` row now; False if the user had none."""
        if self._records is not None:
            self._records[urn] = None
        self._pending.pop(urn, None)
        return extensions.delete_user_extension(self.conn, self.company_id, self.user_id, urn)

    def flush(self) -> None:
        """Store the deferred writes (one statement for all of them)."""
        if self._pending:
            extension_store.put_extensions(
                self.conn, self.company_id, self.user_id, self._pending, self.clock()
            )
            self._pending = {}


@dataclass
class HandlerContext:
    """One operation's user, as the handlers see it, in the worker's open transaction.

    ``rows``: the user's extension rows (:class:`ExtensionRows`); without it every read and
    write goes to the database at once. ``record``: the user as the identity step of this
    operation wrote it, when it ran in the same transaction (saves reading it again).
    """

    conn: Connection
    company_id: str
    user_id: str
    clock: Clock
    # The stored document of the extension being applied (set by ExtensionHandler.apply).
    previous: dict[str, Any] | None = None
    rows: ExtensionRows | None = None
    record: ResourceRecord | None = None

    def row(self, user_id: str, urn: str) -> ExtensionRecord | None:
        """The ``urn`` row of ``user_id``: through :attr:`rows` for the operation's user."""
        if self.rows is not None and user_id == self.user_id:
            return self.rows.get(urn)
        return extension_store.get_extension(self.conn, self.company_id, user_id, urn)

    def own_user(self) -> ResourceRecord | None:
        """The operation's user (the identity step's record when there is one)."""
        if self.record is not None:
            return self.record
        return user_store.get_user(self.conn, self.company_id, self.user_id)

    def user(self, reference: Any) -> ResourceRecord | None:
        """The live user of the company a UserReference (§6.5) names, or None.

        By ``value`` (the user id) when given, else by ``employeeNumber``.
        """
        if not isinstance(reference, dict):
            return None
        value = reference.get("value")
        if isinstance(value, str) and value:
            return user_store.get_user(self.conn, self.company_id, value)
        number = reference.get("employeeNumber")
        if isinstance(number, str) and number:
            return user_store.find_by_employee_number(self.conn, self.company_id, number)
        return None

    def roles_of(self, user: ResourceRecord) -> set[str]:
        """The role codes ``user`` holds: its spend Role extension, its SCIM v4 role-group
        memberships, and the roles its entitlements imply (§6.6)."""
        held = set(role_store.roles_of(self.conn, self.company_id, user.id))
        stored = self.row(user.id, extensions.SPEND_ROLE)
        for role in (stored.doc if stored else {}).get("roles", []) or []:
            if isinstance(role, dict) and isinstance(role.get("roleName"), str):
                held.add(role["roleName"])
        granted = {
            str(e.get("value", "")).lower()
            for e in user.doc.get("entitlements", []) or []
            if isinstance(e, dict)
        }
        held |= {r for r, ent in ENTITLEMENT_ROLES.items() if ent.lower() in granted}
        return held

    def stored(self, urn: str) -> dict[str, Any] | None:
        """The user's stored ``urn`` document, or None."""
        found = self.row(self.user_id, urn)
        return found.doc if found else None


class ExtensionHandler:
    """Validate and store one downstream extension of one user (the default: schema rules).

    Subclasses add Concur's business rules in :meth:`prepare` (adjust the payload, add
    warnings) and :meth:`check` (errors on the normalised document, before anything is
    written).
    """

    urn: str
    needs_spend_user: bool = True

    def apply(self, ctx: HandlerContext, payload: Any) -> Outcome:
        """Store ``payload`` as the user's extension; ``None`` removes it.

        Raises a SCIM error for a payload the schema refuses (the worker reports it).
        """
        if payload is None:
            if ctx.rows is not None:
                removed = ctx.rows.delete(self.urn)
            else:
                removed = extensions.delete_user_extension(
                    ctx.conn, ctx.company_id, ctx.user_id, self.urn
                )
            return Outcome("success" if removed else "no-op")
        notes: list[Message] = []
        previous = ctx.row(ctx.user_id, self.urn)
        ctx.previous = previous.doc if previous else None
        if isinstance(payload, dict):
            schema = extensions.downstream_schema(self.urn)
            if schema is not None:
                notes += unknown_warnings(unknown_in_extension(payload, schema))
            payload = self.prepare(ctx, dict(payload), notes)
        findings = Findings()
        doc = extensions.normalize_extension(
            payload, self.urn, previous=ctx.previous, findings=findings
        )
        notes += findings.warning_messages()
        errors = list(self.check(ctx, doc))
        if errors:
            return Outcome("error", errors + notes)
        # The user exists: the identity step of this operation wrote or found it, and its
        # row is referenced by a foreign key should it be deleted meanwhile.
        if ctx.rows is not None:
            changed = ctx.rows.put(self.urn, doc, previous)
        else:
            changed = extensions.store_extension(
                ctx.conn, ctx.company_id, ctx.user_id, self.urn, doc, previous, ctx.clock
            ).changed
        return Outcome("success" if changed else "no-op", notes)

    def prepare(self, ctx: HandlerContext, payload: dict[str, Any], notes: list[Message]) -> Any:
        """The payload to validate; may add warnings to ``notes``. Default: unchanged."""
        return payload

    def check(self, ctx: HandlerContext, doc: dict[str, Any]) -> Iterator[Message]:
        """Concur's errors for the normalised ``doc``. Default: none."""
        return iter(())


class SpendUserHandler(ExtensionHandler):
    """Spend User (§6.5): the foundation of the other spend extensions.

    ``testEmployee`` is settable at creation only: a change is a warning and is not applied
    (§9.17, Concur's own wording). Reimbursement types are accepted by their display names
    too (Concur's Bulk example sends "Expense Pay by Concur").
    """

    urn = extensions.SPEND_USER
    needs_spend_user = False

    def prepare(self, ctx: HandlerContext, payload: dict[str, Any], notes: list[Message]) -> Any:
        for key, value in list(payload.items()):
            if key.lower() == "reimbursementtype" and isinstance(value, str):
                payload[key] = REIMBURSEMENT_ALIASES.get(value.strip().lower(), value)
        previous = ctx.previous
        for key in [k for k in payload if k.lower() == "testemployee"]:
            if previous is not None and payload[key] != previous.get("testEmployee"):
                path = f"{self.urn}:testEmployee"
                notes.append(message("INVALID_VALUE", f"Invalid Value: '{path}'", path, "warning"))
                del payload[key]
        return payload


class RoleHandler(ExtensionHandler):
    """Spend Role (§6.6): role codes of Appendix A1 (the schema checks them).

    ``EXP_USER``, ``REQ_USER`` and ``INV_PMT_USER`` follow the entitlements and cannot be set
    through Role: such a role is left out with a warning.
    """

    urn = extensions.SPEND_ROLE

    def prepare(self, ctx: HandlerContext, payload: dict[str, Any], notes: list[Message]) -> Any:
        roles = payload.get("roles")
        if not isinstance(roles, list):
            return payload
        kept = []
        for role in roles:
            name = role.get("roleName") if isinstance(role, dict) else None
            if isinstance(name, str) and name.upper() in ENTITLEMENT_ROLES:
                path = f'{self.urn}:roles[roleName eq "{name}"]'
                text = (
                    f"'{name}' follows the '{ENTITLEMENT_ROLES[name.upper()]}' entitlement "
                    "and is not set through Role"
                )
                notes.append(message("INVALID_VALUE", text, path, "warning"))
                continue
            kept.append(role)
        return {**payload, "roles": kept}


class ApproverHandler(ExtensionHandler):
    """Spend Approver (§6.7, §9.19): each approver is a user of the company holding the
    approver role of its list."""

    urn = extensions.SPEND_APPROVER

    def check(self, ctx: HandlerContext, doc: dict[str, Any]) -> Iterator[Message]:
        for key, role in APPROVER_ROLES.items():
            for index, entry in enumerate(doc.get(key) or []):
                if not isinstance(entry, dict):
                    continue
                path = f"{self.urn}:{key}[{index}].approver"
                # primary: false outside report and request is the schema's rule
                # (approver.primaryOnly in scim/rule_book.py), reported by validation.
                approver = ctx.user(entry.get("approver"))
                if approver is None:
                    yield message("INVALID_VALUE", "Invalid User ID", path)
                elif role not in ctx.roles_of(approver):
                    yield message("INVALID_VALUE", f"Invalid Permissions for '{path}'", path)


class ApproverLimitHandler(ExtensionHandler):
    """Spend Approver Limit (§6.8): the user needs the approver role of each approvalType."""

    urn = extensions.SPEND_APPROVER_LIMIT

    def check(self, ctx: HandlerContext, doc: dict[str, Any]) -> Iterator[Message]:
        user = ctx.own_user()
        held = ctx.roles_of(user) if user is not None else set()
        for key in ("authorizedApprover", "costObjectApprover"):
            for index, entry in enumerate(doc.get(key) or []):
                kind = entry.get("approvalType") if isinstance(entry, dict) else None
                role = LIMIT_ROLES.get(kind) if isinstance(kind, str) else None
                if role is not None and role not in held:
                    path = f"{self.urn}:{key}[{index}]"
                    yield message("INVALID_VALUE", f"Invalid Permissions for '{path}'", path)


class DelegateHandler(ExtensionHandler):
    """Spend Delegate (§6.9, §9.19): each delegate is an active user of the company; one
    who may approve holds the product's approver role."""

    urn = extensions.SPEND_DELEGATE

    def check(self, ctx: HandlerContext, doc: dict[str, Any]) -> Iterator[Message]:
        for key, role in DELEGATE_APPROVER_ROLES.items():
            for index, entry in enumerate(doc.get(key) or []):
                if not isinstance(entry, dict):
                    continue
                path = f"{self.urn}:{key}[{index}].delegate"
                delegate = ctx.user(entry.get("delegate"))
                if delegate is None:
                    yield message("INVALID_USER", "Employee does not exist", path)
                elif not delegate.doc.get("active", True):
                    yield message("INVALID_VALUE", f"Inactive delegate: '{path}'", path)
                elif entry.get("canApprove") and role not in ctx.roles_of(delegate):
                    yield message("INVALID_VALUE", f"Invalid Permissions for '{path}'", path)


class PayrollHandler(ExtensionHandler):
    """Payroll (§6.13): only for a Spend User reimbursed through ``ADP_PAYROLL``.

    Runs whether or not the request's Spend User succeeded, reading the stored Spend User.
    """

    urn = extensions.PAYROLL
    needs_spend_user = False

    def check(self, ctx: HandlerContext, doc: dict[str, Any]) -> Iterator[Message]:
        spend = ctx.stored(extensions.SPEND_USER) or {}
        if doc and spend.get("reimbursementType") != "ADP_PAYROLL":
            path = f"{self.urn}:adp"
            yield message(
                "INVALID_VALUE",
                "Payroll applies only to a Spend User whose reimbursementType is ADP_PAYROLL",
                path,
            )


class TravelHandler(ExtensionHandler):
    """Travel User (§6.14): independent of spend. A travel manager who is not a user of the
    company is left out with a warning (the rest of the travel profile still applies)."""

    urn = extensions.TRAVEL_USER
    needs_spend_user = False

    def prepare(self, ctx: HandlerContext, payload: dict[str, Any], notes: list[Message]) -> Any:
        for key in [k for k in payload if k.lower() == "manager"]:
            if ctx.user(payload[key]) is None:
                path = f"{self.urn}:manager.value"
                notes.append(message("INVALID_USER", "Employee does not exist", path, "warning"))
                del payload[key]
        return payload


class PreferenceHandler(ExtensionHandler):
    """A spend preference extension (§6.10-§6.12): schema rules only."""

    def __init__(self, urn: str) -> None:
        self.urn = urn


# The order the worker runs them in (§3.4 "Ordering and dependency rules").
HANDLERS: tuple[ExtensionHandler, ...] = (
    SpendUserHandler(),
    RoleHandler(),
    ApproverHandler(),
    ApproverLimitHandler(),
    DelegateHandler(),
    PreferenceHandler(extensions.SPEND_USER_PREFERENCE),
    PreferenceHandler(extensions.SPEND_WORKFLOW_PREFERENCE),
    PreferenceHandler(extensions.SPEND_INVOICE_PREFERENCE),
    PayrollHandler(),
    TravelHandler(),
)
BY_URN = {h.urn: h for h in HANDLERS}
