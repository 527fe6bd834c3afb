"""Web sign-ins that outlive a page: the browser's cookie holds a random token, the database its SHA-256.

A Reload or a pasted link starts a new Streamlit session; the cookie finds the person again, so nobody is
signed out in the middle of their work. Sign-out, a deactivated account or a changed password ends it."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select

from config.settings import get_settings
from core import clock
from core.context import Actor, Context
from core.models import SignIn, User


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_sign_in(ctx: Context, actor: Actor) -> str:
    """A new token for a person who has just proved who they are; only its hash is kept (the row is the record
    of the sign-in: who and when; the audit trail keeps changes to the books)."""
    token = secrets.token_urlsafe(32)
    now = ctx.now()
    ctx.session.add(SignIn(token_hash=_hash(token), user_id=actor.id, opened_at=now,
                           expires_at=now + timedelta(hours=get_settings().session_hours)))
    return token


def actor_for_token(ctx: Context, token: str | None) -> Actor | None:
    """The person a cookie's token signs in, or None when it is unknown, closed, expired or its account
    inactive (nothing says which: a guessed token learns nothing)."""
    if not token or len(token) > 200:
        return None
    found = ctx.session.exec(select(SignIn, User).join(User, User.id == SignIn.user_id)
                             .where(SignIn.token_hash == _hash(token))).first()
    if found is None:
        return None
    sign_in, user = found
    if sign_in.closed_at is not None or clock.utc(sign_in.expires_at) <= ctx.now() or not user.active:
        return None
    return Actor.of(user)


def close_sign_in(ctx: Context, token: str | None) -> None:
    """Sign-out: the token opens nothing any more, in this tab or any other."""
    if token:
        ctx.session.execute(update(SignIn).where(SignIn.token_hash == _hash(token), SignIn.closed_at.is_(None))
                            .values(closed_at=ctx.now()).execution_options(synchronize_session=False))


def close_all(ctx: Context, user_id: int) -> None:
    """Every open sign-in of one person (their password changed: a stolen session ends with it)."""
    ctx.session.execute(update(SignIn).where(SignIn.user_id == user_id, SignIn.closed_at.is_(None))
                        .values(closed_at=ctx.now()).execution_options(synchronize_session=False))
