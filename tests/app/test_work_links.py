"""My work (issue 10): every link goes to its record's page with the record's kind as the parameter, and that page
opens the record selected; numbers, dates and people read as people read them; the full table is translated."""
from __future__ import annotations

import json
from urllib.parse import parse_qs

from sqlmodel import select

from app.records import PAGES
from core.context import SYSTEM, unit_of_work
from core.models import Milestone, User
from core.services import contracts
from tests.app import test_delivery as base
from tests.app.test_work import links

deal = base.deal   # the signed test deal (a fixture)

PAGE = "screens/work.py"


def page_name(path: str) -> str:
    return path.split("/")[-1].removesuffix(".py")


def test_every_link_names_a_record_kind_and_goes_to_that_kinds_page(page):
    for login in ("leader", "finance", "fr", "ar", "legal"):
        at = page(login, PAGE)
        shown = links(at)
        assert shown, login
        for label, name, query in shown:
            params = parse_qs(query)
            params.pop("tab", None)          # the record's tab (a contract's ATC, a change order's Changes)
            assert len(params) == 1, (label, query)
            kind, (value,) = next(iter(params.items()))
            assert kind in PAGES and page_name(PAGES[kind]) == name, (label, name, query)
            assert int(value) > 0


def test_a_change_order_links_to_its_contract(page, demo_url, deal):
    w = deal["world"]
    w.do("ar", contracts.request_change, deal["contract"], number="CO-WORK-1", reason="more sites",
         new_amount="1000000", new_scope="more sites")
    at = page("legal", PAGE)
    mine = [link for link in links(at) if "CO-WORK-1" in link[0]]
    assert len(mine) == 1
    assert mine[0][1:] == ("bids_contracts", f"contract={deal['contract']}&tab=changes")


def test_decisions_name_the_requester_by_name_not_login(page, demo_url):
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        names = dict(ctx.session.exec(select(User.login, User.name)).all())
    at = page("leader", PAGE)
    ati = [label for label, _, _ in links(at) if label.startswith("ATI:")]
    assert ati
    assert all(label.rstrip().endswith(tuple(names[x] for x in ("ar", "ar2"))) for label in ati), ati


def test_a_milestone_link_opens_the_milestone_selected_on_the_delivery_page(page, demo_url):
    at = page("fr", PAGE)
    (label, name, query), = [link for link in links(at) if link[1] == "delivery"]
    mid = int(parse_qs(query)["milestone"][0])
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        ms = ctx.session.get(Milestone, mid)
        cid = ms.contract_id
    at.query_params["milestone"] = str(mid)
    at.switch_page("screens/delivery.py").run()
    assert not at.exception
    assert at.selectbox(key="delivery-contract").value == cid
    assert at.selectbox(key="delivery-milestone").value == mid


def test_the_full_table_of_a_long_list_reads_as_people_read_it(page, demo_url, deal):
    from core.enums import Decision, Stage
    from tests.integration.money_fixtures import make_opportunity

    w = deal["world"]
    for i in range(26):
        make_opportunity(w, name=f"Wait {i}", stage=Stage.INITIATION, ati=Decision.PENDING)
    at = page("leader", PAGE, lang="zh")
    table = next(d for d in at.dataframe if "Kind" in d.value.columns)
    assert set(table.value["Kind"]) == {"立项决策", "签约评审"}     # the kinds translated, not 'ati' or 'atc'
    assert not [c for c in table.value.columns if c.endswith("_id") or c in ("ID", "gate_id", "subject_type")]
    labels = {c: v.get("label") for c, v in json.loads(table.proto.columns).items()}
    assert labels["Requested by"] == "提交人" and labels["Kind"] == "类型"
    assert "ati" not in " ".join(str(v) for v in table.value.to_numpy().ravel())
