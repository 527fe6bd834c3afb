from sqlmodel import select

from core.context import SYSTEM, unit_of_work
from core.models import User


def test_history_shows_who_changed_an_invoice(page, demo_url):
    at = page("leader", "screens/history.py")
    assert not at.exception
    at.selectbox(key="history-entity").select("invoice").run()
    at.number_input(key="history-id").set_value(1).run()
    assert not at.exception
    df = at.dataframe[0].value
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        finance = ctx.session.exec(select(User.name).where(User.login == "finance")).one()
    assert "Invoice issued" in set(df["Action"]) and finance in set(df["Who"])   # people by name, not login
