"""Teams (团队): the organisation as data, a manager and members per team; a person may be in several. The
data scope `team` (core.scope) reaches the records of a team's people. Managed by administrators; audited."""
from __future__ import annotations

from sqlalchemy import func
from sqlmodel import select

from core import normalise, scope, validate
from core.context import Context, snapshot
from core.errors import DuplicateError, NotFound, ValidationError
from core.messages import Text
from core.models import Team, TeamMember, User
from core.services import action, users


def by_name(ctx: Context, name, field: str = "team") -> Team:
    text = validate.text(field, name, max_len=100, required=True)
    team = ctx.session.exec(select(Team).where(Team.name_norm == normalise.team(text))).first()
    if team is None:
        known = ctx.session.exec(select(Team.name).order_by(Team.name)).all()
        raise NotFound("{field}: no team '{name}' (teams: {known})", field=field, name=text,
                       known=", ".join(known) if known else Text("none"))
    return team


@action("user.manage")
def create_team(ctx: Context, name, *, manager_login=None) -> int:
    """A new team, with its manager when given (the manager counts as one of the team's people)."""
    name = validate.text("name", name, max_len=100, required=True)
    if ctx.session.exec(select(Team.id).where(Team.name_norm == normalise.team(name))).first() is not None:
        raise DuplicateError("{field}: a team '{name}' exists already", field="name", name=name)
    manager = users.active_user(ctx, "manager", manager_login) if manager_login not in (None, "") else None
    team = Team(name=name, name_norm=normalise.team(name), manager_id=manager.id if manager else None)
    ctx.audit("team.create", team, after={"name": name, "manager": manager.login if manager else ""})
    scope.forget(ctx)
    return team.id


@action("user.manage")
def update_team(ctx: Context, team_id: int, *, version: int | None = None, name=None, manager_login=None) -> None:
    """Rename a team or change its manager ('' takes the manager away)."""
    team = ctx.get(Team, team_id, version=version)
    before = snapshot(team)
    if name is not None:
        name = validate.text("name", name, max_len=100, required=True)
        clash = ctx.session.exec(select(Team.id).where(Team.name_norm == normalise.team(name),
                                                       Team.id != team.id)).first()
        if clash is not None:
            raise DuplicateError("{field}: a team '{name}' exists already", field="name", name=name)
        team.name, team.name_norm = name, normalise.team(name)
    if manager_login is not None:
        team.manager_id = users.active_user(ctx, "manager", manager_login).id if manager_login != "" else None
    ctx.audit("team.update", team, before=before)
    scope.forget(ctx)


def teams_of(ctx: Context, user_id: int) -> list[str]:
    """The names of the teams a person belongs to, by name."""
    return list(ctx.session.exec(select(Team.name).join(TeamMember, TeamMember.team_id == Team.id)
                                 .where(TeamMember.user_id == user_id).order_by(Team.name)).all())


@action("user.manage")
def set_teams(ctx: Context, user_id: int, teams) -> None:
    """Make the person a member of exactly `teams` (names); audited with the teams before and after."""
    if isinstance(teams, str) or not isinstance(teams, (list, tuple, set, frozenset)):
        raise ValidationError("{field}: a list of team names is required (got {got!r})", field="teams",
                              got=str(teams)[:40])
    user = ctx.get(User, user_id)
    wanted = {by_name(ctx, t).id for t in teams if str(t).strip()}
    have = set(ctx.session.exec(select(TeamMember.team_id).where(TeamMember.user_id == user.id)).all())
    if wanted == have:
        return
    before = teams_of(ctx, user.id)
    for team_id in have - wanted:
        row = ctx.session.get(TeamMember, (team_id, user.id))
        if row is not None:
            ctx.session.delete(row)
    for team_id in wanted - have:
        ctx.session.add(TeamMember(team_id=team_id, user_id=user.id))
    ctx.session.flush()
    ctx.audit("user.teams", entity="user", entity_id=user.id, before={"login": user.login, "teams": before},
              after={"login": user.login, "teams": teams_of(ctx, user.id)})
    scope.forget(ctx)


@action("user.manage")
def team_rows(ctx: Context) -> list[dict]:
    """Every team with its manager's login and its members' logins, by name."""
    logins = dict(ctx.session.exec(select(User.id, User.login)).all())
    members: dict[int, list[str]] = {}
    for team_id, user_id in ctx.session.exec(select(TeamMember.team_id, TeamMember.user_id)).all():
        members.setdefault(team_id, []).append(logins.get(user_id, ""))
    teams = ctx.session.exec(select(Team).order_by(func.lower(Team.name), Team.id)).all()
    return [dict(id=t.id, name=t.name, manager=logins.get(t.manager_id, "") if t.manager_id else "",
                 members=sorted(members.get(t.id, [])), version=t.version) for t in teams]
