"""Which stored user a ``UserProfile`` updates, from its two keys (reference §4.1).

``legacy`` (default) is the pre-2016 rule the Ping connector was written against: a record
matching either key updates that user and overwrites the other key; matching neither creates
a user (so changing both keys at once creates a new user, Ping's known issue). ``strict`` is
the September 2016 rule: both keys must name the same user, renames only via
``NewLoginID`` / ``NewEmployeeID``. Pure.
"""

from __future__ import annotations

from typing import Literal

from concur_scim.scim.user_v1.checks import invalid

KeyMode = Literal["legacy", "strict"]


def resolve_target(by_emp_id: str | None, by_login_id: str | None, mode: KeyMode) -> str | None:
    """The id of the user to update, or None to create; RecordError when the keys conflict.

    ``by_emp_id`` is the company's user with the record's EmpId, ``by_login_id`` the user with
    its LoginId (already known to be in the caller's company).
    """
    if by_emp_id is not None and by_login_id is not None:
        if by_emp_id != by_login_id:
            raise invalid("LoginId")  # both keys taken, by different users
        return by_emp_id
    if by_emp_id is None and by_login_id is None:
        return None
    if mode == "strict":
        # The key that found nobody is the one the client tried to change.
        raise invalid("LoginId" if by_login_id is None else "EmpId")
    return by_emp_id if by_emp_id is not None else by_login_id
