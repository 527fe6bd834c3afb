"""The role permission matrix (data in config/permissions.toml), deny by default."""
from __future__ import annotations

from config.settings import load

ROLES: tuple[str, ...] = tuple(load("permissions")["roles"])


def matrix() -> dict[str, frozenset[str]]:
    return {action: frozenset(roles) for action, roles in load("permissions")["actions"].items()}


def allowed(roles: frozenset[str] | set[str], action: str) -> bool:
    """True when any of the roles may perform the action; an unknown action is denied to all."""
    return bool(matrix().get(action, frozenset()) & set(roles))
