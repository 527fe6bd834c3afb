"""Query functions of the delivery acceptance page: who sees which contracts, milestones with their
acceptances and terms, costs, and the four calculations (per project and for many projects at once)."""
from decimal import Decimal as D

import pandas as pd
import pytest

from core.calculations import four_calculations
from core.errors import NotFound, PermissionDenied
from core.models import Opportunity, PaymentTerm
from core.queries import delivery as q
from core.services import billing, closure, delivery
from tests.integration.money_fixtures import days, draft_with_terms, make_opportunity, signed_contract


def set_team(world, opp_id, *, fr=None, ar=None):
    def change(ctx):
        opp = ctx.session.get(Opportunity, opp_id)
        opp.fr_id = world.users[fr].id if fr else None
        opp.ar_id = world.users[ar].id if ar else None
        ctx.session.add(opp)
    world.read(change)


def test_contracts_lists_signed_ones_and_mine_keeps_the_fr_or_ar_of_the_opportunity(world):
    a = signed_contract(world, number="HT-A")
    b = signed_contract(world, number="HT-B", opp_id=make_opportunity(world, name="Other"))
    set_team(world, b["opp"], fr=None, ar="ar2")
    draft_with_terms(world, number="HT-DRAFT", opp_id=make_opportunity(world, name="Draft"))

    def numbers(who, **kw):
        return sorted(world.do(who, q.contracts, **kw)["Contract"])

    assert numbers("leader") == ["HT-A", "HT-B"]               # drafts are not delivered yet
    assert numbers("finance", mine=True) == []                 # finance is nobody's FR or AR
    assert numbers("fr", mine=True) == ["HT-A"]
    assert numbers("fr") == ["HT-A"]          # the data scope: an FR reaches the deals whose triangle they are on
    assert numbers("ar2") == ["HT-B"]
    assert numbers("ar", mine=True) == ["HT-A"]
    assert numbers("ar2", mine=True) == ["HT-B"]
    df = world.do("fr", q.contracts, mine=True)
    row = df.iloc[0]
    assert (row["Amount"], row["Signed on"], row["Status"], row["FR"], row["AR"]) == \
        (D("1000000.00"), days(-200), "signed", "FR user", "AR user")
    # "my projects" is offered where the scope reaches more than one's own deals, and starts off for those who
    # reach all
    assert not world.do("fr", q.offers_mine) and not world.do("leader", q.offers_mine)
    assert not world.do("leader", q.mine_by_default)


def test_closed_contracts_only_when_asked(world):
    ids = signed_contract(world, signed_on=days(-900))
    cid = ids["contract"]
    world.do("fr", delivery.accept_milestone, ids["m1"], kind="final", accepted_on=days(-800))
    world.do("finance", delivery.release_warranty_terms, cid)
    for term in ("advance", "final", "retention"):   # everything invoiced and collected
        amount = world.get(PaymentTerm, ids[term]).amount
        world.do("finance", billing.issue_invoice, ids[term], amount=amount)
        world.do("finance", billing.record_payment, account_id=ids["account"], amount=amount)
    world.do("finance", closure.record_final_accounts, cid)
    world.do("fr", closure.request_closure, cid, went_well="ok", went_badly="none")
    world.do("leader", closure.decide_closure, cid, "approve", rationale="ok")
    assert world.do("leader", q.contracts).empty
    closed = world.do("leader", q.contracts, include_closed=True)
    assert list(closed["Status"]) == ["closed"]
    calc = world.do("leader", q.four_calculations, cid).set_index("Calculation")
    assert calc.at["final", "Revenue"] == D("1000000.00")


def test_milestones_show_dates_acceptances_certificates_and_the_terms_they_release(world):
    ids = signed_contract(world)
    cid, m1 = ids["contract"], ids["m1"]
    m2 = world.do("fr", delivery.plan_milestone, cid, name="Training", planned_on=days(90), forecast_on=days(95))
    world.do("fr", delivery.accept_milestone, m1, kind="preliminary", accepted_on=days(-20), certificate_ref="P-1")
    df = world.do("fr", q.milestones, cid).set_index("ID")
    assert list(df.index) == [m1, m2]
    assert (df.at[m1, "Status"], df.at[m1, "Preliminary on"], df.at[m1, "Certificate"]) == \
        ("preliminary", days(-20), "P-1")
    assert df.at[m1, "Terms"] == "Final acceptance 60%" and df.at[m2, "Terms"] == ""
    assert (df.at[m2, "Planned on"], df.at[m2, "Forecast on"], df.at[m2, "Version"]) == (days(90), days(95), 1)
    assert world.do("fr", q.milestone_terms_released, m1) == []
    world.do("fr", delivery.accept_milestone, m1, kind="final", accepted_on=days(-5), certificate_ref="F-1")
    df = world.do("fr", q.milestones, cid).set_index("ID")
    assert (df.at[m1, "Status"], df.at[m1, "Accepted on"], df.at[m1, "Certificate"]) == ("accepted", days(-5), "F-1")
    assert world.do("fr", q.milestone_terms_released, m1) == [
        {"term": "Final acceptance 60%", "amount": D("600000.00"), "released_on": days(-5)}]
    terms = world.do("ar", q.payment_terms, cid).set_index("Term")
    assert terms.at["Final acceptance 60%", "Released on"] == days(-5)
    assert pd.isna(terms.at["Retention 10%", "Released on"])
    only = world.do("ar", q.payment_terms, cid, milestone_id=m1)
    assert list(only["Term"]) == ["Final acceptance 60%"]


