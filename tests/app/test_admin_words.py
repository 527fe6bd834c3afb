"""The Admin page in Chinese: role names in words in the users table and the permission matrix, permissions
said in words, no environment variable or config path as caption text, no 'None' in empty cells."""
import json
import re

from core import permissions
from tests.app.conftest import texts

PAGE = "screens/admin.py"
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_roles_and_settings_are_in_words_in_chinese(page):
    at = page("admin", PAGE, "zh")
    assert not at.exception
    users = at.dataframe[0]
    config = json.loads(users.proto.columns)
    roles = config["Roles"]
    assert CJK.search(roles["label"])
    assert json.dumps(roles, ensure_ascii=False).count("财务") >= 1      # 'finance' offered as words
    matrix = next(d for d in at.dataframe if "Action" in d.value.columns)   # after the users and teams tables
    mconf = json.loads(matrix.proto.columns)
    shown = [c for c in matrix.proto.column_order]
    assert "Action" not in shown and set(permissions.ROLES) <= set(shown)
    for col in shown:
        assert CJK.search(mconf[col]["label"]), (col, mconf[col])
    assert all(CJK.search(w) for w in matrix.value["What"])
    page_text = texts(at)
    assert "config/" not in page_text and "LTC_" not in page_text and "permissions.toml" not in page_text
    assert "None" not in page_text


def test_roles_are_chosen_from_the_list_and_saved(page, demo_url):
    from sqlmodel import select

    from core.context import SYSTEM, unit_of_work
    from core.models import User

    at = page("admin", PAGE)
    row = list(at.dataframe[0].value["Login"]).index("fr")
    at.session_state["admin-users"] = {"edited_rows": {row: {"Roles": ["fr", "sr"]}}, "added_rows": [],
                                       "deleted_rows": []}
    at.run()
    at.button(key="admin-users-save").click().run()
    assert not at.exception and not at.error
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        roles = ctx.session.exec(select(User.roles).where(User.login == "fr")).one()
    assert set(roles.split(",")) == {"fr", "sr"}
