"""Organisation roles and what each may do.

Built-in org roles as in Infisical: ``admin`` manages identities and their
auth methods, ``member`` may read them, ``no-access`` may do neither (but can
still log in and use the project memberships it is given).
"""

from __future__ import annotations

from enum import Enum

from strongroom.errors import BadRequest, PermissionDenied


class OrgRole(str, Enum):
    ADMIN = "admin"
    MEMBER = "member"
    NO_ACCESS = "no-access"

    @property
    def rank(self) -> int:
        return {OrgRole.NO_ACCESS: 0, OrgRole.MEMBER: 1, OrgRole.ADMIN: 2}[self]

    @classmethod
    def parse(cls, text: str) -> "OrgRole":
        try:
            return cls(text.strip())
        except ValueError:
            raise BadRequest(f"Unknown organization role '{text}'; use one of admin, member, no-access") from None


def require_org_role(actual: str, needed: OrgRole, action: str, subject: str = "identity") -> None:
    if OrgRole.parse(actual).rank < needed.rank:
        raise PermissionDenied(f"You are not allowed to {action} on {subject}")


def require_can_grant(actor_role: str, granted: OrgRole) -> None:
    """No actor may hand out a role above its own (Infisical's permission boundary)."""
    if granted.rank > OrgRole.parse(actor_role).rank:
        raise PermissionDenied(
            "Failed to create a more privileged identity", error="PermissionBoundaryError"
        )