def test_costs_newest_first_and_limited(world):
    ids = signed_contract(world)
    cid = ids["contract"]
    for i, amount in enumerate(["1000", "2000", "3000"]):
        world.do("fr", delivery.record_cost, cid, spent_on=days(-30 + i), category="labour", amount=amount)
    df = world.do("finance", q.costs, cid)
    assert list(df["Amount"]) == [D("3000.00"), D("2000.00"), D("1000.00")]
    assert len(world.do("finance", q.costs, cid, limit=2)) == 2


def test_four_calculations_with_the_variance_of_actuals_against_budget(world):
    ids = signed_contract(world)   # estimate 1,000,000 / 600,000; budget at signing scales the estimate's cost
    cid = ids["contract"]
    world.do("finance", billing.issue_invoice, ids["advance"], amount="300000")
    world.do("fr", delivery.record_cost, cid, spent_on=days(-10), category="hardware", amount="250000")
    df = world.do("leader", q.four_calculations, cid).set_index("Calculation")
    assert list(df.index) == ["estimate", "budget", "actual", "final", "variance"]
    assert (df.at["estimate", "Revenue"], df.at["estimate", "Cost"], df.at["estimate", "Margin %"]) == \
        (D("1000000.00"), D("600000.00"), D("40.00"))
    assert (df.at["budget", "Revenue"], df.at["budget", "Cost"]) == (D("1000000.00"), D("600000.00"))
    assert (df.at["actual", "Revenue"], df.at["actual", "Cost"], df.at["actual", "Margin"],
            df.at["actual", "Margin %"]) == (D("300000.00"), D("250000.00"), D("50000.00"), D("16.67"))
    assert pd.isna(df.at["final", "Revenue"])
    assert (df.at["variance", "Revenue"], df.at["variance", "Cost"], df.at["variance", "Margin"],
            df.at["variance", "Margin %"]) == (D("-700000.00"), D("-350000.00"), D("-350000.00"), D("-23.33"))


def test_portfolio_gives_the_same_figures_as_four_calculations_for_each_project(world):
    a = signed_contract(world, number="HT-A")
    b = signed_contract(world, number="HT-B", opp_id=make_opportunity(world, name="B", estimate=("500000", "200000")))
    world.do("finance", billing.issue_invoice, a["advance"], amount="100000")
    world.do("fr", delivery.record_cost, b["contract"], spent_on=days(-3), category="travel", amount="12345.67")
    df = world.do("leader", q.portfolio, [a["contract"], b["contract"]]).set_index("ID")
    for cid in (a["contract"], b["contract"]):
        calc = world.read(lambda ctx: four_calculations(ctx.session, cid))
        assert df.at[cid, "Estimate margin"] == calc["estimate"]["margin"]
        assert (df.at[cid, "Budget revenue"], df.at[cid, "Budget cost"], df.at[cid, "Budget margin"]) == \
            (calc["budget"]["revenue"], calc["budget"]["cost"], calc["budget"]["margin"])
        assert (df.at[cid, "Actual revenue"], df.at[cid, "Actual cost"], df.at[cid, "Actual margin"]) == \
            (calc["actual"]["revenue"], calc["actual"]["cost"], calc["actual"]["margin"])
        assert df.at[cid, "Cost variance"] == calc["actual"]["cost"] - calc["budget"]["cost"]
        assert pd.isna(df.at[cid, "Final margin"])
    assert df.at[b["contract"], "Estimate margin"] == D("300000.00")
    assert world.do("leader", q.portfolio, []).empty


@pytest.mark.parametrize("role", ["admin", "marketing", "sr", "legal"])
def test_roles_without_delivery_view_are_refused(world, role):
    ids = signed_contract(world)
    with pytest.raises(PermissionDenied):
        world.do(role, q.contracts)
    with pytest.raises(PermissionDenied):
        world.do(role, q.milestones, ids["contract"])


def test_an_unknown_contract_is_not_found(world):
    with pytest.raises(NotFound):
        world.do("fr", q.milestones, 999)
    with pytest.raises(NotFound):
        world.do("fr", q.four_calculations, 999)
