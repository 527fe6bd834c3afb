"""The approval path on the pages: the demo's 5,600,000 contract waits for the leader's ATC step after legal and
finance; the leader is away and has named East's sales manager their delegate, who decides it on the page."""
from __future__ import annotations

from decimal import Decimal

from sqlmodel import select

from core.enums import ContractStatus, Decision, GateKind
from core.models import Contract, GateDecision, User
from tests.app.conftest import texts
from tests.app.test_bids_contracts import open_contract, read, w


def _waiting(url) -> int:
    return read(url, lambda ctx: ctx.session.exec(select(Contract.id).where(
        Contract.amount == Decimal("5600000"), Contract.status == ContractStatus.ATC_PENDING)).one())


def test_the_leaders_delegate_takes_the_atc_leader_step_on_the_page(page, demo_url):
    cid = _waiting(demo_url)
    at = open_contract(page, "manager", cid)          # mgr-east: the leader's delegate this week
    assert "Approval path: Legal review of the terms → Finance review of the payment plan → Leader approval" \
        in texts(at)
    leader = f"bc-atc-leader-{cid}"
    w(at, "radio", leader, "decision").set_value("approve")
    w(at, "text_area", leader, "rationale").input("Approved for Lin while she is at the fair")
    w(at, "button", leader, "submit").click().run()
    assert not at.exception and not at.error
    row = read(demo_url, lambda ctx: ctx.session.exec(select(GateDecision).where(
        GateDecision.kind == GateKind.ATC, GateDecision.subject_id == cid,
        GateDecision.reviewer_role == "leader")).one())
    logins = read(demo_url, lambda ctx: {u.id: u.login for u in ctx.session.exec(select(User)).all()})
    assert row.decision == Decision.APPROVE
    assert (logins[row.decided_by_id], logins[row.on_behalf_of_id]) == ("mgr-east", "leader")
    history = next(d.value for d in open_contract(page, "leader", cid).dataframe if "On behalf of" in d.value.columns)
    assert [who for who in history["On behalf of"] if who] == ["Lin Huang 黄琳"]   # the leader's step only


def _decision_links(page, login) -> list[str]:
    return [p.proto.label for p in page(login, "screens/work.py").get("page_link")]


def test_my_work_shows_the_delegated_step_to_the_delegate_only(page, demo_url):
    mine = _decision_links(page, "manager")                     # mgr-east, the leader's delegate
    atc = [label for label in mine if label.startswith("ATC review: HT-")]
    assert len(atc) == 1 and atc[0].endswith("for Lin Huang 黄琳, as their delegate")
    assert not [label for label in _decision_links(page, "mgr-north") if "as their delegate" in label]
    leader = [label for label in _decision_links(page, "leader") if label.startswith("ATC review: HT-")]
    assert len(leader) == 1 and "as their delegate" not in leader[0]   # the leader's own step: no such note


def test_a_person_away_names_a_delegate_on_my_work_and_sees_it_said(page, demo_url):
    from datetime import timedelta

    from core import clock
    from core.models import Delegation

    at = page("finance", "screens/work.py")
    field = {k: next(w for w in getattr(at, kind) if str(w.key or "").startswith(f"work-away-{k}-"))
             for kind, k in (("selectbox", "delegate"), ("date_input", "from"), ("date_input", "until"),
                             ("text_input", "reason"))}
    field["delegate"].set_value("legal")
    field["from"].set_value(clock.today() + timedelta(days=3))
    field["until"].set_value(clock.today() + timedelta(days=1))      # before the first day: refused
    next(b for b in at.button if str(b.key or "").startswith("work-away-submit-")).click().run()
    assert any("is before the first day" in e.value for e in at.error)
    assert read(demo_url, lambda ctx: ctx.session.exec(select(Delegation).where(
        Delegation.delegate_id == select(User.id).where(User.login == "legal").scalar_subquery())).all()) == []
    at.date_input(key=field["until"].key).set_value(clock.today() + timedelta(days=9))
    next(b for b in at.button if str(b.key or "").startswith("work-away-submit-")).click().run()
    assert not at.exception and "Delegate named." in [s.value for s in at.success]
    assert any("takes Fiona Xu 徐芳's approval steps" in m.value for m in at.markdown)
