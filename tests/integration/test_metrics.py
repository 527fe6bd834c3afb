"""Leadership metrics (issue 5) on a small hand-built dataset; every figure worked out by hand below.

As of A = 5 days ago:
  Alpha (HT-A, 1,000,000 signed day -200): advance 300,000 invoiced day -190 (due -175), paid in full day -170;
    final 600,000 released by acceptance day -100, invoiced day -90 (due -60), 200,000 paid day -50 (partial),
    100,000 more paid day -4 — the day after A's... after A, so it does not count as of A.
    As of A: 400,000 outstanding, 55 days past due -> "31-60".
  Beta (HT-B, 1,000,000 signed day -150, change order to 1,200,000 with a final term of 800,000):
    advance 300,000 invoiced day -150 (due -135); 350,000 received day -130: 300,000 applied, 50,000
    unapplied (overpayment); final 800,000 released day -20, 250,000 invoiced day -15 (due +15): current.
"""
from datetime import date, timedelta
from decimal import Decimal as D

import pytest

from core.enums import Stage
from core.errors import PermissionDenied
from core.metrics import (DEFINITIONS, Filters, ageing, collection, customer_invoices, forecast, funnel,
                          metrics_summary, monthly, overdue_customers, projects, stages, win_rates)
from core.metrics.filters import month_start
from core.models import Opportunity
from core.services import billing, contracts, delivery, leads
from core.services.delivery import add_months
from tests.integration.money_fixtures import TODAY, days, make_opportunity, signed_contract, terms_by_name

A = days(-5)
Z = D("0.00")


def key(d: date) -> str:
    return d.strftime("%Y-%m")


@pytest.fixture
def books(world):
    a = signed_contract(world, number="HT-A", signed_on=days(-200),
                        opp_id=make_opportunity(world, name="A", account="Alpha Grid"))
    inv1 = world.do("finance", billing.issue_invoice, a["advance"], amount="300000", issued_on=days(-190))
    world.do("finance", billing.record_payment, account_id=a["account"], amount="300000", received_on=days(-170),
             allocate_to=[(inv1, "300000")])
    world.do("fr", delivery.accept_milestone, a["m1"], kind="final", accepted_on=days(-100))
    inv2 = world.do("finance", billing.issue_invoice, a["final"], amount="600000", issued_on=days(-90))
    world.do("finance", billing.record_payment, account_id=a["account"], amount="200000", received_on=days(-50),
             allocate_to=[(inv2, "200000")])
    world.do("finance", billing.record_payment, account_id=a["account"], amount="100000", received_on=days(-4),
             allocate_to=[(inv2, "100000")])

    b = signed_contract(world, number="HT-B", signed_on=days(-150),
                        opp_id=make_opportunity(world, name="B", account="Beta Metro"))
    inv3 = world.do("finance", billing.issue_invoice, b["advance"], amount="300000", issued_on=days(-150))
    world.do("finance", billing.record_payment, account_id=b["account"], amount="350000", received_on=days(-130))
    co = world.do("fr", contracts.request_change, b["contract"], number="CO-1", reason="more stations",
                  new_amount="1200000", new_terms=[
                      {"name": "Final acceptance", "amount": "800000", "trigger": "acceptance",
                       "milestone_id": b["m1"]},
                      {"name": "Retention", "amount": "100000", "trigger": "warranty"}])
    world.do("legal", contracts.review_change_legal, co, "approve", rationale="ok")
    world.do("finance", contracts.review_change_finance, co, "approve", rationale="ok")
    world.do("fr", delivery.accept_milestone, b["m1"], kind="final", accepted_on=days(-20))
    final_b = terms_by_name(world, b["contract"])["Final acceptance"]
    inv4 = world.do("finance", billing.issue_invoice, final_b, amount="250000", issued_on=days(-15))
    return {"a": a, "b": b, "inv": [inv1, inv2, inv3, inv4]}


def total(values) -> D:
    return sum((D(v) for v in values), Z)


