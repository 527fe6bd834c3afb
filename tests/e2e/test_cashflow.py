"""A leader opens the cash-flow page, goes to the receivables, and drills from an overdue customer to the
invoices behind the figure."""

from sqlmodel import select

from core import clock
from core.context import SYSTEM, unit_of_work
from core.metrics import Filters, overdue_customers
from core.models import Invoice
from tests.e2e.conftest import shot, sign_in
from tests.e2e.test_flows import _choose


def test_leader_drills_from_an_overdue_customer_to_its_invoices(page, server_db):
    url = f"sqlite:///{server_db}"
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        top = overdue_customers(ctx, Filters(as_of=clock.today()), limit=1)[0]
        numbers = [i.number for i in ctx.session.exec(select(Invoice).where(
            Invoice.account_id == top["account_id"], Invoice.status.in_(["issued", "partly_paid"]))).all()]
    assert numbers
    sign_in(page, "leader")
    page.get_by_role("link", name="Cash flow").click()
    page.get_by_role("tab", name="Receivables").click()
    page.get_by_text("Top overdue customers").wait_for()
    # the tab reruns the page (on_change="rerun"): typing into the picker before that run ends loses the typing
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=30_000)
    _choose(page, "Show the invoices of", top["customer"])
    page.get_by_text(f"{top['customer']}", exact=False).last.wait_for()
    for number in numbers:    # cells of the drill-down grid
        page.get_by_text(number, exact=True).first.wait_for(state="attached")
    shot(page, "cashflow-drilldown")


TABS = {"Overview": 1, "Receivables": 1, "Funnel and pipeline": 2, "Where it is stuck": 1, "Projects": 1}


def test_every_tab_draws_its_charts_without_an_error(page):
    """Each tab of the page in a real browser: its charts are drawn by Vega (an <svg> or <canvas> inside the
    chart element) and no Streamlit exception box appears."""
    sign_in(page, "leader")
    page.get_by_role("link", name="Cash flow").click()
    for name, charts in TABS.items():
        page.get_by_role("tab", name=name).click()
        page.get_by_role("tab", name=name, selected=True).wait_for()
        if name == "Projects":   # the margin waterfall is drawn for the project the person chooses
            box = page.get_by_label("Project", exact=True)
            box.click()
            page.get_by_role("option").first.click()
        page.wait_for_function(
            "n => [...document.querySelectorAll('[role=tabpanel]:not([hidden]) .vega-embed')]"
            ".filter(e => e.querySelector('svg, canvas')).length >= n", arg=charts, timeout=30_000)
        assert page.locator("[data-testid=stException]").count() == 0, name
        print(name, page.locator("[role=tabpanel]:not([hidden]) .vega-embed").count(), "charts")
        shot(page, "cashflow-" + name.split()[0].lower())
