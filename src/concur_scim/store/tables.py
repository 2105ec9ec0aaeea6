"""The schema of the store (SQLAlchemy Core tables); Alembic migrations mirror it exactly.

Design notes (docs/architecture.md, "Data"):

- Every table carries ``company_id``; every repository query filters on it.
- Public ids are UUID strings; ``seq`` is an internal, monotonically increasing surrogate key
  that gives a stable creation order for index paging and an O(page) keyset for cursors.
- Attributes that IdPs filter on at every sync are real, indexed columns (``user_name_key``,
  ``external_id``, ``employee_number``, ``display_name_key``); the whole SCIM document is kept
  as JSON (JSONB on PostgreSQL) for everything else.
- ``user_name_key`` is the case-folded userName with a global unique constraint: userName is
  unique across all companies (reference/concur-v4.md §6.1) and case-insensitive (RFC 7643
  §4.1.1), and the constraint is what stops two concurrent creates from both winning.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
Seq = BigInteger().with_variant(Integer(), "sqlite")
Document = JSON().with_variant(JSONB(), "postgresql")
Timestamp = DateTime(timezone=True)

companies = Table(
    "companies",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(255), nullable=False),
    Column("is_default", Boolean, nullable=False, default=False),
    Column("created", Timestamp, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("company_id", String(36), ForeignKey("companies.id"), nullable=False),
    Column("user_name", String(512), nullable=False),
    Column("user_name_key", String(512), nullable=False, unique=True),
    Column("external_id", String(512)),
    Column("employee_number", String(512)),
    Column("display_name", String(512)),
    Column("active", Boolean, nullable=False, default=True),
    Column("created", Timestamp, nullable=False),
    Column("last_modified", Timestamp, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("deleted_at", Timestamp),
    Column("doc", Document, nullable=False),
    UniqueConstraint("company_id", "external_id"),
    UniqueConstraint("company_id", "employee_number"),
    # Live users of a company in creation order: counts and pages read only this index.
    Index(None, "company_id", "deleted_at", "seq"),
)

# The number of live users of each company, kept in stripes: a write adds to the stripe of
# its thread (store/user_counts.py), so concurrent writers of one company on PostgreSQL
# seldom wait for one row, and an unfiltered list reads its total from a few rows instead of
# counting every user (a count that grows with the company: bench/README.md, "Scale").
user_counts = Table(
    "user_counts",
    metadata,
    Column("company_id", String(36), ForeignKey("companies.id"), primary_key=True),
    Column("stripe", Integer, primary_key=True),
    Column("live", BigInteger, nullable=False),
)

groups = Table(
    "groups",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("company_id", String(36), ForeignKey("companies.id"), nullable=False),
    Column("display_name", String(512), nullable=False),
    Column("display_name_key", String(512), nullable=False),
    Column("external_id", String(512)),
    Column("created", Timestamp, nullable=False),
    Column("last_modified", Timestamp, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Column("doc", Document, nullable=False),
    UniqueConstraint("company_id", "display_name_key"),
    UniqueConstraint("company_id", "external_id"),
    Index(None, "company_id", "seq"),
)

# One row per (group, member): adding or removing one member is one indexed row write,
# whatever the group's size. member_id is a user id or a group id (RFC 7643 §4.2 allows
# nested groups); member_type says which.
group_members = Table(
    "group_members",
    metadata,
    Column("group_id", String(36), ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("member_id", String(36), primary_key=True),
    Column("company_id", String(36), ForeignKey("companies.id"), nullable=False),
    Column("member_type", String(8), nullable=False),
    Column("added", Timestamp, nullable=False),
    Index(None, "member_id"),
)

# One row per (user, downstream extension URN): the spend, payroll and travel data that
# Concur keeps in services apart from identity (DESIGN "Data"). ``doc`` is the extension's
# own object (its attributes, not nested under the URN). Deleting the user deletes its rows
# (ON DELETE CASCADE; SQLite enforces it because store/db.py sets PRAGMA foreign_keys=ON).
user_extensions = Table(
    "user_extensions",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("urn", String(255), primary_key=True),
    Column("company_id", String(36), ForeignKey("companies.id"), nullable=False),
    Column("doc", Document, nullable=False),
    Column("created", Timestamp, nullable=False),
    Column("last_modified", Timestamp, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    # A company's rows of one extension: "every user with spend data", without a users scan.
    Index(None, "company_id", "urn", "user_id"),
)

# SCIM v4 Groups are Concur's fixed role catalogue (scim/role_catalogue.py): the groups
# themselves are data, not rows; only who holds which role is stored. One row per (company,
# role code, user): adding or removing one member is one indexed row write, whatever the
# role's size. Hard-deleting a user deletes its rows (ON DELETE CASCADE); a soft-deleted
# user's rows stay and are hidden on read (users.deleted_at IS NULL).
role_members = Table(
    "role_members",
    metadata,
    Column("company_id", String(36), ForeignKey("companies.id"), primary_key=True),
    Column("role", String(64), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("added", Timestamp, nullable=False),
    Index(None, "user_id"),
    # Member pages in the order members were added (new members append at the end).
    Index(None, "company_id", "role", "added", "user_id"),
)

# When each role's membership of a company last changed (the group's meta.lastModified); a
# role never changed has no row and reads the company's creation time.
role_groups = Table(
    "role_groups",
    metadata,
    Column("company_id", String(36), ForeignKey("companies.id"), primary_key=True),
    Column("role", String(64), primary_key=True),
    Column("last_modified", Timestamp, nullable=False),
)

# -- User Provisioning v4 (reference/concur-v4.md §3, DESIGN "The path of one provisioning
# request"): a request, its operations, one result row per (operation, extension URN). The
# request and its operations are written in one transaction before the 202; a worker holds a
# request under a lease (lease_owner, lease_expires) while it works on it; a result row is
# written in the same transaction as the change it reports, so a crash loses nothing done
# and nothing is done twice.
provisions = Table(
    "provisions",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("company_id", String(36), ForeignKey("companies.id"), nullable=False),
    Column("provision_type", String(8), nullable=False),  # "Bulk" or "User"
    Column("correlation_id", String(255), nullable=False),
    Column("fail_on_errors", Integer),
    Column("state", String(16), nullable=False),  # "pending" or "completed"
    Column("success", Boolean),
    Column("created", Timestamp, nullable=False),
    Column("last_modified", Timestamp, nullable=False),
    Column("completed", Timestamp),
    Column("lease_owner", String(64)),
    Column("lease_expires", Timestamp),
    # What a worker claims: pending requests, oldest first.
    Index(None, "state", "seq"),
    # What housekeeping purges: completed requests by age.
    Index(None, "state", "completed"),
)

provision_operations = Table(
    "provision_operations",
    metadata,
    Column(
        "provision_id",
        String(36),
        ForeignKey("provisions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True),  # the operation id: 1, 2, ...
    Column("company_id", String(36), ForeignKey("companies.id"), nullable=False),
    Column("bulk_id", String(255), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", String(512), nullable=False),
    Column("data", Document),
    # The lint report of the operation (scim/lint.py), when the request asked for it.
    Column("lint", Document),
    # Set by the identity step: the user the operation wrote, and the downstream extension
    # documents still to apply ({urn: payload}).
    Column("resource_id", String(36)),
    Column("resolved", Document),
    Column("done", Boolean, nullable=False, default=False),
    Column("success", Boolean),
    Column("code", String(3)),
    Column("completed", Timestamp),
    # Status pages filtered by state read only this index.
    Index(None, "provision_id", "done", "success", "position"),
)

provision_results = Table(
    "provision_results",
    metadata,
    Column("provision_id", String(36), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("urn", String(255), primary_key=True),
    Column("result", String(16), nullable=False),  # success, error, no-op, not-processed
    Column("code", String(3)),
    Column("messages", Document),
    Column("written", Timestamp, nullable=False),
    ForeignKeyConstraint(
        ["provision_id", "position"],
        ["provision_operations.provision_id", "provision_operations.position"],
        ondelete="CASCADE",
    ),
)

# -- Credentials (reference/concur-v4.md §7): every secret is stored as its SHA-256 digest
# (secrets are 32 random bytes, so a fast digest cannot be brute-forced; the plaintext is
# shown once, when minted). ``scopes`` is a JSON list; NULL means every scope.
oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("company_id", String(36), ForeignKey("companies.id"), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("name", String(255)),
    Column("scopes", JSON),
    Column("grants", JSON, nullable=False),
    Column("created", Timestamp, nullable=False),
    Column("revoked", Timestamp),
    Index(None, "company_id"),
)

static_tokens = Table(
    "static_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("company_id", String(36), ForeignKey("companies.id"), nullable=False),
    Column("name", String(255)),
    Column("scopes", JSON),
    Column("created", Timestamp, nullable=False),
    Column("expires", Timestamp),
    Column("revoked", Timestamp),
    Index(None, "company_id"),
)

# The 24-hour company request token of the password grant (``credtype=authtoken``).
company_request_tokens = Table(
    "company_request_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("company_id", String(36), ForeignKey("companies.id"), nullable=False),
    Column("created", Timestamp, nullable=False),
    Column("expires", Timestamp, nullable=False),
    Index(None, "company_id"),
)

# Refresh tokens rotate: each use marks the row used and issues a new one.
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("company_id", String(36), ForeignKey("companies.id"), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("client_id", String(64)),
    Column("scopes", JSON),
    Column("created", Timestamp, nullable=False),
    Column("expires", Timestamp, nullable=False),
    Column("used", Timestamp),
    Index(None, "company_id"),
)

# RS256 signing keys; the newest unretired one signs, every unexpired one verifies.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("private_pem", String(4096), nullable=False),
    Column("public_jwk", JSON, nullable=False),
    Column("created", Timestamp, nullable=False),
    Column("retired", Timestamp),
)

# The audit trail: the last N requests per company (older rows are pruned on write).
request_log = Table(
    "request_log",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("company_id", String(36), ForeignKey("companies.id"), nullable=False),
    Column("at", Timestamp, nullable=False),
    Column("correlation_id", String(128), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", String(2048), nullable=False),
    Column("resource_type", String(64)),
    Column("resource_id", String(255)),
    Column("status", Integer, nullable=False),
    Column("detail", JSON),
    # The request journal (migration 0007, README "Admin API"): the dialect that served the
    # path, the redacted response body, the SCIM error of an error answer, and the fault rule
    # that made or delayed the answer (None: a genuine answer).
    Column("dialect", String(32)),
    Column("response", JSON),
    Column("error", JSON),
    Column("fault_rule", String(36)),
    Index(None, "company_id", "seq"),
)

# Fault rules of the admin API (services/faults.py): read by every API process (cached a
# moment) and by every provisioning worker, so a rule added anywhere applies everywhere.
# NULL company, dialect, method or path matches any; ``remaining`` counts down the answers a
# ``count`` rule still makes (0: spent); ``action`` is the rule's one action as JSON.
fault_rules = Table(
    "fault_rules",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("company_id", String(36), ForeignKey("companies.id")),
    Column("dialect", String(32)),
    Column("method", String(8)),
    Column("path", String(512)),
    Column("remaining", Integer),
    Column("probability", Float),
    Column("seed", Integer),
    Column("action", JSON, nullable=False),
    Column("created", Timestamp, nullable=False),
)

# Switches the admin API sets for every process (``worker_paused``); one row per name.
admin_flags = Table(
    "admin_flags",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated", Timestamp, nullable=False),
)

# provisionCompleted webhooks (services/webhooks.py, README "Webhooks"): one per company. The
# secret is kept as given, not as a digest: every delivery is signed with it (HMAC-SHA256),
# so it must be readable (docs/security.md "Webhooks").
webhooks = Table(
    "webhooks",
    metadata,
    Column("company_id", String(36), ForeignKey("companies.id"), primary_key=True),
    Column("url", String(2048), nullable=False),
    Column("secret", String(255), nullable=False),
    Column("created", Timestamp, nullable=False),
    Column("updated", Timestamp, nullable=False),
)

# The outbox of webhook deliveries: a row is written in the transaction that completes its
# provisioning request, and claimed under a lease by a delivery loop (``lease_owner`` /
# ``lease_expires``, as provisions are). ``state``: pending, delivered or failed;
# ``next_attempt`` is when a pending delivery is due (the backoff). No foreign key to
# ``provisions``: a delivery outlives its status's retention.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("company_id", String(36), ForeignKey("companies.id"), nullable=False),
    Column("provision_id", String(36), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt", Timestamp, nullable=False),
    Column("lease_owner", String(128)),
    Column("lease_expires", Timestamp),
    Column("last_status", Integer),
    Column("last_error", String(1024)),
    Column("created", Timestamp, nullable=False),
    Column("completed", Timestamp),
    Index(None, "state", "next_attempt"),
    Index(None, "company_id", "seq"),
)