def test_ageing_as_of_a_day_with_dso_cei_unbilled_and_lag(world, books):
    f = Filters(as_of=A)
    r = world.do("leader", ageing, f)
    # the 100,000 received on day -4 (after A) does not count: Alpha still owes 600,000 − 200,000
    assert r["buckets"] == {"0-30": Z, "31-60": D("400000.00"), "61-90": Z, "91-180": Z, "180+": Z}
    assert r["current"] == D("250000.00")
    assert r["total_outstanding"] == D("650000.00")
    assert total(r["buckets"].values()) + r["current"] == r["total_outstanding"]
    assert [(c["customer"], c["total"], c["overdue"]) for c in r["customers"]] == [
        ("Alpha Grid", D("400000.00"), D("400000.00")), ("Beta Metro", D("250000.00"), Z)]
    assert r["overdue_share"] == D("0.6154")                  # 400,000 ÷ 650,000
    assert r["credit_sales"] == D("1450000.00")               # 300 + 600 + 300 + 250 thousand
    assert r["beginning_receivables"] == Z
    period_days = (A - month_start(A, 11)).days + 1
    assert r["dso"] == (D("650000") / D("1450000") * period_days).quantize(D("0.1"))
    assert r["cei"] == D("0.6667")                            # (0 + 1,450,000 − 650,000) ÷ (0 + 1,450,000 − 250,000)
    # released: Alpha 300,000 + 600,000, Beta 300,000 + 800,000 = 2,000,000; invoiced 1,450,000
    assert r["unbilled"] == D("550000.00")
    assert r["acceptance_to_invoice_days"] == D("7.5")        # (10 days + 5 days) ÷ 2

    # as of today the late payment counts: Alpha owes 300,000
    today = world.do("finance", ageing, Filters(as_of=TODAY))
    assert today["buckets"]["31-60"] == D("300000.00") and today["total_outstanding"] == D("550000.00")


def test_monthly_sums_agree_with_the_records_and_stop_at_as_of(world, books):
    rows = world.do("finance", monthly, Filters(as_of=A))
    assert [r["month"] for r in rows] == Filters(as_of=A).months() and len(rows) == 12
    by = {r["month"]: r for r in rows}
    expected = {"bookings": {}, "accepted": {}, "invoiced": {}, "collected": {}}

    def add(col, day, amount):
        expected[col][key(day)] = expected[col].get(key(day), Z) + D(amount)

    add("bookings", days(-200), "1000000")
    add("bookings", days(-150), "1200000")            # Beta at its amount after the change order
    add("accepted", days(-100), "600000")
    add("accepted", days(-20), "800000")
    for day, amt in [(-190, "300000"), (-90, "600000"), (-150, "300000"), (-15, "250000")]:
        add("invoiced", days(day), amt)
    for day, amt in [(-170, "300000"), (-50, "200000"), (-130, "350000")]:   # day -4 is after A
        add("collected", days(day), amt)
    for col, months in expected.items():
        for m, r in by.items():
            assert r[col] == months.get(m, Z), (col, m)
    assert total(r["collected"] for r in rows) == D("850000.00")      # every payment up to A, overpayment whole
    assert total(r["invoiced"] for r in rows) == D("1450000.00")      # every invoice
    later = world.do("finance", monthly, Filters(as_of=TODAY))
    assert total(r["collected"] for r in later) == D("950000.00")


def test_overdue_customers_and_drill_down_to_their_invoices(world, books):
    f = Filters(as_of=A)
    top = world.do("leader", overdue_customers, f)
    assert [(c["customer"], c["overdue"]) for c in top] == [("Alpha Grid", D("400000.00"))]
    rows = world.do("finance", customer_invoices, f, top[0]["account_id"])
    assert [(r["amount"], r["paid"], r["outstanding"], r["days_overdue"]) for r in rows] == [
        (D("300000.00"), D("300000.00"), Z, 0), (D("600000.00"), D("200000.00"), D("400000.00"), 55)]
    beta = world.do("finance", customer_invoices, f, books["b"]["account"])
    assert [(r["paid"], r["outstanding"]) for r in beta] == [(D("300000.00"), Z), (Z, D("250000.00"))]


def test_filters_keep_to_the_region(world, books):
    def tag(ctx):
        opp = ctx.session.get(Opportunity, books["a"]["opp"])
        opp.region = "East"
        ctx.session.add(opp)
    world.read(tag)
    r = world.do("leader", ageing, Filters(as_of=A, region="East"))
    assert r["total_outstanding"] == D("400000.00") and [c["customer"] for c in r["customers"]] == ["Alpha Grid"]
    rows = world.do("leader", monthly, Filters(as_of=A, region="East"))
    assert total(x["collected"] for x in rows) == D("500000.00")   # Alpha's payments only
    assert world.do("leader", ageing, Filters(as_of=A, account_id=books["b"]["account"]))["total_outstanding"] == \
        D("250000.00")


