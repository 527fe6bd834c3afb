"""What the Admin page shows: users, roles and teams, settings, the permission matrix and the data scope."""
from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import make_url
from sqlmodel import select

from config.settings import get_settings, load
from core import permissions, scope
from core.context import Context
from core.models import Team, TeamMember, User
from core.services import action


@action("user.manage")
def list_users(ctx: Context) -> pd.DataFrame:
    """Every user with roles and teams (each a comma-separated text, teams by name)."""
    rows = ctx.session.exec(select(User).order_by(User.login)).all()
    teams: dict[int, list[str]] = {}
    for user_id, name in ctx.session.exec(select(TeamMember.user_id, Team.name)
                                          .join(Team, Team.id == TeamMember.team_id).order_by(Team.name)).all():
        teams.setdefault(user_id, []).append(name)
    return pd.DataFrame([{"ID": u.id, "Version": u.version, "Login": u.login, "Name": u.name, "Email": u.email,
                          "Roles": u.roles, "Teams": ",".join(teams.get(u.id, [])), "Active": u.active,
                          "Locked": bool(u.locked_until)} for u in rows],
                        columns=["ID", "Version", "Login", "Name", "Email", "Roles", "Teams", "Active", "Locked"])


@action("user.manage")
def settings_overview(ctx: Context) -> dict:
    s = get_settings()
    matrix = permissions.matrix()
    grid = pd.DataFrame([{"Action": a, **{r: ("✓" if r in roles else "") for r in permissions.ROLES}}
                         for a, roles in sorted(matrix.items())])
    reach = scope.matrix()
    scopes = pd.DataFrame([{"Entity": e, **{r: reach.get(r, {}).get(e, "") for r in permissions.ROLES}}
                           for e in scope.ENTITIES])
    finance = load("finance")
    return {"database": make_url(s.database_url).render_as_string(hide_password=True),
            "data_dir": str(s.data_dir), "language": s.lang, "sheets_backend": s.sheets_backend,
            "currency": finance.get("currency", ""), "time_zone": finance.get("time_zone", "Asia/Shanghai"),
            "matrix": grid, "scope": scopes}
