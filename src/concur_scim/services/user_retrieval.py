"""User Retrieval v4: one search over identity and downstream extension data.

Concur's User Retrieval API (reference/concur-v4.md §1, §3.1: ``POST /profile/v4/Users/.search``,
scope ``user.profile.search.read``) answers users with their identity and spend data in one
call, filtered on core, enterprise and Spend User attributes. Here a page of users is read
with its filter compiled over the ``users`` row and the user's Spend User row
(``store/users.py: list_users_across``), then the page's extension rows are read in one
query. The caller owns the transaction (a read).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection

from concur_scim.scim.registry import ResourceSchema, downstream_schemas, user_schema
from concur_scim.services import extensions as ext
from concur_scim.store import extensions as extension_store
from concur_scim.store import users as user_store
from concur_scim.store.paging import ListQuery
from concur_scim.store.records import Page

# The extensions a result carries besides identity, in this order: those the User of
# Concur's user-provisioning-v4.json carries (its spend, payroll and travel properties).
RESULT_URNS = (
    ext.SPEND_USER,
    ext.SPEND_ROLE,
    ext.SPEND_APPROVER,
    ext.SPEND_DELEGATE,
    ext.SPEND_USER_PREFERENCE,
    ext.SPEND_WORKFLOW_PREFERENCE,
    ext.PAYROLL,
    ext.TRAVEL_USER,
)
# The extensions a filter may name (the page's "Filterable Fields"): Spend User only.
FILTERED_URNS = (ext.SPEND_USER,)


@dataclass(frozen=True)
class RetrievalPage:
    """One page of users, and their :data:`RESULT_URNS` documents: user id → URN → doc."""

    page: Page
    extensions: dict[str, dict[str, dict[str, Any]]]


@cache
def retrieval_schema() -> ResourceSchema:
    """The User as User Retrieval shows it: the identity schemas and :data:`RESULT_URNS`.

    Filters (through the filter policy) and ``attributes`` resolve their paths against it.
    """
    user = user_schema()
    found = downstream_schemas()
    return ResourceSchema(
        name=user.name,
        endpoint=user.endpoint,
        core=user.core,
        extensions=(*user.extensions, *(found[urn] for urn in RESULT_URNS)),
        models=user.models,
    )


def search_users(conn: Connection, company_id: str, query: ListQuery) -> RetrievalPage:
    """A page of the live users of ``company_id`` matching ``query`` (its filter may name
    Spend User attributes), with their :data:`RESULT_URNS` documents (two queries, plus
    the count when the query wants it). Raises InvalidFilter for a path no schema has."""
    page = user_store.list_users_across(
        conn, company_id, query, resource=retrieval_schema(), extensions=FILTERED_URNS
    )
    docs = extension_store.get_extensions(
        conn, company_id, [r.id for r in page.records], RESULT_URNS
    )
    return RetrievalPage(page=page, extensions=docs)