def test_funnel_and_win_rates(world, books):
    for i, name in enumerate(("One Co", "Two Co", "Three Co")):
        lid = world.do("marketing", leads.capture_lead, company=name, phone=f"1380000000{i}", owner="ar")
    world.do("ar", leads.qualify_lead, lid)
    make_opportunity(world, name="Lost", stage=Stage.LOST, account="Gamma")
    make_opportunity(world, name="Tender", stage=Stage.BIDDING, account="Gamma")
    make_opportunity(world, name="New", stage=Stage.INITIATION, ati=None, estimate=None, account="Gamma")
    f = Filters(as_of=TODAY)
    steps = world.do("leader", funnel, f)
    assert [(s["step"], s["count"], s["conversion"]) for s in steps] == [
        ("lead", 3, None), ("qualified", 1, D("0.3333")), ("opportunity", 5, D("5.0000")),
        ("initiated", 4, D("0.8000")), ("bid", 0, D("0.0000")), ("won", 2, None), ("signed", 2, D("1.0000"))]
    w = world.do("leader", win_rates, f)
    assert (w["won"], w["lost"], w["win_rate_count"]) == (2, 1, D("0.6667"))
    assert w["win_rate_value"] == D("0.6667")                  # 2,000,000 ÷ 3,000,000
    assert w["bid_hit_rate"] is None                           # no bid has a result
    assert w["weighted_pipeline"] == D("500000.00")            # 1,000,000 × 0.40 + 1,000,000 × 0.10


def test_who_may_see_what(world, books):
    f = Filters(as_of=A)
    with pytest.raises(PermissionDenied):
        world.do("finance", funnel, f)
    with pytest.raises(PermissionDenied):
        world.do("ar", ageing, f)
    s = world.do("finance", metrics_summary, f)
    assert "funnel" not in s and s["ageing"]["total_outstanding"] == "650000.00"
    full = world.do("leader", metrics_summary, f)
    assert full["funnel"][0]["step"] == "lead" and full["monthly"][0]["month"] == key(month_start(A, 11))
    assert all(set(v) == {"en", "zh"} for v in DEFINITIONS.values())


