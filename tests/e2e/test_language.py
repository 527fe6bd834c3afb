"""A person switches to Chinese and sees the page in Chinese."""
from tests.e2e.conftest import shot, sign_in


def test_switch_to_chinese(page):
    sign_in(page, "leader")
    page.get_by_text("The chain today").wait_for()
    page.get_by_text("中文", exact=True).click()
    page.get_by_text("今日链路概况").wait_for()
    page.get_by_text("退出登录").wait_for()          # the switch loads the page afresh, signed in still
    page.get_by_role("link", name="立项看板").wait_for()
    shot(page, "overview-zh")


def test_filters_relabel_when_the_language_changes(page):
    """The walk saw the lead inbox's filters say "All" and "New" after switching to Chinese: the browser kept
    the old words of widgets whose options were relabelled. The switch loads the page afresh."""
    sign_in(page, "marketing")
    page.get_by_role("link", name="Lead triage").click()
    page.get_by_text("Inbox", exact=True).wait_for()
    page.get_by_text("中文", exact=True).click()
    page.get_by_text("线索收件箱").wait_for()
    boxes = page.locator('[data-testid="stMain"] [data-testid="stSelectbox"], '
                         '[data-testid="stMain"] [data-testid="stMultiSelect"]')
    for _ in range(60):   # until every filter is drawn (on a busy machine the status filter came last)
        page.wait_for_timeout(500)
        # what each filter shows: its chips' text and its input's value (a chosen option sits in the input)
        joined = " ".join(boxes.all_text_contents() + [i.input_value() for i in boxes.locator("input").all()]
                          + [i.get_attribute("value") or "" for i in boxes.locator("input").all()])
        if "全部" in joined and "新建" in joined:
            break
    assert "全部" in joined and "新建" in joined, joined
    assert "All" not in joined and "New" not in joined, joined
    assert "/leads" in page.url
    shot(page, "leads-zh")
