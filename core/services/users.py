"""Users, roles and sign-in. Passwords are hashed with Argon2id (slow on purpose)."""
from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, case, func, or_, update
from sqlmodel import select

from core import clock, permissions, validate
from core.context import Actor, Context
from core.errors import DuplicateError, NotFound, PermissionDenied, ValidationError
from core.messages import Text
from core.models import User
from core.services import action, signins

_hasher = PasswordHasher()
MAX_FAILED = 5
LOCK_MINUTES = 15
WINDOW_MINUTES = 15    # failures further apart than this start the count again
# Verified against when the login does not exist, so both paths take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
MIN_PASSWORD = 8


def check_roles(roles) -> str:
    if not isinstance(roles, (list, tuple, set, frozenset)):   # a bare 'admin' would be read letter by letter
        raise ValidationError("{field}: a list of roles is required (got {got!r})", field="roles", got=str(roles)[:40])
    roles = [str(r).strip() for r in roles if str(r).strip()]
    unknown = [r for r in roles if r not in permissions.ROLES]
    if unknown:
        raise ValidationError("{field}: unknown role(s) {unknown}; known: {known}", field="roles",
                              unknown=", ".join(unknown), known=", ".join(permissions.ROLES))
    if not roles:
        raise ValidationError("{field}: at least one role is required", field="roles")
    return ",".join(sorted(set(roles)))


LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]*")


def fold(login) -> str:
    """The login as it is stored and compared: NFKC (full-width 'ａｄｍｉｎ' is 'admin') and lower case ('Admin')."""
    return unicodedata.normalize("NFKC", str(login or "")).strip().lower()


def check_login(login) -> str:
    """A new login: folded, and only Latin letters a-z, digits, '.', '_' and '-', so no login can look like
    another one in the audit trail (a Cyrillic 'а' in 'аdmin', a Greek 'ο')."""
    raw = validate.text("login", login, max_len=64, required=True)
    folded = fold(raw)
    if not LOGIN.fullmatch(folded):
        odd = next((ch for ch in folded if not (ch.isascii() and (ch.isalnum() or ch in "._-"))), "")
        what = (Text(" ('{char}' is {name})", char=odd, name=unicodedata.name(odd, f"U+{ord(odd):04X}"))
                if odd else Text(" (it must start with a letter or digit)"))
        raise ValidationError("{field}: only Latin letters a-z, digits, '.', '_' and '-' are allowed{what}",
                              field="login", what=what)
    return folded


def by_login(ctx: Context, login: str) -> User | None:
    """The user a typed login means. Logins are stored folded; one created before folding (say 'Admin') is
    still found, unless two such fold alike, when neither is: never guess which person this is."""
    folded = fold(login)
    found = ctx.session.exec(select(User).where(or_(User.login == folded, func.lower(User.login) == folded))
                             .limit(2)).all()
    exact = [u for u in found if u.login == folded]
    return exact[0] if exact else (found[0] if len(found) == 1 else None)


def active_user(ctx: Context, field: str, login) -> User:
    """The active person a typed login names (a team's manager, a delegate), or NotFound naming the field."""
    user = by_login(ctx, validate.text(field, login, max_len=64, required=True))
    if user is None or not user.active:
        raise NotFound("{field}: no active user '{login}'", field=field, login=login)
    return user


def _address(raw) -> str:
    """A person's e-mail, NFKC-folded before it is checked: a full-width 'ａｒ@example.com' is 'ar@example.com'."""
    return validate.email("email", unicodedata.normalize("NFKC", raw) if isinstance(raw, str) else raw)


def _unique_email(ctx: Context, email: str, user_id: int | None = None) -> str:
    """OpenID sign-in finds a person by e-mail (any case), so two people must not share one."""
    if email:
        other = ctx.session.exec(select(User.login).where(func.lower(User.email) == email.lower(),
                                                          User.id != (user_id or 0))).first()
        if other:
            raise DuplicateError("{field}: '{email}' is already the address of user '{other}'", field="email",
                                 email=email, other=other)
    return email


@action("user.manage")
def create_user(ctx: Context, login: str, *, name: str = "", email: str = "", roles=(),
                password: str | None = None) -> int:
    login = check_login(login)
    if by_login(ctx, login):
        raise DuplicateError("{field}: '{login}' is already taken", field="login", login=login)
    email = _unique_email(ctx, _address(email))
    user = User(login=login, name=validate.text("name", name) or login, email=email, roles=check_roles(roles))
    if password is not None:
        user.password_hash = hash_password(password)
    ctx.audit("user.create", user)
    return user.id