def test_cli_prints_the_same_numbers(world, books, capsys):
    import json

    from cli.main import main
    assert main(["metrics", "--as-of", A.isoformat(), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == world.do("leader", metrics_summary, Filters(as_of=A))
    assert out["ageing"]["buckets"]["31-60"] == "400000.00"
    assert main(["metrics", "--as-of", A.isoformat()]) == 0
    text = capsys.readouterr().out
    assert "Receivables 650000.00" in text and "Alpha Grid: overdue 400000.00" in text
    # the text prints the same project figures as the JSON: accuracy 2.25 and 1.375, no costs recorded (0)
    projects = {p["number"]: (p["estimate_accuracy"], p["budget_execution"]) for p in out["projects"]}
    assert projects == {"HT-A": ("2.2500", "0.0000"), "HT-B": ("1.3750", "0.0000")}
    assert "Project (estimate accuracy, budget execution): HT-A 2.2500 0.0000, HT-B 1.3750 0.0000" in text
    assert "Days in stage" in text


def test_docs_carry_the_same_definitions():
    from pathlib import Path

    from core.metrics.docs import render
    assert (Path(__file__).resolve().parents[2] / "docs" / "metrics.md").read_text(encoding="utf-8") == render()


def test_collection_attainment_and_contract_to_cash(world, books):
    c = world.do("finance", collection, Filters(as_of=A))
    # due in the period by A: 300,000 (Alpha, -175), 600,000 (Alpha, -60), 300,000 (Beta, -135);
    # collected on them by A: 300,000 + 200,000 + 300,000 (the 50,000 overpayment is not allocated)
    assert (c["planned"], c["collected"], c["plan_attainment"]) == (
        D("1200000.00"), D("800000.00"), D("0.6667"))
    # first cash: Alpha signed -200, paid -170 (30 days); Beta signed -150, paid -130 (20 days)
    assert (c["contract_to_cash_days"], c["contracts_counted"]) == (D("25.0"), 2)


def test_forecast_places_terms_receivables_and_pipeline_shifted_by_each_customers_delay(world, books):
    # Gamma always pays 20 days late: advance due day -105, paid day -85
    g = signed_contract(world, number="HT-G", signed_on=days(-120),
                        opp_id=make_opportunity(world, name="G", account="Gamma Rail"))
    inv = world.do("finance", billing.issue_invoice, g["advance"], amount="300000", issued_on=days(-120))
    world.do("finance", billing.record_payment, account_id=g["account"], amount="300000", received_on=days(-85),
             allocate_to=[(inv, "300000")])
    # forecast so that day + 30 due days is a month's last day: the 20 days' delay moves the cash a month on
    go_live = month_start(TODAY, -3) - timedelta(days=31)
    world.do("fr", delivery.forecast_milestone, g["m1"], forecast_on=go_live)
    tender = make_opportunity(world, name="Tender", stage=Stage.BIDDING, account="Delta")

    def close(ctx):
        opp = ctx.session.get(Opportunity, tender)
        opp.expected_close = days(45)
        ctx.session.add(opp)
    world.read(close)
    from core.metrics.forecast import payment_delays
    from core.models import Contract
    assert world.read(payment_delays, Filters(as_of=TODAY)) == {
        books["a"]["account"]: 5, books["b"]["account"]: 5, g["account"]: 20}

    rows = world.do("leader", forecast, Filters(as_of=TODAY))
    assert len(rows) == 12 and rows[0]["month"] == key(TODAY)
    expected = {"contracted": {}, "receivables": {}, "pipeline": {}}

    def add(col, day, amount):
        if key(day) in {r["month"] for r in rows}:
            expected[col][key(day)] = expected[col].get(key(day), Z) + D(amount)

    # Gamma's 60% (600,000) on the Go-live forecast day + 30 due days + 20 days late
    gamma_cash = go_live + timedelta(days=50)
    assert key(gamma_cash) != key(go_live + timedelta(days=30))
    add("contracted", gamma_cash, "600000")
    # Beta's final term: 550,000 of 800,000 not invoiced, released day -20 + 30 + 5 = day 15
    add("contracted", days(15), "550000")
    # retentions 100,000 at warranty end + 30 days + the delay (those beyond the 12 months drop out)
    for c, d in ((books["a"]["contract"], 5), (books["b"]["contract"], 5)):
        add("contracted", world.get(Contract, c).warranty_ends_on + timedelta(days=30 + d), "100000")
    add("contracted", add_months(go_live, 12) + timedelta(days=50), "100000")   # Gamma: no acceptance yet
    # open invoices: Alpha 300,000 due -60 (+5, overdue: this month); Beta 250,000 due +15 (+5)
    add("receivables", TODAY, "300000")
    add("receivables", days(20), "250000")
    add("pipeline", days(45), "400000")                    # 1,000,000 × 0.40 (bidding)
    for r in rows:
        for col, months in expected.items():
            assert r[col] == months.get(r["month"], Z), (col, r["month"])
        assert r["total"] == r["contracted"] + r["receivables"] + r["pipeline"]
    assert total(r["receivables"] for r in rows) == D("550000.00")   # every open receivable as of today


def test_projects_four_calculations_as_of(world, books):
    from core.calculations import four_calculations
    world.do("fr", delivery.record_cost, books["a"]["contract"], spent_on=days(-50), category="labour",
             amount="300000")
    world.do("fr", delivery.record_cost, books["a"]["contract"], spent_on=days(-2), category="labour",
             amount="50000")                                  # after A: not counted
    rows = {r["number"]: r for r in world.do("leader", projects, Filters(as_of=A))}
    alpha = rows["HT-A"]
    assert alpha["estimate"] == {"revenue": D("1000000.00"), "cost": D("600000.00"), "margin": D("400000.00"),
                                 "margin_rate": D("0.4000")}
    # invoiced by A: 300,000 + 600,000; cost by A: 300,000
    assert alpha["actual"] == {"revenue": D("900000.00"), "cost": D("300000.00"), "margin": D("600000.00"),
                               "margin_rate": D("0.6667")}
    assert alpha["final"] is None
    assert alpha["estimate_accuracy"] == D("1.5000")            # 600,000 ÷ 400,000
    assert alpha["budget_execution"] == D("0.5000")             # 300,000 ÷ 600,000
    # as of today they are core.calculations' figures exactly
    for r in world.do("leader", projects, Filters(as_of=TODAY)):
        number = r["number"]
        calc = world.read(lambda ctx: four_calculations(ctx.session, r["contract_id"]))
        assert {k: r[k] for k in ("estimate", "budget", "actual", "final")} == calc, number


def test_stages_durations_gate_waits_holds_and_stuck(world):
    from datetime import datetime, time, timezone

    from core.enums import Decision, GateKind
    from core.models import Account, GateDecision, StageChange

    def at(n):
        return datetime.combine(days(n), time(12), tzinfo=timezone.utc)

    ar = world.users["ar"].id

    def build(ctx):
        acc = Account(name="Omega", name_norm="omega")
        ctx.session.add(acc)
        ctx.session.flush()
        opps = {}
        for name, stage, created, since, review in (("X", Stage.BIDDING, -40, -10, None),
                                                    ("Y", Stage.LOST, -20, -5, None),
                                                    ("Z", Stage.ON_HOLD, -30, -12, days(-2))):
            o = Opportunity(name=name, account_id=acc.id, amount=D("500000"), stage=stage, created_at=at(created),
                            stage_since=at(since), ar_id=ar, hold_review_on=review)
            ctx.session.add(o)
            ctx.session.flush()
            o.created_at = at(created)          # set again after the insert, which stamps it
            ctx.session.flush()
            opps[name] = o.id
        for name, frm, to, n in (("X", "initiation", "guidance", -30), ("X", "guidance", "bidding", -10),
                                 ("Y", "initiation", "guidance", -15), ("Y", "guidance", "lost", -5)):
            ctx.session.add(StageChange(entity="opportunity", entity_id=opps[name], from_stage=frm, to_stage=to,
                                        at=at(n)))
        for name, kind, req, dec, decision in (("X", GateKind.ATI, -40, -30, Decision.GO),
                                               ("Y", GateKind.ATI, -20, -15, Decision.GO),
                                               ("X", GateKind.ATB, -3, None, Decision.PENDING)):
            ctx.session.add(GateDecision(kind=kind, subject_type="opportunity", subject_id=opps[name],
                                         decision=decision, requested_at=at(req),
                                         decided_at=at(dec) if dec is not None else None))
        return opps
    opps = world.read(build)
    s = world.do("leader", stages, Filters(as_of=TODAY))
    # initiation: X 10 days (created -40 to -30), Y 5; guidance: X 20, Y 10; bidding: X 10 so far
    assert [(d["stage"], d["count"], d["median"], d["worst"]) for d in s["durations"]] == [
        ("initiation", 2, D("7.5"), 10), ("guidance", 2, D("15.0"), 20), ("bidding", 1, D("10.0"), 10)]
    assert [(g["kind"], g["count"], g["median"], g["worst"], g["pending"]) for g in s["gates"]] == [
        ("atb", 0, None, None, 1), ("ati", 2, D("7.5"), 10, 0)]
    name = world.users["ar"].name
    assert [(h["opportunity_id"], h["days_past"], h["owner"]) for h in s["holds_past_review"]] == [
        (opps["Z"], 2, name)]
    assert [(r["opportunity_id"], r["stage"], r["days"], r["owner"]) for r in s["stuck"]] == [
        (opps["Z"], "on_hold", 12, name), (opps["X"], "bidding", 10, name)]
    with pytest.raises(PermissionDenied):
        world.do("finance", stages, Filters(as_of=TODAY))

    # win rates by the stage each opportunity was in on the day: on day -8 X was bidding (since -10) and
    # Y still in guidance (lost on day -5)
    then = world.do("leader", win_rates, Filters(as_of=days(-8)))
    assert (then["won"], then["lost"], then["win_rate_count"]) == (0, 0, None)
    # 500,000 × 0.40 (X) + 500,000 × 0.25 (Y) + 500,000 × 0.05 (Z, on hold, no history: its stage now)
    assert then["weighted_pipeline"] == D("350000.00")
    now = world.do("leader", win_rates, Filters(as_of=TODAY))
    assert (now["won"], now["lost"], now["win_rate_count"]) == (0, 1, D("0.0000"))
    assert now["weighted_pipeline"] == D("225000.00")     # X bidding 500,000 × 0.40 + Z 25,000


def test_cei_and_dso_over_an_explicit_period_with_receivables_at_its_start(world, books):
    f = Filters(as_of=A, period_start=days(-55), period_end=TODAY)   # ends at A all the same
    assert (f.end, f.days) == (A, 51)
    r = world.do("leader", ageing, f)
    # on day -56 Alpha owed the whole 600,000 (its first part-payment came on day -50)
    assert r["beginning_receivables"] == D("600000.00")
    assert r["credit_sales"] == D("250000.00")                # only Beta's day -15 invoice is in the period
    assert r["dso"] == D("132.6")                             # 650,000 ÷ 250,000 × 51
    assert r["cei"] == D("0.3333")                            # (600,000 + 250,000 − 650,000) ÷ (850,000 − 250,000)
    assert r["acceptance_to_invoice_days"] == D("5.0")        # only Beta's invoice is in the period
    months = world.do("leader", monthly, f)
    assert (months[0]["month"], months[-1]["month"]) == (key(days(-55)), key(A))
    assert total(m["collected"] for m in months) == D("200000.00")   # day -50 only; day -4 is after A
    c = world.do("leader", collection, f)
    assert (c["planned"], c["plan_attainment"], c["contract_to_cash_days"]) == (Z, None, None)
