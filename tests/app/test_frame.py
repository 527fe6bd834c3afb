"""The frame: sign-in, language, and a navigation built from the person's roles."""
import pytest
from streamlit.testing.v1 import AppTest

from app.nav import PAGES, pages_for
from core import permissions
from tests.app.conftest import APP, TIMEOUT, texts


@pytest.mark.parametrize("role", permissions.ROLES)
def test_navigation_registers_only_the_pages_a_role_may_use(role):
    allowed = {p.path for p in pages_for({role})}
    for p in PAGES:
        assert (p.path in allowed) == permissions.allowed({role}, p.view)
    assert "screens/home.py" in allowed


def test_chinese_labels(page):
    at = page("leader", lang="zh")
    assert "线索到回款" in texts(at)
    assert "退出登录" in [b.label for b in at.sidebar.button]


def test_a_page_refuses_a_role_without_access_even_when_opened_directly(page):
    at = page("marketing")
    # marketing has no audit.view: the navigation does not have the page...
    with pytest.raises(Exception):
        at.switch_page("screens/history.py").run()
    # ...and the page itself refuses when run on its own
    direct = AppTest.from_file(str(APP / "screens/history.py"), default_timeout=TIMEOUT)
    direct.session_state["actor"] = at.session_state["actor"]
    direct.run()
    assert "do not give access" in direct.error[0].value
