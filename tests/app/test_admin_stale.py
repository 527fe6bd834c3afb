"""Admin users table: the versions the person first saw are kept until they save or press Reload, so a
colleague's change in between is refused by name rather than overwritten; Reload shows the fresh values."""
from sqlmodel import select

from core.context import SYSTEM, unit_of_work
from core.models import User
from core.services import users

PAGE = "screens/admin.py"


def _row(at, login: str) -> int:
    df = at.dataframe[0].value
    return int(list(df["Login"]).index(login))


def _edit(at, login: str, name: str):
    at.session_state["admin-users"] = {"edited_rows": {_row(at, login): {"Name": name}},
                                       "added_rows": [], "deleted_rows": []}
    return at.run()


def _uid(demo_url, login):
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        return ctx.session.exec(select(User).where(User.login == login)).one()


def test_a_colleagues_change_is_not_overwritten_and_reload_shows_it(page, demo_url):
    at = page("admin", PAGE)
    assert not at.exception
    finance = _uid(demo_url, "finance")
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:      # a colleague saves the user meanwhile
        users.update_user(ctx, finance.id, name="Changed by a colleague")
    _edit(at, "finance", "Mine")
    at.button(key="admin-users-save").click().run()
    assert not at.exception
    assert at.error and "stale" in at.error[0].value and "system" in at.error[0].value
    assert _uid(demo_url, "finance").name == "Changed by a colleague"

    at.button(key="admin-users-reload").click().run()
    assert not at.exception and not at.error
    df = at.dataframe[0].value
    assert df.set_index("Login").at["finance", "Name"] == "Changed by a colleague"
    _edit(at, "finance", "Mine after reload")
    at.button(key="admin-users-save").click().run()
    assert not at.exception and not at.error
    assert _uid(demo_url, "finance").name == "Mine after reload"
