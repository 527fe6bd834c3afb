"""Admin: users, roles and teams, and an overview of the settings in force (the permission matrix, the data scope).

The users table keeps the versions the person first saw (ui.seen) until they save or press Reload, so a
colleague's change in between is refused naming who made it, never silently overwritten."""
import pandas as pd
import streamlit as st

from app import fmt, forms, tables, ui
from core import permissions
from core.queries.admin import list_users, settings_overview
from core.services import teams, users

ui.guard("user.manage")
st.title(ui.t("page.admin"))
ui.flash()

EDITOR, SEEN = "admin-users", "admin-users-seen"


def role_name(code: str) -> str:
    return tables.value(code)


def load() -> pd.DataFrame:
    df = ui.read(list_users)
    for col in ("Roles", "Teams"):
        df[col] = df[col].map(lambda v: [r for r in str(v or "").split(",") if r])
    return df


def fresh() -> None:
    """Forget the table as first seen and the person's edits: the next run reads it afresh."""
    st.session_state.pop(SEEN, None)
    st.session_state.pop(EDITOR, None)


def joined(df: pd.DataFrame) -> pd.DataFrame:
    """Roles and teams as one comparable text ('ar,leader') so changed_rows compares them as values."""
    out = df.copy()
    for col in ("Roles", "Teams"):
        out[col] = out[col].map(lambda v: ",".join(sorted(str(r) for r in list(v if v is not None else []))))
    return out


def save(ctx, user_id, version, changes):
    fields = {"name": changes.get("Name"), "email": changes.get("Email"), "active": changes.get("Active")}
    if "Roles" in changes:
        fields["roles"] = [r for r in str(changes["Roles"]).split(",") if r]
    fields = {k: v for k, v in fields.items() if v is not None}
    if fields or "Teams" not in changes:
        users.update_user(ctx, user_id, version=version, **fields)
    if "Teams" in changes:   # in the same unit of work: the user's row and teams change together or not at all
        teams.set_teams(ctx, user_id, [t for t in str(changes["Teams"]).split(",") if t])


tab_users, tab_teams, tab_settings = st.tabs([ui.t("admin.users"), ui.t("admin.teams"), ui.t("admin.settings")],
                                             key="admin-tab", on_change="rerun")
team_list = ui.read(teams.team_rows)
with tab_users:
    before = ui.seen(SEEN, EDITOR, load)
    edited = st.data_editor(
        before, placeholder=fmt.EMPTY, key=EDITOR, hide_index=True, width="stretch",
        disabled=["ID", "Version", "Login", "Locked"],
        column_order=[c for c in before.columns if not tables.internal(c)],
        column_config={
            "Login": st.column_config.TextColumn(ui.t("login.login")),
            "Name": st.column_config.TextColumn(ui.t("admin.name"), max_chars=ui.limit("name")),
            "Email": st.column_config.TextColumn(ui.t("admin.email"), max_chars=ui.limit("email")),
            "Roles": st.column_config.MultiselectColumn(ui.t("admin.roles"), options=list(permissions.ROLES),
                                                        format_func=role_name),
            "Teams": st.column_config.MultiselectColumn(ui.t("admin.teams"), options=[t["name"] for t in team_list],
                                                        format_func=str),
            "Active": st.column_config.CheckboxColumn(ui.t("admin.active")),
            "Locked": st.column_config.CheckboxColumn(ui.t("admin.locked")),
        })
    st.caption(ui.t("admin.seen_hint"))
    b1, b2, _ = st.columns([1, 1, 4])
    if b1.button(ui.t("save"), key="admin-users-save", type="primary"):
        if ui.save_edits(joined(before), joined(edited), save):
            fresh()
            st.rerun()
    b2.button(ui.t("admin.reload"), key="admin-users-reload", on_click=fresh)

    st.subheader(ui.t("admin.add"))
    labels = {"login": ui.t("login.login"), "name": ui.t("admin.name"), "email": ui.t("admin.email"),
              "roles": ui.t("admin.roles"), "password": ui.t("login.password")}
    with forms.once_form("admin-add") as f:   # one user however often Add is clicked; empty again after it
        c1, c2 = st.columns(2)
        login = c1.text_input(labels["login"], key=f.key("login"), max_chars=ui.limit("login"))
        name = c2.text_input(labels["name"], key=f.key("name"), max_chars=ui.limit("name"))
        email = c1.text_input(labels["email"], key=f.key("email"), max_chars=ui.limit("email"))
        names = {r: role_name(r) for r in permissions.ROLES}
        roles = c2.multiselect(labels["roles"], permissions.ROLES, key=f.key("roles"),
                               format_func=lambda r: names.get(r, r))
        password = st.text_input(labels["password"], type="password", key=f.key("password"))
        if st.form_submit_button(ui.t("admin.add"), key=f.key("submit")):
            if f.submit(users.create_user, login, name=name, email=email, roles=roles, password=password or None,
                        success=ui.t("admin.added", login=login), labels=labels):
                fresh()
                st.rerun()

    with st.form("admin-password", clear_on_submit=True):
        st.subheader(ui.t("admin.reset"))
        logins = dict(zip(before["Login"], before["ID"]))
        who = st.selectbox(ui.t("login.login"), list(logins), key="admin-reset-login", index=None,
                           placeholder=ui.t("record.choose"))
        new_pw = st.text_input(ui.t("login.password"), type="password", key="admin-reset-password")
        if st.form_submit_button(ui.t("admin.reset")) and who:
            if ui.act(users.update_user, int(logins[who]), password=new_pw, where="admin-password"):
                st.rerun()
    ui.flash("admin-password")

