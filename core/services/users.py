"""Users, roles and sign-in. Passwords are hashed with Argon2id (slow on purpose)."""
from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import select

from core import permissions, validate
from core.context import Actor, Context
from core.errors import DuplicateError, NotFound, PermissionDenied, ValidationError
from core.models import User
from core.services import action

_hasher = PasswordHasher()
MAX_FAILED = 5
LOCK_MINUTES = 15
# Verified against when the login does not exist, so both paths take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
MIN_PASSWORD = 8


def check_roles(roles) -> str:
    roles = [str(r).strip() for r in roles if str(r).strip()]
    unknown = [r for r in roles if r not in permissions.ROLES]
    if unknown:
        raise ValidationError(f"roles: unknown role(s) {', '.join(unknown)}; known: {', '.join(permissions.ROLES)}",
                              field="roles")
    if not roles:
        raise ValidationError("roles: at least one role is required", field="roles")
    return ",".join(sorted(set(roles)))


def by_login(ctx: Context, login: str) -> User | None:
    return ctx.session.exec(select(User).where(User.login == login)).first()


@action("user.manage")
def create_user(ctx: Context, login: str, *, name: str = "", email: str = "", roles=(),
                password: str | None = None) -> int:
    login = validate.text("login", login, max_len=64, required=True)
    if not login.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise ValidationError("login: only letters, digits, '.', '_' and '-' are allowed", field="login")
    if by_login(ctx, login):
        raise DuplicateError(f"login: '{login}' is already taken", field="login")
    user = User(login=login, name=validate.text("name", name or login), email=validate.email("email", email),
                roles=check_roles(roles))
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
        user.email = validate.email("email", email)
    if roles is not None:
        user.roles = check_roles(roles)
    if active is not None:
        user.active = active
    if password is not None:
        user.password_hash = hash_password(password)
        user.failed_logins, user.locked_until = 0, None
    ctx.audit("user.update", user, before=before)


def hash_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(f"password: at least {MIN_PASSWORD} characters", field="password")
    return _hasher.hash(password)


def authenticate(ctx: Context, login: str, password: str) -> Actor:
    """Sign in. Wrong login and wrong password give the same message; 5 failures lock for 15 min."""
    wrong = PermissionDenied("sign-in: login or password is wrong, or the account is locked")
    user = by_login(ctx, (login or "").strip())
    if user is None or not user.active or not user.password_hash:
        _verify(_DUMMY_HASH, password)
        raise wrong
    now = ctx.now()
    if user.locked_until and _aware(user.locked_until) > now:
        _verify(_DUMMY_HASH, password)
        raise wrong
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED:
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
            ctx.audit("user.locked", entity="user", entity_id=user.id, after={"locked_until": user.locked_until})
        ctx.session.add(user)
        ctx.session.commit()   # the failure counts even though sign-in is refused
        raise wrong
    user.failed_logins, user.locked_until = 0, None
    ctx.session.add(user)
    return Actor.of(user)


def actor_for_email(ctx: Context, email: str, allowed_domain: str | None = None) -> Actor:
    """OpenID sign-in: map the verified e-mail to a user and roles."""
    email = (email or "").strip().lower()
    if allowed_domain and not email.endswith("@" + allowed_domain.lower().lstrip("@")):
        raise PermissionDenied(f"sign-in: only e-mail addresses of {allowed_domain} may sign in")
    user = ctx.session.exec(select(User).where(User.email == email, User.active == True)).first()  # noqa: E712
    if user is None:
        raise PermissionDenied(f"sign-in: no active user has the e-mail {email}; ask an administrator")
    return Actor.of(user)


def actor(ctx: Context, login: str) -> Actor:
    user = by_login(ctx, login)
    if user is None:
        raise NotFound(f"user '{login}' not found")
    return Actor.of(user)


def _verify(hash_: str, password: str) -> bool:
    try:
        return _hasher.verify(hash_, password or "")
    except (VerificationError, InvalidHashError):
        return False


def _aware(dt):
    from datetime import timezone
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
