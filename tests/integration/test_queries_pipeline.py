"""Queries of the initiation board (core/queries/pipeline.py): columns by stage with counts, totals, card limits,
filters, days in stage, holds past review, pending ATI; one opportunity in full; who may read them."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import update

from core import clock
from core.errors import PermissionDenied
from core.models import Opportunity
from core.queries import pipeline
from core.services import opportunities as opps
from core.services import users

TODAY = clock.today()


def new_opp(world, name, *, who="ar", amount="100000", region="East", industry="Energy"):
    return world.do(who, opps.create_opportunity, name=name, account_name=f"{name} Ltd", amount=amount,
                    region=region, industry=industry)


def ready(world, oid):
    world.do("ar", opps.set_team, oid, ar_login="ar", sr_login="sr", fr_login="fr")
    world.do("sr", opps.set_estimate, oid, revenue="1,000,000", cost="600,000")


def set_columns(world, oid, **values):
    world.read(lambda ctx: ctx.session.execute(update(Opportunity).where(Opportunity.id == oid).values(**values)))


def test_board_counts_totals_and_orders_each_column(world):
    a = new_opp(world, "Alpha", amount="100000")
    b = new_opp(world, "Beta", amount="250000.50")
    c = new_opp(world, "Gamma", amount="300000")
    set_columns(world, b, stage_since=datetime.now(timezone.utc) - timedelta(days=9))   # longest in stage
    ready(world, c)
    world.do("ar", opps.request_ati, c)
    world.do("leader", opps.decide_ati, c, "go", rationale="fits")
    board = world.read(pipeline.board)
    assert list(board) == ["initiation", "guidance", "bidding", "negotiation", "on_hold"]
    init = board["initiation"]
    assert (init["count"], init["amount"], init["more"]) == (2, Decimal("350000.50"), 0)
    assert [card["id"] for card in init["cards"]] == [b, a]
    assert [card["days_in_stage"] for card in init["cards"]] == [9, 0]
    assert init["cards"][0]["customer"] == "Beta Ltd" and init["cards"][0]["ar"] == "AR user"
    assert board["guidance"]["count"] == 1 and board["guidance"]["cards"][0]["id"] == c
    assert board["bidding"] == {"count": 0, "amount": 0, "cards": [], "more": 0}


def test_a_column_shows_at_most_limit_cards_and_counts_the_rest(world):
    for i in range(5):
        new_opp(world, f"Deal {i}")
    init = world.read(pipeline.board, limit=3)["initiation"]
    assert (init["count"], len(init["cards"]), init["more"]) == (5, 3, 2)


def test_holds_past_their_review_date_are_flagged_and_ati_pending_shown(world):
    late, later, asked = (new_opp(world, n) for n in ("Late", "Later", "Asked"))
    for oid in (late, later, asked):
        ready(world, oid)
        world.do("ar", opps.request_ati, oid)
    for oid in (late, later):
        world.do("leader", opps.decide_ati, oid, "hold", rationale="budget", review_date=TODAY + timedelta(days=20))
    set_columns(world, late, hold_review_on=TODAY - timedelta(days=2))   # the review date came and went
    board = world.read(pipeline.board)
    holds = {card["id"]: card for card in board["on_hold"]["cards"]}
    assert [card["id"] for card in board["on_hold"]["cards"]] == [late, later]   # earliest review first
    assert holds[late]["hold_overdue"] and not holds[later]["hold_overdue"]
    assert holds[later]["hold_review_on"] == TODAY + timedelta(days=20)
    assert [(card["id"], card["ati_pending"]) for card in board["initiation"]["cards"]] == [(asked, True)]
    table = world.read(pipeline.holds)
    assert list(table["ID"]) == [late, later] and list(table["Overdue"]) == [True, False]


def test_filters_by_ar_region_and_industry(world):
    mine = new_opp(world, "Mine", who="ar", region="East", industry="Energy")
    theirs = new_opp(world, "Theirs", who="ar2", region="West", industry="Retail")
    ids = lambda **f: {c["id"] for col in world.read(pipeline.board, **f).values() for c in col["cards"]}  # noqa: E731
    assert ids() == {mine, theirs}
    assert ids(ar_login="ar2") == {theirs}
    assert ids(region="East") == {mine}
    assert ids(industry="Retail", region="East") == set()
    assert [o["id"] for o in world.read(pipeline.opportunity_options, ar_login="ar")] == [mine]
    opts = world.read(pipeline.filter_options)
    assert opts["regions"] == ["East", "West"] and opts["industries"] == ["Energy", "Retail"]
    assert [a["login"] for a in opts["ars"]] == ["ar", "ar2"]


def test_closed_opportunities_leave_the_board(world):
    oid = new_opp(world, "Gone")
    ready(world, oid)
    world.do("ar", opps.request_ati, oid)
    world.do("leader", opps.decide_ati, oid, "kill", rationale="not our business")
    assert all(col["count"] == 0 for col in world.read(pipeline.board).values())
    assert world.read(pipeline.opportunity_options) == []


def test_detail_of_one_opportunity(world):
    oid = new_opp(world, "Detail", amount="500000")
    ready(world, oid)
    world.do("ar", opps.set_guidance, oid, pain_points="slow month-end", value_proposition="two days")
    sid = world.do("ar", opps.add_stakeholder, oid, name="Liu", title="CIO", chain_role="decision maker",
                   stance="supporter")
    before = world.read(pipeline.opportunity_detail, oid)
    assert before["ati_missing"] == [] and not before["ati_pending"]
    world.do("ar", opps.request_ati, oid)
    d = world.read(pipeline.opportunity_detail, oid)
    assert (d["name"], d["customer"], d["amount"], d["stage"]) == ("Detail", "Detail Ltd", Decimal("500000.00"),
                                                                   "initiation")
    assert d["team"] == {"ar": "ar", "sr": "sr", "fr": "fr"}
    assert d["version"] == world.get(Opportunity, oid).version
    assert d["stakeholders"].to_dict("records") == [
        {"ID": sid, "Name": "Liu", "Title": "CIO", "Chain role": "decision maker", "Stance": "supporter",
         "Version": 1}]
    assert d["estimate"]["margin"] == Decimal("400000.00") and d["estimate"]["margin_rate"] == Decimal("0.4000")
    assert d["ati_pending"] and d["ati_missing"] == ["an ATI request is already pending"]
    assert list(d["ati"]["Decision"]) == ["pending"] and list(d["ati"]["Requested by"]) == ["AR user"]
    assert d["stage_history"].empty   # created in initiation: no move yet

    world.do("leader", opps.decide_ati, oid, "hold", rationale="wait", review_date=TODAY + timedelta(days=5))
    d = world.read(pipeline.opportunity_detail, oid)
    assert (d["stage"], d["hold_review_on"], d["hold_overdue"]) == ("on_hold", TODAY + timedelta(days=5), False)
    assert list(d["ati"]["Decision"]) == ["hold"] and list(d["ati"]["Decided by"]) == ["LEADER user"]
    assert list(zip(d["stage_history"]["From"], d["stage_history"]["To"], d["stage_history"]["By"])) == [
        ("initiation", "on_hold", "LEADER user")]


def test_missing_prerequisites_are_listed(world):
    oid = new_opp(world, "Bare")
    d = world.read(pipeline.opportunity_detail, oid)
    assert d["ati_missing"] == ["iron triangle incomplete (no SR, FR)", "no estimate (概算)"]
    assert d["estimate"] is None and d["stakeholders"].empty


def test_team_candidates_are_active_holders_of_each_role(world):
    world.do("admin", users.update_user, world.users["ar2"].id, active=False)
    team = world.read(pipeline.team_candidates)
    assert [p["login"] for p in team["ar"]] == ["ar"]
    assert [p["login"] for p in team["sr"]] == ["sr"] and [p["login"] for p in team["fr"]] == ["fr"]


@pytest.mark.parametrize("role", ["legal", "finance", "marketing", "admin"])
def test_roles_without_opportunity_view_cannot_read(world, role):
    oid = new_opp(world, "Secret")
    for fn, args in ((pipeline.board, ()), (pipeline.opportunity_detail, (oid,)), (pipeline.holds, ()),
                     (pipeline.filter_options, ()), (pipeline.team_candidates, ())):
        with pytest.raises(PermissionDenied):
            world.do(role, fn, *args)
