"""Issue 10 defects on Bids and contracts: links from My work open the record (3), the open tab stays open after
a save with its message at the form (4), pickers preselect nothing (9); and the actions shown are core's offers."""
from __future__ import annotations

import re

from datetime import timedelta

from sqlmodel import select
from streamlit.testing.v1.element_tree import Tab

from core.enums import BidStatus, ChangeStatus, ContractStatus
from core.models import Bid, Contract
from core.services import bids, contracts
from tests.app.test_bids_contracts import (PAGE, TODAY, act, atc_pending, draft, guidance_opps, keys, new_bid, read,
                                           signed_with_open_terms, w)


def visit(page, login: str, lang: str = "en", **address):
    """Open the page the way a link does: `<page>?<kind>=<id>`."""
    at = page(login, lang=lang)
    for kind, value in address.items():
        at.query_params[kind] = str(value)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def blocks(node):
    for child in getattr(node, "children", {}).values():
        yield child
        yield from blocks(child)


def open_tab(at, label: str) -> str:
    """The label of the tab shown open in the tab bar that has a tab `label`."""
    for node in blocks(at.main):
        tabs = list(getattr(node, "children", {}).values())
        if tabs and all(isinstance(t, Tab) for t in tabs):
            labels = [t.label for t in tabs]
            if label in labels:
                return labels[node.proto.tab_container.default_tab_index]
    raise AssertionError(f"no tabs with {label!r}")


def tab_messages(at, label: str) -> list[str]:
    tab = next(t for t in blocks(at.main) if isinstance(t, Tab) and t.label == label)
    return [m.value for m in tab.success]


def top_messages(at) -> list[str]:
    return [m.value for m in at.main.children.values() if getattr(m, "type", None) == "alert"]


# -- 3: links open the record, in its tab -------------------------------------------------------------

def test_a_bid_link_opens_the_bid_on_the_bids_tab(page, demo_url):
    bid_id = new_bid(demo_url, guidance_opps(demo_url)[0], title="Linked tender")
    at = visit(page, "sr", bid=bid_id)
    assert at.selectbox(key="bc-bid").value == bid_id
    assert open_tab(at, "Bids") == "Bids"
    assert "Draft" in [m.value for m in at.metric]   # the bid's details are shown
    assert w(at, "button", f"bc-atb-request-{bid_id}", "submit")   # with what core offers on it now


def test_a_link_to_a_closed_bid_opens_it_too(page, demo_url):
    """Bids no longer open are not in the default list; their link still opens them."""
    lost = read(demo_url, lambda ctx: ctx.session.exec(select(Bid.id).where(
        Bid.status.in_([BidStatus.WON, BidStatus.LOST])).order_by(Bid.id)).first())
    assert lost is not None
    at = visit(page, "leader", bid=lost)
    assert at.selectbox(key="bc-bid").value == lost
    assert not [x for x in at.warning if "cannot be opened" in x.value or "not found" in x.value]


def test_a_contract_link_opens_the_contract_on_the_contracts_tab(page, demo_url):
    cid = signed_with_open_terms(demo_url)
    number = read(demo_url, lambda ctx: ctx.session.get(Contract, cid).number)
    at = visit(page, "ar", contract=cid)
    assert at.selectbox(key="bc-contract").value == cid
    assert open_tab(at, "Bids") == "Contracts"
    assert any(number in h.value for h in at.subheader)


def test_a_change_order_link_opens_its_contract_on_the_changes_tab(page, demo_url):
    cid = signed_with_open_terms(demo_url)
    amount = read(demo_url, lambda ctx: ctx.session.get(Contract, cid).amount)
    change = act(demo_url, "ar", contracts.request_change, cid, number="CO-LINK-1", reason="Second site",
                 new_amount=amount)
    at = visit(page, "legal", change_order=change)
    assert at.selectbox(key="bc-contract").value == cid
    assert open_tab(at, "Bids") == "Contracts" and open_tab(at, "Payment terms") == "Change orders"
    assert "CO-LINK-1" in " ".join(i.value for i in at.info)
    assert w(at, "button", f"bc-change-legal-{change}", "submit")   # legal's review, right there
    assert dict(at.query_params) == {"contract": str(cid), "tab": "changes"}   # the address: contract and tab


def test_a_link_to_nothing_says_so(page, demo_url):
    at = visit(page, "ar", contract=999999)
    assert at.selectbox(key="bc-contract").value is None
    assert any("999999" in x.value for x in at.warning)


# -- 4: the open tab stays open after a save; the message is at the form -------------------------------

