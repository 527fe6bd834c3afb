"""My work: every role opens it; each person sees what waits on them, linked to where it is done."""

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core import clock
from core import permissions
from core.context import SYSTEM, Actor, unit_of_work
from core.enums import Decision, GateKind, InvoiceStatus, Stage
from core.models import Contract, GateDecision, Invoice, Opportunity, User
from core.queries.work import LISTS
from core.services import contracts
from tests.app.conftest import APP, TIMEOUT, texts

PAGE = "screens/work.py"


def links(at: AppTest) -> list[tuple[str, str, str]]:
    """(label, page name, query string) of every page link shown."""
    return [(p.proto.label, p.proto.page, p.proto.query_string) for p in at.get("page_link")]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _overdue(url: str, ar_login: str | None = None) -> set[str]:
    """Numbers of the overdue invoices with money outstanding (of one AR's opportunities, or all)."""
    today = clock.today()
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        q = (select(Invoice, Opportunity.ar_id).join(Contract, Contract.id == Invoice.contract_id)
             .join(Opportunity, Opportunity.id == Contract.opportunity_id)
             .where(Invoice.status.in_([InvoiceStatus.ISSUED, InvoiceStatus.PARTLY_PAID]), Invoice.due_on < today))
        ar_id = ctx.session.exec(select(User.id).where(User.login == ar_login)).one() if ar_login else None
        return {inv.number for inv, owner in ctx.session.exec(q).all()
                if inv.amount - inv.paid_amount - inv.written_off > 0 and (ar_id is None or owner == ar_id)}


@pytest.mark.parametrize("role", permissions.ROLES)
def test_every_role_opens_its_work(page, role):
    at = page(role, PAGE)
    assert not at.exception
    assert at.title[0].value == "My work"
    assert len(at.metric) == len(LISTS)


def test_a_person_without_roles_is_refused_when_running_the_page_directly(demo_url):
    at = AppTest.from_file(str(APP / PAGE), default_timeout=TIMEOUT)
    at.session_state["actor"] = Actor(id=999, login="nobody", roles=frozenset())
    at.run()
    assert "do not give access" in at.error[0].value
    assert not at.metric


def _waiting_atc(url) -> int:
    from core.enums import ContractStatus
    from core.models import Contract
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        return ctx.session.exec(select(Contract.id).where(Contract.number.like("HT-%-G002"),
                                                          Contract.status == ContractStatus.ATC_PENDING)).one()


def test_leader_sees_pending_ati_decisions_linked_to_the_initiation_board(page, demo_url):
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        pending = {o.id: o.name for o in ctx.session.exec(
            select(Opportunity).join(GateDecision, GateDecision.subject_id == Opportunity.id)
            .where(GateDecision.kind == GateKind.ATI, GateDecision.decision == Decision.PENDING,
                   Opportunity.stage == Stage.INITIATION)).all()}
    assert pending
    at = page("leader", PAGE)
    # the ATI decisions, and the demo's 5,600,000 contract whose ATC path waits for the leader's step
    assert metrics(at)["Decisions to take"] == str(len(pending) + 1)
    assert [q for label, _, q in links(at) if label.startswith("ATC review:")] == \
        [f"contract={_waiting_atc(demo_url)}&tab=atc"]
    ati = [link for link in links(at) if link[0].startswith("ATI:")]
    assert {q for _, _, q in ati} == {f"opportunity={i}" for i in pending}
    assert all(name == "initiation" for _, name, _ in ati)
    shown = " ".join(label for label, _, _ in ati)
    assert all(name.split(" ")[0] in shown for name in pending.values())


def test_an_account_manager_sees_only_the_overdue_invoices_of_their_own_opportunities(page, demo_url):
    mine, everyone = _overdue(demo_url, "ar"), _overdue(demo_url)
    assert mine and mine != everyone
    at = page("ar", PAGE)
    assert metrics(at)["Overdue invoices"] == str(len(mine))
    shown = {label.split(" ")[0] for label, name, _ in links(at) if name == "cash"}
    assert shown == mine
    assert metrics(at)["Decisions to take"] == "0"   # an AR reviews no gate


