"""Delegation (审批代理): a person away names who takes their approval steps for a range of days. Anyone names
their own delegate; an administrator names one for someone else. Audited; a delegated decision names both."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import or_, select

from core import validate
from core.context import Context
from core.errors import NotFound, ValidationError
from core.models import Delegation, User
from core.services import action, users

MAX_DAYS = 366


@action("work.view")
def name_delegate(ctx: Context, delegate_login, *, starts_on, ends_on, reason: str = "", for_login=None) -> int:
    """`delegate_login` takes the person's approval steps from `starts_on` to `ends_on` (both included). The
    person is the one acting, or `for_login` when an administrator names it for them."""
    with validate.Collect() as check:
        starts_on = check(validate.day, "starts_on", starts_on)
        ends_on = check(validate.day, "ends_on", ends_on)
        reason = check(validate.text, "reason", reason, max_len=500)
    if for_login not in (None, ""):
        ctx.require("user.manage")
        person = users.active_user(ctx, "for_login", for_login)
    else:
        person = ctx.get(User, ctx.actor.id, what="user")
    delegate = users.active_user(ctx, "delegate", delegate_login)
    if delegate.id == person.id:
        raise ValidationError("{field}: '{login}' cannot be their own delegate", field="delegate",
                              login=delegate.login)
    if ends_on < starts_on:
        raise ValidationError("{field}: {ends} is before the first day {starts}", field="ends_on",
                              ends=ends_on.isoformat(), starts=starts_on.isoformat())
    if ends_on < ctx.today():
        raise ValidationError("{field}: {ends} is already past", field="ends_on", ends=ends_on.isoformat())
    if ends_on - starts_on > timedelta(days=MAX_DAYS):
        raise ValidationError("{field}: a delegation lasts at most {days} days", field="ends_on", days=MAX_DAYS)
    row = Delegation(user_id=person.id, delegate_id=delegate.id, starts_on=starts_on, ends_on=ends_on,
                     reason=reason, created_by_id=ctx.actor.id, created_at=ctx.now())
    ctx.audit("delegation.create", row, after={"person": person.login, "delegate": delegate.login,
                                               "starts_on": starts_on, "ends_on": ends_on, "reason": reason})
    ctx.session.info.pop("delegators", None)
    return row.id


@action("work.view")
def revoke_delegation(ctx: Context, delegation_id: int) -> None:
    """End a delegation now (the person back early); its decisions stay as taken."""
    row = ctx.get(Delegation, delegation_id, what="delegation")
    if ctx.actor.id not in (row.user_id,) and not ctx.may("user.manage"):
        raise NotFound("delegation {id} not found", id=delegation_id)   # someone else's: not theirs to see
    if row.revoked_at is None:
        row.revoked_at = ctx.now()
        ctx.audit("delegation.revoke", row)
        ctx.session.info.pop("delegators", None)


@action("work.view")
def delegate_candidates(ctx: Context) -> dict[str, str]:
    """Who may be named a delegate: every other active person, login -> name."""
    rows = ctx.session.exec(select(User.login, User.name).where(User.active == True,  # noqa: E712
                                                                User.id != (ctx.actor.id or 0))
                            .order_by(User.login)).all()
    return {login: name or login for login, name in rows}


@action("work.view")
def delegations(ctx: Context) -> list[dict]:
    """The delegations the person gave or holds that have not ended (an administrator: everyone's)."""
    q = select(Delegation).where(Delegation.revoked_at.is_(None), Delegation.ends_on >= ctx.today())  # type: ignore
    if not ctx.may("user.manage"):
        q = q.where(or_(Delegation.user_id == ctx.actor.id, Delegation.delegate_id == ctx.actor.id))
    rows = ctx.session.exec(q.order_by(Delegation.starts_on, Delegation.id)).all()
    names = {u.id: u.name or u.login for u in ctx.session.exec(select(User).where(User.id.in_(
        {r.user_id for r in rows} | {r.delegate_id for r in rows}))).all()} if rows else {}
    today = ctx.today()
    return [{"ID": r.id, "Person": names.get(r.user_id, ""), "Delegate": names.get(r.delegate_id, ""),
             "From": r.starts_on, "Until": r.ends_on, "Reason": r.reason,
             "In effect": r.starts_on <= today <= r.ends_on, "Mine": r.user_id == ctx.actor.id} for r in rows]
