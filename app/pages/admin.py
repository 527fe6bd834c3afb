"""Admin: users and roles, and an overview of the settings in force."""
import streamlit as st

from app import ui
from core import permissions
from core.queries.admin import list_users, settings_overview
from core.services import users

ui.guard("user.manage")
st.title(ui.t("page.admin"))
ui.flash()

tab_users, tab_settings = st.tabs([ui.t("admin.users"), ui.t("admin.settings")])
with tab_users:
    before = ui.read(list_users)
    edited = st.data_editor(before, key="admin-users", hide_index=True, width="stretch",
                            disabled=["ID", "Version", "Login", "Locked"])
    st.caption(ui.t("admin.roles_hint", roles=", ".join(permissions.ROLES)))
    if st.button(ui.t("save"), key="admin-users-save"):
        def save(ctx, user_id, version, changes):
            fields = {"name": changes.get("Name"), "email": changes.get("Email"), "active": changes.get("Active")}
            if "Roles" in changes:
                fields["roles"] = str(changes["Roles"]).split(",")
            return users.update_user(ctx, user_id, version=version,
                                     **{k: v for k, v in fields.items() if v is not None})
        if ui.save_edits(before, edited, save):
            st.rerun()

    with st.form("admin-add-user", clear_on_submit=True):
        st.subheader(ui.t("admin.add"))
        c1, c2 = st.columns(2)
        login = c1.text_input(ui.t("login.login"), key="admin-new-login")
        name = c2.text_input(ui.t("admin.name"), key="admin-new-name")
        email = c1.text_input(ui.t("admin.email"), key="admin-new-email")
        roles = c2.multiselect(ui.t("admin.roles"), permissions.ROLES, key="admin-new-roles")
        password = st.text_input(ui.t("login.password"), type="password", key="admin-new-password")
        if st.form_submit_button(ui.t("admin.add")):
            if ui.act(users.create_user, login, name=name, email=email, roles=roles, password=password or None,
                      success=ui.t("admin.added", login=login)):
                st.rerun()

    with st.form("admin-password", clear_on_submit=True):
        st.subheader(ui.t("admin.reset"))
        logins = dict(zip(before["Login"], before["ID"]))
        who = st.selectbox(ui.t("login.login"), list(logins), key="admin-reset-login")
        new_pw = st.text_input(ui.t("login.password"), type="password", key="admin-reset-password")
        if st.form_submit_button(ui.t("admin.reset")) and who:
            if ui.act(users.update_user, int(logins[who]), password=new_pw):
                st.rerun()

with tab_settings:
    info = ui.read(settings_overview)
    st.markdown(f"**{ui.t('admin.database')}**: `{info['database']}`  \n"
                f"**{ui.t('admin.data_dir')}**: `{info['data_dir']}`  \n"
                f"**{ui.t('language')}**: `{info['language']}`")
    st.subheader(ui.t("admin.matrix"))
    st.dataframe(info["matrix"], hide_index=True, width="stretch")