def test_finance_sees_every_overdue_invoice_in_chinese(page, demo_url):
    everyone = _overdue(demo_url)
    at = page("finance", PAGE, lang="zh")
    assert metrics(at)["逾期发票"] == str(len(everyone))
    assert "未回款" in texts(at) or any("未回款" in label for label, _, _ in links(at))


def test_legal_sees_an_atc_review_only_while_the_contract_awaits_it(page, demo_url):
    def as_(login):
        with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
            return Actor.of(ctx.session.exec(select(User).where(User.login == login)).one())
    baseline = metrics(page("legal", PAGE))["Decisions to take"]   # the demo's own ATC waiting for legal
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:   # an opportunity in guidance (ATI go)
        opp = ctx.session.exec(select(Opportunity).join(User, User.id == Opportunity.ar_id).where(
            Opportunity.stage == Stage.GUIDANCE, User.login == "ar").order_by(Opportunity.id)).first()
    with unit_of_work(as_("ar"), "test", url=demo_url) as ctx:
        cid = contracts.draft_contract(ctx, opp.id, number="HT-WORK-1", name="Work test", amount="100000")
        contracts.set_payment_terms(ctx, cid, [{"name": "All at signing", "percent": "100%", "trigger": "signing"}])
        contracts.request_atc(ctx, cid)
    at = page("legal", PAGE)
    atc = [link for link in links(at) if "HT-WORK-1" in link[0]]
    assert len(atc) == 1 and atc[0][1] == "bids_contracts" and atc[0][2] == f"contract={cid}&tab=atc"
    assert atc[0][0].startswith("ATC review:")

    with unit_of_work(as_("finance"), "test", url=demo_url) as ctx:   # finance rejects: back to draft
        contracts.review_atc_finance(ctx, cid, "reject", rationale="plan too back-loaded")
    at = page("legal", PAGE)   # legal's row is still pending, but there is nothing to review any more
    assert not [link for link in links(at) if "HT-WORK-1" in link[0]]
    assert metrics(at)["Decisions to take"] == baseline


def test_every_label_the_page_builds_from_values_exists():
    from app.i18n import catalogue
    from core.queries.work import LISTS
    keys = [f"work.kind.{k.value}" for k in GateKind] + [f"work.{name}" for name in LISTS]
    assert [k for k in keys if k not in catalogue()] == []


def test_a_contract_whose_atc_passed_waits_on_the_people_who_sign_it(page, demo_url):
    def as_(login):
        with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
            return Actor.of(ctx.session.exec(select(User).where(User.login == login)).one())
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        opp = ctx.session.exec(select(Opportunity).where(Opportunity.stage == Stage.GUIDANCE)
                               .order_by(Opportunity.id)).first()
        ar_login = ctx.session.get(User, opp.ar_id).login
    with unit_of_work(as_(ar_login), "test", url=demo_url) as ctx:
        # at the deal's amount: its margin over the estimated cost needs no leader's step (config/approvals.toml)
        cid = contracts.draft_contract(ctx, opp.id, number="HT-SIGN-1", name="Sign test", amount=opp.amount)
        contracts.set_payment_terms(ctx, cid, [{"name": "All at signing", "percent": "100%", "trigger": "signing"}])
        contracts.request_atc(ctx, cid)
    with unit_of_work(as_("legal"), "test", url=demo_url) as ctx:
        contracts.review_atc_legal(ctx, cid, "approve", rationale="ok")

    def to_sign(login):
        return [link for link in links(page(login, PAGE)) if "HT-SIGN-1" in link[0]]
    assert to_sign("leader") == []          # finance has not approved yet: nothing to sign
    with unit_of_work(as_("finance"), "test", url=demo_url) as ctx:
        contracts.review_atc_finance(ctx, cid, "approve", rationale="ok")
    for login in ("leader", ar_login):      # leaders see all, the AR their own
        found = to_sign(login)
        assert len(found) == 1 and found[0][2] == f"contract={cid}&tab=atc", login
        assert "ready to sign" in found[0][0]
    assert to_sign("legal") == [] and to_sign("finance") == []   # they may not sign
    with unit_of_work(as_("leader"), "test", url=demo_url) as ctx:
        contracts.sign_contract(ctx, cid)
    assert to_sign("leader") == []
