import pytest
from sqlmodel import select

from core import permissions
from core.context import SYSTEM, unit_of_work
from core.models import User


def test_admin_sees_users_and_the_matrix(page):
    at = page("admin", "screens/admin.py")
    assert not at.exception
    logins = set(at.dataframe[0].value["Login"])
    assert {"admin", "finance", "leader", "marketing"} <= logins
    matrix = next(d.value for d in at.dataframe if "Action" in d.value.columns)
    assert matrix.set_index("Action").at["ati.decide", "leader"] == "✓"
    assert matrix.set_index("Action").at["ati.decide", "ar"] == ""


def field(at, kind: str, name: str):
    """A widget of the add-user form (its keys carry the form's one-time key)."""
    return next(w for w in getattr(at, kind) if str(w.key or "").startswith(f"admin-add-{name}-"))


def test_admin_adds_a_user(page, demo_url):
    at = page("admin", "screens/admin.py")
    field(at, "text_input", "login").input("newbie")
    field(at, "text_input", "name").input("New Person")
    field(at, "multiselect", "roles").select("finance")
    field(at, "text_input", "password").input("long-password-1")
    next(b for b in at.button if b.label == "Add a user").click().run()
    assert not at.exception
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        u = ctx.session.exec(select(User).where(User.login == "newbie")).one()
        assert u.roles == "finance" and u.password_hash.startswith("$argon2")
    assert field(at, "text_input", "login").value == ""   # the form comes back empty, under a new key


def test_bad_new_user_is_refused_with_the_field(page, demo_url):
    at = page("admin", "screens/admin.py")
    field(at, "text_input", "login").input("has space")
    field(at, "multiselect", "roles").select("ar")
    next(b for b in at.button if b.label == "Add a user").click().run()
    assert at.error[0].value.startswith("Login: ")   # the field named by its label in the form
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        assert ctx.session.exec(select(User).where(User.login == "has space")).first() is None


@pytest.mark.parametrize("role", [r for r in permissions.ROLES if r != "admin"])
def test_other_roles_cannot_reach_admin(page, role):
    login = "ar" if role == "ar" else role
    at = page(login)
    with pytest.raises(Exception):
        at.switch_page("screens/admin.py").run()
