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
    # the record one click away, named by its number (the walk read "Open Invoice 20")
    from core.models import Invoice
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        number = ctx.session.get(Invoice, 1).number
    links = [p.proto.label for p in at.get("page_link") if p.proto.query_string == "invoice=1"]
    assert links and number in links[0], links
