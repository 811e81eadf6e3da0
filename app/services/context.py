"""Who is acting: the caller's identity, role and scope, passed to every service call."""

from dataclasses import dataclass, field

ROLES = ("admin", "hr_officer", "auditor", "integration")


@dataclass(frozen=True)
class Actor:
    """The authenticated caller; `org_units` empty means the whole tree (admin only)."""

    name: str
    role: str
    org_units: tuple[str, ...] = ()
    request_id: str | None = None
    source: str = "api"
    token_id: int | None = None
    cache: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    @property
    def whole_tree(self) -> bool:
        return self.role == "admin" and not self.org_units

    @property
    def sees_sensitive(self) -> bool:
        """Ethnicity, party membership and national id go to roles that manage persons."""
        return self.role in ("admin", "hr_officer", "integration")


SYSTEM = Actor(name="system", role="admin", source="cli")
