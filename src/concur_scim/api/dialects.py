"""Dialects as data: how one API surface serves the shared store (DESIGN "The one idea").

A :class:`Dialect` says where an API is mounted and how it behaves (status codes, paging,
which resource types it serves). Routers are built from a dialect by
:func:`concur_scim.api.resources.resource_router`; adding a dialect adds a profile here, not
a copy of the handlers. The generic SCIM 2.0 dialect is the first profile.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    """One API surface over the shared store."""

    name: str
    prefix: str
    create_status: int = 201
    index_paging: bool = True
    cursor_paging: bool = True
    group_patch_no_content: bool = True
    resource_types: tuple[str, ...] = ("User", "Group")
    documentation_url: str = "https://datatracker.ietf.org/doc/html/rfc7644"


GENERIC_SCIM = Dialect(name="scim2", prefix="/scim/v2")

DIALECTS: tuple[Dialect, ...] = (GENERIC_SCIM,)
