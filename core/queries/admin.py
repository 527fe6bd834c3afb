"""What the Admin page shows: users and roles, settings and the permission matrix."""
from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import make_url
from sqlmodel import select

from config.settings import get_settings, load
from core import permissions
from core.context import Context
from core.models import User
from core.services import action


@action("user.manage")
def list_users(ctx: Context) -> pd.DataFrame:
    rows = ctx.session.exec(select(User).order_by(User.login)).all()
    return pd.DataFrame([{"ID": u.id, "Version": u.version, "Login": u.login, "Name": u.name, "Email": u.email,
                          "Roles": u.roles, "Active": u.active, "Locked": bool(u.locked_until)} for u in rows],
                        columns=["ID", "Version", "Login", "Name", "Email", "Roles", "Active", "Locked"])


@action("user.manage")
def settings_overview(ctx: Context) -> dict:
    s = get_settings()
    matrix = permissions.matrix()
    grid = pd.DataFrame([{"Action": a, **{r: ("✓" if r in roles else "") for r in permissions.ROLES}}
                         for a, roles in sorted(matrix.items())])
    finance = load("finance")
    return {"database": make_url(s.database_url).render_as_string(hide_password=True),
            "data_dir": str(s.data_dir), "language": s.lang, "sheets_backend": s.sheets_backend,
            "currency": finance.get("currency", ""), "time_zone": finance.get("time_zone", "Asia/Shanghai"),
            "matrix": grid}
