"""Users of the system, customers (accounts) and their contacts."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlmodel import Field, SQLModel

from core.models.base import Versioned, utcnow


class User(Versioned, SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    login: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    email: str = Field(default="", max_length=254, index=True)
    roles: str = Field(default="", max_length=200)  # comma-separated Role values
    password_hash: str = Field(default="", max_length=200)
    active: bool = True
    failed_logins: int = 0
    failed_since: Optional[datetime] = None   # the first of the failures counted in failed_logins
    locked_until: Optional[datetime] = None
    created_at: datetime = Field(default_factory=utcnow)
    version: int = 1

    @property
    def role_set(self) -> frozenset[str]:
        return roles_in(self.roles)


def roles_in(text: str) -> frozenset[str]:
    """The roles a user row's comma-separated `roles` column holds."""
    return frozenset(r for r in text.split(",") if r)


class Team(Versioned, SQLModel, table=True):
    """A part of the organisation (a sales region, a delivery department): a manager and members. Data scope
    `team` (config/permissions.toml) reaches the records owned by the members of a person's teams."""
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    name_norm: str = Field(max_length=100, unique=True, index=True)
    manager_id: Optional[int] = Field(default=None, foreign_key="user.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    version: int = 1


class TeamMember(SQLModel, table=True):
    """A person in a team; a person may be in several."""
    __tablename__ = "team_member"
    team_id: int = Field(foreign_key="team.id", primary_key=True)
    user_id: int = Field(foreign_key="user.id", primary_key=True, index=True)


class Delegation(SQLModel, table=True):
    """A person away (`user_id`) names a delegate who decides their approval steps from `starts_on` to `ends_on`
    (both days included, on the company clock); a decision so taken names both (GateDecision.on_behalf_of_id)."""
    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    delegate_id: int = Field(foreign_key="user.id", index=True)
    starts_on: date
    ends_on: date
    reason: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    created_by_id: Optional[int] = Field(default=None, foreign_key="user.id")
    revoked_at: Optional[datetime] = None


class Account(Versioned, SQLModel, table=True):
    """A customer."""
    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    name_norm: str = Field(max_length=200, unique=True, index=True)
    region: str = Field(default="", max_length=64)
    industry: str = Field(default="", max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    version: int = 1


class Contact(Versioned, SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    name: str = Field(max_length=200)
    title: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=64)
    email: str = Field(default="", max_length=254)
    version: int = 1


class SignIn(SQLModel, table=True):
    """A person signed in to the web app: the browser keeps a random token in an HttpOnly cookie and this row
    keeps only its SHA-256, so a copy of the database opens nobody's session. Closed on sign-out."""
    __tablename__ = "sign_in"
    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    opened_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    closed_at: Optional[datetime] = None