def test_drafting_a_contract_stays_on_contracts_with_the_message_at_the_form(page, demo_url):
    opp_id = guidance_opps(demo_url)[0]
    at = page("ar", PAGE)
    at.session_state["bc-tab"] = "Contracts"   # the person opens the Contracts tab
    at.run()
    w(at, "selectbox", "bc-draft", "opp").set_value(opp_id)
    w(at, "text_input", "bc-draft", "number").input("HT-TAB-0001")
    w(at, "text_input", "bc-draft", "name").input("Data platform")
    w(at, "text_input", "bc-draft", "amount").input("1,000,000")
    w(at, "button", "bc-draft", "submit").click().run()
    assert not at.exception and not at.error
    assert open_tab(at, "Bids") == "Contracts"
    done = "Contract HT-TAB-0001 drafted."
    assert done in tab_messages(at, "Contracts") and done not in top_messages(at)
    cid = read(demo_url, lambda ctx: ctx.session.exec(select(Contract.id).where(
        Contract.number == "HT-TAB-0001")).one())
    assert at.selectbox(key="bc-contract").value == cid
    assert w(at, "text_input", "bc-draft", "number").value == ""   # the form is empty again


def test_a_review_keeps_the_atc_tab_open(page, demo_url):
    cid = atc_pending(demo_url, guidance_opps(demo_url)[0])
    at = visit(page, "legal", contract=cid)
    at.session_state["bc-ctab"] = "ATC and signing"   # the person opens the contract's ATC tab
    at.run()
    w(at, "text_area", f"bc-atc-legal-{cid}", "rationale").input("Liability capped")
    w(at, "button", f"bc-atc-legal-{cid}", "submit").click().run()
    assert not at.error
    assert (open_tab(at, "Bids"), open_tab(at, "Payment terms")) == ("Contracts", "ATC and signing")
    assert "Decision recorded: Approved." in tab_messages(at, "ATC and signing")


# -- 9: pickers preselect nothing --------------------------------------------------------------------

def test_no_picker_preselects_a_record(page, demo_url):
    new_bid(demo_url, guidance_opps(demo_url)[0])
    at = page("ar", PAGE)
    assert w(at, "selectbox", "bc-bid-new", "opp").value is None
    assert w(at, "selectbox", "bc-draft", "opp").value is None
    assert at.selectbox(key="bc-bid").value is None and at.selectbox(key="bc-contract").value is None


def test_a_new_bid_without_an_opportunity_is_refused_at_the_form(page, demo_url):
    before = read(demo_url, lambda ctx: len(ctx.session.exec(select(Bid.id)).all()))
    at = page("sr", PAGE)
    w(at, "text_input", "bc-bid-new", "title").input("No opportunity chosen")
    w(at, "date_input", "bc-bid-new", "deadline").set_value(TODAY + timedelta(days=9))
    w(at, "button", "bc-bid-new", "submit").click().run()
    assert ["Opportunity: choose one first."] == [e.value for e in at.error]
    assert read(demo_url, lambda ctx: len(ctx.session.exec(select(Bid.id)).all())) == before


# -- actions from core's offers ----------------------------------------------------------------------

def test_refused_actions_are_disabled_with_cores_reason(page, demo_url):
    cid = draft(demo_url, guidance_opps(demo_url)[0], number="HT-OFFER-1")
    at = visit(page, "ar", contract=cid)
    request = at.button(key=f"bc-atc-request-{cid}")
    assert request.disabled and "add up to 0.00, not the contract amount" in request.help
    sign = at.button(key=f"bc-sign-{cid}-refused")
    assert sign.disabled and "cannot be signed before ATC is requested" in sign.help
    assert not [k for k in keys(at) if k.startswith(f"bc-atc-legal-{cid}")]   # not ar's to review


def test_a_bid_shows_only_the_action_its_status_allows(page, demo_url):
    bid_id = new_bid(demo_url, guidance_opps(demo_url)[0])
    act(demo_url, "sr", bids.request_atb, bid_id, proposed_price="1000000", proposed_floor="850000")
    at = visit(page, "sr", bid=bid_id)
    assert at.button(key=f"bc-atb-request-{bid_id}-refused").disabled   # already pending: wait for the leader
    assert "already has an ATB request pending" in at.button(key=f"bc-atb-request-{bid_id}-refused").help
    assert at.button(key=f"bc-submit-{bid_id}-refused").disabled
    assert not [k for k in keys(at) if k.startswith(f"bc-atb-decide-{bid_id}")]   # the leader's decision


def test_the_page_decides_nothing_from_status_strings_or_roles():
    from pathlib import Path
    import re

    from core.enums import Role
    root = Path(__file__).resolve().parents[2] / "app"
    files = [root / "screens" / "bids_contracts.py", *sorted((root / "views").glob("bids_*.py")),
             *sorted((root / "views").glob("contracts_*.py"))]
    codes = {s.value for s in (*BidStatus, *ContractStatus, *ChangeStatus)} | {r.value for r in Role}
    for path in files:
        source = path.read_text(encoding="utf-8")
        found = {c for c in codes if re.search(rf"""(?<!\[)["']{c}["'](?!\])""", source)}   # not a dict key
        assert not found, f"{path.name} decides from {sorted(found)}"
        assert "EDITABLE_CONTRACT" not in source and ".status ==" not in source and '["status"] ==' not in source
        assert len(source.splitlines()) <= 250, path.name