@action("user.manage")
def update_user(ctx: Context, user_id: int, *, version: int | None = None, name: str | None = None,
                email: str | None = None, roles=None, active: bool | None = None,
                password: str | None = None) -> None:
    user = ctx.get(User, user_id, version=version)
    from core.context import snapshot
    before = snapshot(user)
    if name is not None:
        user.name = validate.text("name", name, required=True)
    if email is not None:
        user.email = _unique_email(ctx, _address(email), user.id)
    if roles is not None:
        user.roles = check_roles(roles)
    if active is not None:
        if not isinstance(active, bool):
            raise ValidationError("{field}: must be true or false (got {got!r})", field="active", got=str(active)[:40])
        user.active = active
    if password is not None:
        user.password_hash = hash_password(password)
        user.failed_logins, user.failed_since, user.locked_until = 0, None, None
        signins.close_all(ctx, user.id)   # a session someone took over ends with the old password
    ctx.audit("user.update", user, before=before)
    ctx.session.info.get("current_roles", {}).pop(user.id, None)   # this session sees the new roles at once


def hash_password(password: str) -> str:
    if not isinstance(password, str):
        raise ValidationError("{field}: must be text, not {got}", field="password", got=type(password).__name__)
    if len(password) < MIN_PASSWORD:
        raise ValidationError("{field}: at least {min} characters", field="password", min=MIN_PASSWORD)
    return _hasher.hash(password)


def authenticate(ctx: Context, login: str, password: str) -> Actor:
    """Sign in. Wrong login and wrong password give the same message; 5 failures within 15 min lock for 15 min."""
    wrong = PermissionDenied("sign-in: login or password is wrong, or the account is locked")
    user = by_login(ctx, (login or "").strip())
    if user is None or not user.active or not user.password_hash:
        _verify(_DUMMY_HASH, password)
        raise wrong
    now = ctx.now()
    if user.locked_until and clock.utc(user.locked_until) > now:
        _verify(_DUMMY_HASH, password)
        raise wrong
    if not _verify(user.password_hash, password):
        _count_failure(ctx, user.id, now)
        raise wrong
    if user.failed_logins or user.locked_until:
        _set_counters(ctx, user.id, failed_logins=0, failed_since=None, locked_until=None)
    return Actor.of(user)


def _set_counters(ctx: Context, user_id: int, *where, **values) -> bool:
    """Sign-in counters are written in SQL, not through the ORM: the row's version stays (an administrator's
    edit of the user is not refused as stale because someone mistyped a password meanwhile)."""
    result = ctx.session.execute(update(User).where(User.id == user_id, *where).values(**values)
                                 .execution_options(synchronize_session=False))
    return cast(CursorResult, result).rowcount == 1   # an UPDATE's result has the rowcount


def _count_failure(ctx: Context, user_id: int, now) -> None:
    """One more failure, added by the database itself, so parallel guesses each count (none is lost and none
    fails with a different message). Failures count within a window: the fifth within WINDOW_MINUTES of the
    first locks the account; a mistyped password now and then over the months never does."""
    stale = or_(User.failed_since.is_(None), User.failed_since < now - timedelta(minutes=WINDOW_MINUTES))
    _set_counters(ctx, user_id, failed_logins=case((stale, 1), else_=User.failed_logins + 1),
                  failed_since=case((stale, now), else_=User.failed_since))
    until = now + timedelta(minutes=LOCK_MINUTES)
    if _set_counters(ctx, user_id, User.failed_logins >= MAX_FAILED, failed_logins=0, failed_since=None,
                     locked_until=until):
        ctx.audit("user.locked", entity="user", entity_id=user_id, after={"locked_until": until})
    ctx.session.commit()   # the failure counts even though sign-in is refused


def actor_for_email(ctx: Context, email: str, allowed_domain: str | None = None, *,
                    verified: bool | None = None) -> Actor:
    """OpenID sign-in: map the e-mail the provider verified to a user and roles. With `allowed_domain`, only
    addresses of exactly that domain (not its subdomains, not look-alikes) may sign in."""
    email = (email or "").strip().lower()
    local, at, domain = email.rpartition("@")
    if verified is False or not local or not at or "@" in local or not domain:
        raise PermissionDenied("sign-in: the identity provider gave no verified e-mail address")
    wanted = (allowed_domain or "").strip().lower().lstrip("@")
    if wanted and domain != wanted:
        raise PermissionDenied("sign-in: only e-mail addresses of {domain} may sign in", domain=wanted)
    found = ctx.session.exec(select(User).where(func.lower(User.email) == email,
                                                User.active == True).limit(2)).all()  # noqa: E712
    if len(found) != 1:   # none, or two accounts sharing it: never guess which person this is
        raise PermissionDenied("sign-in: no single active user has the e-mail {email}; ask an administrator",
                               email=email)
    return Actor.of(found[0])


def actor(ctx: Context, login: str) -> Actor:
    user = by_login(ctx, login)
    if user is None:
        raise NotFound("user '{login}' not found", login=login)
    return Actor.of(user)


def _verify(hash_: str, password: str) -> bool:
    try:
        return _hasher.verify(hash_, password or "")
    except (VerificationError, InvalidHashError):
        return False

