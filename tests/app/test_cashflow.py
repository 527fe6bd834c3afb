"""The leadership cash-flow page on demo data: leaders see every tab, finance only the cash ones, other roles
cannot reach it, and a top overdue customer drills down to that customer's invoices."""
import pytest
from sqlmodel import select

from core import permissions
from core.context import SYSTEM, unit_of_work
from core.models import Account, Invoice
from tests.app.conftest import assert_unreachable, texts

PAGE = "screens/cashflow.py"


def open_tab(at, label: str):
    tabs = [t for t in at.tabs if t.label == label]
    assert tabs, f"no tab {label!r} among {[t.label for t in at.tabs]}"
    return tabs[0]


def labels(at) -> list[str]:
    return [t.label for t in at.tabs]


def test_a_leader_sees_every_tab_and_each_renders(page):
    at = page("leader", PAGE)
    assert not at.exception
    assert labels(at) == ["Overview", "Receivables", "Funnel and pipeline", "Where it is stuck", "Projects"]
    shown = texts(at)
    assert "Collected" in shown and "Win rate (count)" in shown
    for label in labels(at)[1:]:
        at.session_state["cf-tab"] = label
        at.run()
        assert not at.exception, label
    at.session_state["cf-tab"] = "Funnel and pipeline"
    at.run()
    funnel = at.dataframe[0].value
    assert list(funnel["step"]) == ["Lead", "Qualified", "Opportunity", "Initiated", "Bid", "Won", "Signed"]


def test_finance_sees_the_cash_tabs_only(page):
    at = page("finance", PAGE)
    assert not at.exception
    assert labels(at) == ["Overview", "Receivables"]
    shown = texts(at)
    assert "Collected" in shown and "Win rate (count)" not in shown and "Sales chain" not in shown
    at.session_state["cf-tab"] = "Receivables"
    at.run()
    assert not at.exception


@pytest.mark.parametrize("role", [r for r in permissions.ROLES if not permissions.allowed({r}, "metrics.cash")])
def test_other_roles_cannot_reach_the_page(page, role):
    assert_unreachable(page, role, PAGE)


def test_drill_down_from_an_overdue_customer_shows_its_invoices(page, demo_url):
    at = page("finance", PAGE)
    at.session_state["cf-tab"] = "Receivables"
    at.run()
    pick = at.selectbox(key="cf-drill")
    customers = [o for o in pick.options if o != "—"]
    assert customers, "the demo has overdue customers"
    name = customers[0]
    pick.select(name).run()
    assert not at.exception
    assert f"Invoices of {name}" in texts(at)
    invoices = at.dataframe[-1].value
    assert len(invoices) > 0 and (invoices["outstanding"] > 0).any()
    assert (invoices["days_overdue"] > 0).any()
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        account = ctx.session.exec(select(Account.id).where(Account.name == name)).one()
        theirs = set(ctx.session.exec(select(Invoice.id).where(Invoice.account_id == account)).all())
    assert set(invoices["invoice_id"]) <= theirs


def test_the_sidebar_filters_narrow_the_figures(page):
    at = page("leader", PAGE)
    region = at.selectbox(key="cf-region")
    assert len(region.options) > 1
    region.select(region.options[1]).run()
    assert not at.exception
    customer = at.selectbox(key="cf-customer")
    customer.select(customer.options[1]).run()
    assert not at.exception
    at.session_state["cf-tab"] = "Receivables"
    at.run()
    assert not at.exception
