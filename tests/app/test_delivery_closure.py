"""The Closure tab of the delivery page (项目决算与复盘) in AppTest: finance records the final accounts, the FR
writes the review and asks to close, a leader decides; what still blocks closing is listed with its figures,
and a retention held until its warranty end is the one thing a project closes with (issue 12)."""
from __future__ import annotations

import pytest
from sqlmodel import select

from core.enums import Calculation, ContractStatus, Decision, GateKind
from core.models import Baseline, Contract, Invoice, PaymentTerm
from core.services import billing, delivery
from tests.app.conftest import texts
from tests.app.test_delivery import PAGE, field, open_contract, show
from tests.integration.money_fixtures import days, gate_rows, make_opportunity, signed_contract

TAB = "Closure"


@pytest.fixture
def delivered(demo_world):
    """A 1,000,000 contract signed 400 days ago, finally accepted 100 days ago (its 12-month warranty runs on),
    advance and final invoiced; nothing paid yet."""
    w = demo_world
    ids = signed_contract(w, number="HT-CLOSE-0001", signed_on=days(-400),
                          opp_id=make_opportunity(w, name="Closing deal", account="Closing Customer 结项客户"))
    w.do("fr", delivery.accept_milestone, ids["m1"], kind="final", accepted_on=days(-100))
    ids["invoices"] = [w.do("finance", billing.issue_invoice, ids[t], amount=w.get(PaymentTerm, ids[t]).amount,
                            issued_on=days(-90)) for t in ("advance", "final")]
    return {"world": w, **ids}


def submit(at, form: str):
    """Press the submit button of a once-form (keyed `<form>-submit-<one-time key>`)."""
    next(b for b in at.button if (b.key or "").startswith(f"{form}-submit-")).click().run()
    assert not at.exception
    return at


def has_form(at, form: str) -> bool:
    return any((b.key or "").startswith(f"{form}-submit-") for b in at.button)


def closure_tab(page, login: str, cid: int, *, closed: bool = False):
    at = page(login, PAGE)
    if closed:
        at.toggle(key="delivery-closed").set_value(True).run()
    return show(open_contract(at, cid), TAB)


def test_a_project_goes_to_closure_on_the_page_with_its_retention_held(page, delivered):
    w, cid = delivered["world"], delivered["contract"]
    # finance: the final accounts, defaulting to the revenue invoiced and to come, and to the cost entries
    at = closure_tab(page, "finance", cid)
    assert "Final accounts, review and closure" in texts(at)
    submit(at, f"delivery-final-{cid}")
    assert "Final accounts recorded." in texts(at)
    final = w.read(lambda ctx: ctx.session.exec(select(Baseline).where(
        Baseline.kind == Calculation.FINAL, Baseline.contract_id == cid)).all())
    assert [b.revenue for b in final] == [1000000]    # 900,000 invoiced and the 100,000 retention to come

    # the FR asks while 900,000 is still outstanding: refused with the figures, nothing requested
    at = closure_tab(page, "fr", cid)
    shown = texts(at)
    assert "The project cannot close yet" in shown and "900,000.00 outstanding" in shown
    field(at.text_area, f"delivery-closure-request-{cid}-went_well").input("weekly iron-triangle meetings")
    field(at.text_area, f"delivery-closure-request-{cid}-went_badly").input("acceptance slipped")
    submit(at, f"delivery-closure-request-{cid}")
    assert any("900,000.00 outstanding" in e.value for e in at.error)
    assert gate_rows(w, GateKind.CLOSURE, "contract", cid) == []

    # paid: the retention, held until the warranty's end, is the only thing left and does not block
    w.do("finance", billing.record_payment, account_id=delivered["account"], amount="900000", reference="B-900")
    at = closure_tab(page, "fr", cid)
    shown = texts(at)
    assert "cannot close yet" not in shown and "Retention held until the warranty ends" in shown
    field(at.text_area, f"delivery-closure-request-{cid}-went_well").input("weekly iron-triangle meetings")
    field(at.text_area, f"delivery-closure-request-{cid}-went_badly").input("acceptance slipped")
    field(at.text_area, f"delivery-closure-request-{cid}-lessons").input("accept site by site")
    submit(at, f"delivery-closure-request-{cid}")
    assert "Closure requested: a leader decides." in texts(at)
    assert not has_form(at, f"delivery-closure-request-{cid}")   # asked once: the form gives way
    assert w.get(Contract, cid).status == ContractStatus.SIGNED

    # the FR cannot decide; the leader approves, and the page says closed
    assert not has_form(at, f"delivery-closure-decide-{cid}")
    at = closure_tab(page, "leader", cid)
    assert "accept site by site" in texts(at)
    at.text_area(key=next(t.key for t in at.text_area if t.key.startswith(f"delivery-closure-decide-{cid}-rationale"))
                 ).input("books agree; retention due at warranty end")
    submit(at, f"delivery-closure-decide-{cid}")
    assert not at.error, [e.value for e in at.error]
    # the page keeps the project, closed now, with the decision's message (a walk saw it vanish)
    assert at.selectbox(key="delivery-contract").value == cid and at.toggle(key="delivery-closed").value
    assert "Closure Approved." in texts(at)
    c = w.get(Contract, cid)
    assert (c.status, c.closed_on) == (ContractStatus.CLOSED, days(0))
    rows = gate_rows(w, GateKind.CLOSURE, "contract", cid)
    assert [(g.decision, g.requested_by_id, g.decided_by_id) for g in rows] == [
        (Decision.APPROVE, w.users["fr"].id, w.users["leader"].id)]
    at = closure_tab(page, "leader", cid, closed=True)
    assert "Closed on" in texts(at) and "Retention held" in texts(at)
    # the retention stays a receivable: released at the warranty's end it is invoiced after closure
    assert w.read(lambda ctx: ctx.session.get(Invoice, delivered["invoices"][1]).status.value) == "paid"


