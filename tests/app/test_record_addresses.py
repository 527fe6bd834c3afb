"""The address leads the record picker (app.records.picker): Back to an address seen before opens its record
again, and a new address replaces the person's earlier choice."""
from __future__ import annotations

from sqlmodel import select

from core.context import SYSTEM, unit_of_work
from core.enums import Stage
from core.models import Opportunity

PAGE = "screens/initiation.py"


def _two_opportunities(url) -> list[int]:
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        return list(ctx.session.exec(select(Opportunity.id).where(Opportunity.stage == Stage.GUIDANCE)
                                     .order_by(Opportunity.id).limit(2)).all())


def _visit(at, path: str, **params):
    at.query_params.clear()
    for k, v in params.items():
        at.query_params[k] = str(v)
    at.switch_page(path).run()
    assert not at.exception
    return at


def test_back_to_an_address_seen_before_opens_its_record_again(page, demo_url):
    first, second = _two_opportunities(demo_url)
    at = page("leader")
    assert _visit(at, PAGE, opportunity=first).selectbox(key="initiation-opp").value == first
    _visit(at, "screens/work.py")                       # on to another page...
    assert _visit(at, PAGE, opportunity=first).selectbox(key="initiation-opp").value == first   # ...and Back
    assert _visit(at, PAGE, opportunity=second).selectbox(key="initiation-opp").value == second  # a new link


def test_an_ati_decision_link_opens_the_decision_tab(page, demo_url):
    from core.enums import Decision, GateKind
    from core.models import GateDecision

    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        gate = ctx.session.exec(select(GateDecision).where(GateDecision.kind == GateKind.ATI,
                                                           GateDecision.decision == Decision.PENDING)).first()
    at = _visit(page("leader"), PAGE, opportunity=gate.subject_id)
    assert at.session_state[f"initiation-tabs-{gate.subject_id}"] == "Estimate and ATI"
    assert any(b.key and b.key.startswith(f"initiation-ati-decide-{gate.subject_id}") for b in at.button)
