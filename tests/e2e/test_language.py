"""A person switches to Chinese and sees the page in Chinese."""
from tests.e2e.conftest import shot, sign_in


def test_switch_to_chinese(page):
    sign_in(page, "leader")
    page.get_by_text("The chain today").wait_for()
    page.get_by_text("中文", exact=True).click()
    page.get_by_text("今日链路概况").wait_for()
    assert page.get_by_text("退出登录").is_visible()
    assert page.get_by_role("link", name="立项看板").is_visible()
    shot(page, "overview-zh")