def test_a_clicked_row_opens_its_contract(page, demo_url):
    at = page("leader", PAGE)
    first = int(at.dataframe(key="bc-contracts").value.iloc[0]["ID"])
    at.session_state["bc-contracts"] = {"selection": {"rows": [0], "columns": [], "cells": []}}   # a row click
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="bc-contract").value == first
    assert at.query_params["contract"] == [str(first)] or at.query_params["contract"] == str(first)


def test_in_chinese_statuses_decisions_and_triggers_are_words(page, demo_url):
    cid = signed_with_open_terms(demo_url)
    bid = read(demo_url, lambda ctx: ctx.session.exec(select(Bid.id).order_by(Bid.id)).first())
    at = visit(page, "leader", lang="zh", contract=cid, bid=bid)
    codes = {s.value for s in (*BidStatus, *ContractStatus, *ChangeStatus)} | {
        "approve", "reject", "pending", "not requested", "signing", "acceptance", "warranty", "legal", "finance"}
    assert not [m.value for m in at.metric if m.value in codes]
    for df in at.dataframe:
        for col in ("Status", "Trigger", "Decision", "Reviewer", "Legal", "Finance"):
            if col in df.value.columns:
                assert not set(df.value[col].dropna()) & codes, (col, set(df.value[col]))
    assert "None" not in [m.value for m in at.metric]


def test_a_date_in_any_year_reaches_core_and_is_refused_by_name(page, demo_url):
    from datetime import date
    opp_id = guidance_opps(demo_url)[0]
    before = read(demo_url, lambda ctx: len(ctx.session.exec(select(Bid.id)).all()))
    at = page("sr", PAGE)
    w(at, "selectbox", "bc-bid-new", "opp").set_value(opp_id)
    w(at, "text_input", "bc-bid-new", "title").input("Old tender")
    w(at, "date_input", "bc-bid-new", "deadline").set_value(date(2001, 1, 1))
    w(at, "button", "bc-bid-new", "submit").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [f"Deadline: 2001-01-01 has already passed (today is {TODAY:%Y-%m-%d})"]
    assert read(demo_url, lambda ctx: len(ctx.session.exec(select(Bid.id)).all())) == before
    assert w(at, "text_input", "bc-bid-new", "title").value == "Old tender"   # refused: what was typed stays


def test_a_clicked_bid_row_opens_the_bid_for_those_who_edit_bids_too(page, demo_url):
    at = page("sr", PAGE)
    first = int(at.dataframe(key="bc-bids-view").value.iloc[0]["ID"])
    at.session_state["bc-bids-view"] = {"selection": {"rows": [0], "columns": [], "cells": []}}   # a row click
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="bc-bid").value == first and at.query_params["bid"] in (str(first), [str(first)])
    # "Show all bids" lists other bids: the row chosen before does not open whatever bid now sits there
    at.toggle(key="bc-bids-all").set_value(True).run()
    assert not at.exception, at.exception
    assert int(at.dataframe(key="bc-bids-view").value.iloc[0]["ID"]) != first    # the list did change
    assert at.selectbox(key="bc-bid").value == first and at.query_params["bid"] in (str(first), [str(first)])


def test_a_passed_deadline_is_not_shown_as_negative_days_left(page, demo_url):
    bid_id = read(demo_url, lambda ctx: ctx.session.exec(select(Bid.id).where(
        Bid.status == BidStatus.APPROVED, Bid.deadline < ctx.today())).first())
    at = page("sr", PAGE)
    at.query_params["bid"] = str(bid_id)
    at.run()
    assert not at.exception, at.exception
    deltas = [m.proto.delta for m in at.metric]
    assert not [d for d in deltas if d.startswith("-")], deltas


def test_a_signed_contract_offers_no_signing_any_more(page, demo_url):
    """The walk saw a signed contract show 'Sign the contract' disabled, 'it may be signed only while it is
    Awaiting ATC': an action behind the record is not shown; one ahead of it is, disabled with its reason."""
    cid = signed_with_open_terms(demo_url)
    at = visit(page, "leader", contract=cid)
    assert not [k for k in keys(at) if k.startswith(f"bc-sign-{cid}")]


def test_the_timeline_says_moves_in_the_persons_words(page, demo_url):
    """The walk read "bid 22: draft → atb_pending" and "opportunity: — → initiation" on the Chinese timeline."""
    cid = signed_with_open_terms(demo_url)
    at = visit(page, "leader", lang="zh", contract=cid, tab="timeline")
    events = next(d.value for d in at.dataframe if "Event" in d.value.columns)
    text = " ".join(str(v) for v in events["Event"])
    assert events.shape[0] > 3
    codes = r"(atb_pending|atc_pending|draft|signed|initiation|guidance|approve|reject|go)"
    found = re.search(rf"[→:：] {codes}\b|\b{codes} →|\b(atb_pending|atc_pending)\b", text)   # a move or a decision
    assert not found, text[max(0, found.start() - 80):found.end() + 40]
    assert "→" in text and "合同" in text