def test_the_closure_tab_in_chinese(page, delivered):
    at = show(open_contract(page("fr", PAGE, lang="zh"), delivered["contract"]), "决算与关闭")
    shown = texts(at)
    assert "项目决算与复盘" in shown and "项目暂不能关闭" in shown
    assert "outstanding on invoice" not in shown     # core's blockers in Chinese too


def test_the_fr_sets_the_warranty_end_agreed_with_the_customer(page, delivered):
    w, cid = delivered["world"], delivered["contract"]
    at = closure_tab(page, "fr", cid)
    field(at.date_input, f"delivery-warranty-{cid}-on").set_value(days(-2))
    field(at.text_input, f"delivery-warranty-{cid}-reason").input("warranty from the pilot")
    submit(at, f"delivery-warranty-{cid}")
    assert not at.error, [e.value for e in at.error]
    c = w.get(Contract, cid)
    assert (c.warranty_ends_on, c.warranty_note) == (days(-2), "warranty from the pilot")
    at = closure_tab(page, "finance", cid)
    assert "was set by hand: warranty from the pilot" in texts(at)
    assert "Retention held" not in texts(at)          # ended: no longer held, ltc daily releases it


def test_the_closure_tab_lists_every_blocker_with_its_figures(page, demo_world):
    """Each blocker closure checks, as the page shows it: an invoice outstanding with a write-off awaiting its
    decision, terms not invoiced, a milestone not accepted, the customer's unapplied cash."""
    w = demo_world
    ids = signed_contract(w, number="HT-BLOCKED-0001", signed_on=days(-300),
                          opp_id=make_opportunity(w, name="Blocked deal", account="Blocked Customer 受阻客户"))
    inv = w.do("finance", billing.issue_invoice, ids["advance"], amount="300000", issued_on=days(-200))
    w.do("finance", billing.record_payment, account_id=ids["account"], amount="250000", reference="B-250")
    w.do("finance", billing.request_write_off, inv, amount="10000", reason="bank charges")
    w.do("finance", billing.record_payment, account_id=ids["account"], amount="7000", reference="B-7",
         allocate_to=[])
    shown = texts(closure_tab(page, "fr", ids["contract"]))
    number = w.get(Invoice, inv).number
    for blocker in (f"50,000.00 outstanding on invoice(s) {number} (50,000.00)",
                    "1 write-off request(s) awaiting a leader's decision",
                    "term 'Final acceptance 60%' has 600,000.00 not invoiced (not released yet)",
                    "term 'Retention 10%' has 100,000.00 not invoiced (not released yet)",
                    "milestone 'Go-live' is not finally accepted (Planned)",
                    "Blocked Customer 受阻客户 has 7,000.00 of unapplied cash"):
        assert blocker in shown, (blocker, shown[-1500:])
