"""Names of people, as the pages show them."""
from __future__ import annotations

from sqlmodel import select

from core.context import Context
from core.models import User


def display_names(ctx: Context, ids) -> dict[int, str]:
    """Display names of the users with these ids (one query); the login when a user has no name."""
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    rows = ctx.session.exec(select(User.id, User.name, User.login).where(User.id.in_(ids))).all()
    return {uid: name or login for uid, name, login in rows}