with tab_teams:
    st.caption(ui.t("admin.teams_hint"))
    TEAMS, TEAMS_SEEN = "admin-teams", "admin-teams-seen"

    def load_teams() -> pd.DataFrame:
        return pd.DataFrame([{"ID": t["id"], "Version": t["version"], "Team": t["name"],
                              "Manager": t["manager"] or None, "Members": ", ".join(t["members"])}
                             for t in ui.read(teams.team_rows)],
                            columns=["ID", "Version", "Team", "Manager", "Members"])

    def fresh_teams() -> None:
        st.session_state.pop(TEAMS_SEEN, None)
        st.session_state.pop(TEAMS, None)

    def save_team(ctx, team_id, version, changes):
        return teams.update_team(ctx, team_id, version=version, name=changes.get("Team"),
                                 manager_login=(changes["Manager"] or "") if "Manager" in changes else None)

    team_before = ui.seen(TEAMS_SEEN, TEAMS, load_teams)
    if team_before.empty:
        st.info(ui.t("admin.no_teams"))
    else:
        team_edited = st.data_editor(
            team_before, placeholder=fmt.EMPTY, key=TEAMS, hide_index=True, width="stretch",
            disabled=["ID", "Version", "Members"], column_order=["Team", "Manager", "Members"],
            column_config={"Team": st.column_config.TextColumn(ui.t("admin.team"), max_chars=100, required=True),
                           "Manager": st.column_config.SelectboxColumn(ui.t("admin.manager"),
                                                                       options=list(before["Login"])),
                           "Members": st.column_config.TextColumn(ui.t("admin.members"))})
        t1, t2, _ = st.columns([1, 1, 4])
        if t1.button(ui.t("save"), key="admin-teams-save", type="primary"):
            if ui.save_edits(team_before, team_edited, save_team):
                fresh_teams()
                fresh()
                st.rerun()
        t2.button(ui.t("admin.reload"), key="admin-teams-reload", on_click=fresh_teams)
    st.subheader(ui.t("admin.team_add"))
    team_labels = {"name": ui.t("admin.team"), "manager": ui.t("admin.manager")}
    with forms.once_form("admin-team-add") as f:
        c1, c2 = st.columns(2)
        team_name = c1.text_input(team_labels["name"], key=f.key("name"), max_chars=100)
        manager = c2.selectbox(team_labels["manager"], list(before["Login"]), index=None, key=f.key("manager"),
                               placeholder=ui.t("record.choose"))
        if st.form_submit_button(ui.t("admin.team_add"), key=f.key("submit")):
            if f.submit(teams.create_team, team_name, manager_login=manager,
                        success=ui.t("admin.team_added", name=team_name), labels=team_labels):
                fresh_teams()
                fresh()
                st.rerun()

with tab_settings:
    info = ui.read(settings_overview)
    language = ui.t(f"admin.lang.{info['language']}")
    backend = ui.t(f"sync.backend.{info['sheets_backend']}")
    st.markdown(f"**{ui.t('admin.database')}**: `{info['database']}`  \n"
                f"**{ui.t('admin.data_dir')}**: `{info['data_dir']}`  \n"
                f"**{ui.t('language')}**: {language}  \n"
                f"**{ui.t('admin.sheets')}**: {backend}  \n"
                f"**{ui.t('admin.currency')}**: {info['currency']}  \n"
                f"**{ui.t('admin.time_zone')}**: {info['time_zone']}")
    st.subheader(ui.t("admin.matrix"), help=ui.t("admin.matrix_help"))
    matrix = info["matrix"]
    matrix.insert(1, "What", matrix["Action"].map(lambda a: ui.t(f"admin.perm.{a}")))
    st.dataframe(matrix, hide_index=True, width="stretch", key="admin-matrix", placeholder=fmt.EMPTY,
                 column_config={"Action": st.column_config.TextColumn(ui.t("admin.permission")),
                                "What": st.column_config.TextColumn(ui.t("admin.what")),
                                **{r: st.column_config.TextColumn(role_name(r)) for r in permissions.ROLES}},
                 column_order=["What", *permissions.ROLES])
    st.subheader(ui.t("admin.scope"), help=ui.t("admin.scope_help"))
    reach = info["scope"]
    reach["Entity"] = reach["Entity"].map(lambda e: ui.t(f"admin.entity.{e}"))
    for r in permissions.ROLES:
        reach[r] = reach[r].map(lambda lv: ui.t(f"admin.level.{lv}") if lv else "")
    st.dataframe(reach, hide_index=True, width="stretch", key="admin-scope", placeholder=fmt.EMPTY,
                 column_config={"Entity": st.column_config.TextColumn(ui.t("admin.entity")),
                                **{r: st.column_config.TextColumn(role_name(r)) for r in permissions.ROLES}})
