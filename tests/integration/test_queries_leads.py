"""Lead triage queries: filters, the row limit with the true total, possible duplicates, one lead's detail."""

import pytest

from core import clock
from core.enums import LeadStatus
from core.errors import PermissionDenied
from core.models import Lead
from core.queries.leads import COLUMNS, NO_OWNER, lead_detail, lead_inbox, lead_options
from core.services import leads
from core.services.delivery import add_months


def capture(world, who="marketing", **kw):
    fields = dict(contact="Li Na", source="website", region="North", industry="Retail")
    fields.update(kw)
    return world.do(who, lambda ctx: leads.capture_lead(ctx, **fields))


def inbox(world, who="marketing", **kw):
    # through a lambda: World.do takes its own `source=` (the audit source), not the filter
    return world.do(who, lambda ctx: lead_inbox(ctx, **kw))


def shown(world, who="marketing", **kw) -> list[int]:
    return list(inbox(world, who, **kw)["leads"]["ID"])


@pytest.fixture
def three(world):
    """A hot lead owned by ar (East rule), a cold one owned by ar2 (Energy rule), an unowned one."""
    hot = capture(world, company="Hot Grid Co", phone="13800000001", region="East", budget="2000000",
                  authority="decision_maker", need="urgent", timeline_months=2, source="referral")
    cold = capture(world, company="Cold Oil Co", email="buyer@coldoil.cn", region="West", industry="Energy")
    loose = capture(world, company="Loose Ends Ltd", phone="13800000003", region="South", owner="ar")

    def unown(ctx):
        lead = ctx.session.get(Lead, loose)
        lead.owner_id, lead.status = None, LeadStatus.NEW
        ctx.session.add(lead)
    world.read(unown)
    return hot, cold, loose


def test_default_is_the_open_leads_hottest_first(world, three):
    hot, cold, loose = three
    world.do("ar2", leads.disqualify_lead, cold, "no budget")
    assert shown(world) == [hot, loose]
    assert set(shown(world, statuses=[])) == {hot, cold, loose}
    assert shown(world, statuses=["disqualified"]) == [cold]
    df = inbox(world)["leads"]
    assert list(df.columns) == list(COLUMNS)
    row = df[df["ID"] == hot].iloc[0]
    assert (row["grade"], row["owner"], row["budget"], row["source"]) == ("hot", "ar", "2000000.00", "referral")
    assert row["Version"] == 1 and row["score"] == 100


def test_filters(world, three):
    hot, cold, loose = three
    assert shown(world, owner="ar") == [hot]
    assert shown(world, owner="ar2") == [cold]
    assert shown(world, owner=NO_OWNER) == [loose]
    assert shown(world, owner="nobody") == []
    assert shown(world, grade="hot") == [hot]
    assert shown(world, source="referral") == [hot]
    assert shown(world, region="West") == [cold]
    assert shown(world, search="coldoil") == [cold]      # e-mail
    assert shown(world, search="loose") == [loose]       # company, any case
    assert shown(world, search="0000001") == [hot]       # phone


def test_the_list_is_limited_but_the_total_is_true(world):
    for i in range(5):
        capture(world, company=f"Limit Co {i}", phone=f"1380000010{i}", budget=str(100000 * (i + 1)))
    result = inbox(world, limit=2)
    assert len(result["leads"]) == 2 and result["total"] == 5
    assert list(result["leads"]["company"]) == ["Limit Co 4", "Limit Co 3"]   # the biggest budgets score highest


def test_possible_duplicates_by_the_capture_rule(world):
    a = capture(world, company="Acme Co., Ltd.", phone="13800138000", email="li@acme.cn")
    b = capture(world, company="ACME CO LTD", phone="138-0013-8000", allow_duplicate=True)   # same phone
    c = capture(world, company="Acme Co", email="LI@acme.cn", allow_duplicate=True)          # same e-mail
    other = capture(world, company="Acme Co", phone="13900000000")                            # other contact
    dups = dict(zip(*inbox(world)["leads"][["ID", "duplicates"]].T.values))
    assert dups[a] == f"{b}, {c}" and dups[b] == f"{a}" and dups[c] == f"{a}" and dups[other] == ""
    world.do("marketing", leads.merge_leads, a, b)
    dups = dict(zip(*inbox(world, statuses=[])["leads"][["ID", "duplicates"]].T.values))
    assert dups[a] == f"{c}" and dups[b] == ""   # a merged lead is no one's duplicate, and has none


def test_lead_detail_with_duplicates_and_what_conversion_proposes(world):
    a = capture(world, company="Acme Co., Ltd.", phone="13800138000", budget="450000", timeline_months=4,
                owner="ar")
    b = capture(world, who="ar", company="Acme Co", phone="13800138000", contact="Wang", allow_duplicate=True)
    d = world.do("leader", lead_detail, a)   # the leader may not merge, but sees the duplicates
    assert [(x["ID"], x["contact"]) for x in d["duplicates"]] == [(b, "Wang")]
    today = clock.today()
    assert d["suggested"] == {"name": "Acme Co., Ltd.", "amount": world.get(Lead, a).budget,
                              "expected_close": add_months(today, 4)}
    assert d["version"] == 1 and d["status"] == "assigned"
    assert world.do("ar", lead_detail, b)["duplicates"][0]["ID"] == a
    no_timeline = capture(world, company="Plain Co", phone="13700000000")
    assert world.do("marketing", lead_detail, no_timeline)["suggested"]["expected_close"] is None


def test_options(world):
    capture(world, company="Region Co", phone="13600000000", region="Central")
    opts = world.do("ar", lead_options)
    assert list(opts["owners"]) == ["ar", "ar2"] and opts["owners"]["ar2"] == "AR two"
    assert "website" in opts["sources"] and opts["regions"] == ["Central"]
    assert opts["open_statuses"] == ["new", "assigned", "qualified"]


@pytest.mark.parametrize("who", ["admin", "sr", "fr", "legal", "finance"])
def test_only_marketing_ar_and_leaders_read_leads(world, who):
    with pytest.raises(PermissionDenied):
        world.do(who, lead_inbox)
    with pytest.raises(PermissionDenied):
        world.do(who, lead_options)
