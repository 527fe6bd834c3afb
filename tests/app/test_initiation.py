"""Initiation board (立项看板) on the demo data: the board by stage, one opportunity's detail, and every action
of the page through core (iron triangle, guidance and decision chain, estimate, ATI request and decision,
edits with version)."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core import clock
from app.i18n import catalogue
from core.context import SYSTEM, unit_of_work
from core.enums import OPEN_STAGES, Calculation, Decision, GateKind, Stage, Stance
from core.errors import GateError, PermissionDenied
from core.models import Baseline, GateDecision, Opportunity, Stakeholder, User
from core.services import opportunities, users
from tests.app.conftest import assert_unreachable, texts

PAGE = "screens/initiation.py"
WITH = ["ar", "sr", "fr", "leader"]
WITHOUT = ["admin", "marketing", "legal", "finance"]


def read(url, fn):
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        return fn(ctx)


def act(url, login, fn, *args, **kwargs):
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        who = users.actor(ctx, login)
    with unit_of_work(who, "test", url=url) as ctx:
        return fn(ctx, *args, **kwargs)


def ars(url) -> object:
    """The tests act as `ar`, whose data scope is the deals they carry: they pick those of the demo's deals."""
    return select(User.id).where(User.login == "ar").scalar_subquery()


def pending_ati(url) -> int:
    """An opportunity of the demo, carried by ar, waiting for the leader's ATI decision."""
    return read(url, lambda ctx: ctx.session.exec(select(GateDecision.subject_id).join(
        Opportunity, Opportunity.id == GateDecision.subject_id).where(
        GateDecision.kind == GateKind.ATI, GateDecision.decision == Decision.PENDING, Opportunity.ar_id == ars(url))
        .order_by(GateDecision.subject_id)).first())


def bare_initiation(url) -> int:
    """An opportunity still in initiation with no SR, FR or estimate (just converted from its lead)."""
    def pick(ctx):
        has_estimate = select(Baseline.opportunity_id).where(Baseline.kind == Calculation.ESTIMATE)
        return ctx.session.exec(select(Opportunity.id).where(
            Opportunity.stage == Stage.INITIATION, Opportunity.sr_id == None,  # noqa: E711
            Opportunity.ar_id == ars(url), Opportunity.id.not_in(has_estimate)).order_by(Opportunity.id)).first()
    return read(url, pick)


def with_stakeholders(url) -> int:
    """An opportunity in guidance with its decision chain (two stakeholders in the demo)."""
    return read(url, lambda ctx: ctx.session.exec(select(Opportunity.id).where(
        Opportunity.stage == Stage.GUIDANCE, Opportunity.ar_id == ars(url)).order_by(Opportunity.id)).first())


def widget(elements, prefix: str):
    """The one element whose key starts with `prefix`: edit forms are keyed by the version they were built on,
    record forms by their one-time key."""
    found = [e for e in elements if (e.key or "").startswith(prefix)]
    assert len(found) == 1, (prefix, [e.key for e in elements])
    return found[0]


def open_opp(page, login, opp_id, lang="en") -> AppTest:
    at = page(login, PAGE, lang=lang)
    at.selectbox(key="initiation-opp").set_value(opp_id).run()
    assert not at.exception, at.exception
    return at


# -- access -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", WITH)
def test_every_role_with_access_sees_the_board_and_a_detail(page, demo_url, role):
    at = page(role, PAGE)
    assert not at.exception
    assert "Initiation board" in [t.value for t in at.title]
    shown = texts(at)
    for label in ("Initiation", "Customer guidance", "Solution and bid", "Negotiation", "On hold"):
        assert f"**{label}**" in shown
    for opp_id in (pending_ati(demo_url), with_stakeholders(demo_url)):
        at.selectbox(key="initiation-opp").set_value(opp_id).run()
        assert not at.exception, at.exception
        assert not at.error


@pytest.mark.parametrize("role", WITHOUT)
def test_roles_without_access_cannot_reach_the_page(page, role):
    assert_unreachable(page, role, PAGE)


def test_chinese_labels(page, demo_url):
    at = open_opp(page, "leader", pending_ati(demo_url), lang="zh")
    shown = texts(at)
    assert "立项看板" in shown and "**项目立项**" in shown and "**暂缓**" in shown


def test_dynamic_labels_exist_in_both_languages():
    keys = catalogue()
    names = [f"value.{s.value}" for s in Stage] + [f"initiation.stance.{s.value}" for s in Stance]
    names += [f"initiation.seat.{s}" for s in ("ar", "sr", "fr")]
    names += [f"value.{d}" for d in ("go", "kill", "hold", "pending")]
    assert [k for k in names if k not in keys] == []


# -- the board --------------------------------------------------------------------------------------

def column_headers(at) -> dict[str, str]:
    return {m.value.split("**")[1]: m.value for m in at.markdown if m.value.startswith("**") and "(" in m.value}


def test_board_counts_each_open_stage_and_flags_holds_past_review(page, demo_url):
    at = page("leader", PAGE)
    counts = read(demo_url, lambda ctx: dict(ctx.session.exec(
        select(Opportunity.stage, func.count()).where(Opportunity.stage.in_(OPEN_STAGES))
        .group_by(Opportunity.stage)).all()))
    headers = column_headers(at)
    assert headers["Initiation"].endswith(f"({counts.get(Stage.INITIATION, 0)})")
    assert headers["On hold"].endswith(f"({counts.get(Stage.ON_HOLD, 0)})")
    today = clock.today()
    overdue = read(demo_url, lambda ctx: ctx.session.exec(select(Opportunity.name, Opportunity.hold_review_on).where(
        Opportunity.stage == Stage.ON_HOLD, Opportunity.hold_review_on <= today)).all())
    assert overdue, "the demo has holds past their review date"
    shown = texts(at) + "\n".join(b.label for b in at.button)   # a card's name is the button that opens it
    for name, review in overdue:
        assert name in shown and f"hold review date {review} has passed" in shown
    holds = at.dataframe[0].value
    assert len(holds) > 0, "the demo has holds: an empty table must not pass"
    assert set(holds["Opportunity"]) == set(read(demo_url, lambda ctx: ctx.session.exec(
        select(Opportunity.name).where(Opportunity.stage == Stage.ON_HOLD)).all()))


def test_filter_by_ar_shows_only_their_opportunities(page, demo_url):
    at = page("leader", PAGE)
    at.selectbox(key="initiation-filter-ar").set_value("ar2").run()
    mine, theirs = read(demo_url, lambda ctx: [set(ctx.session.exec(select(Opportunity.name).join(
        User, User.id == Opportunity.ar_id).where(User.login == login, Opportunity.stage.in_(OPEN_STAGES))).all())
        for login in ("ar2", "ar")])
    options = at.selectbox(key="initiation-opp").options   # nothing preselected: no empty entry
    assert len(options) == len(mine)
    cards = {b.label for b in at.button if (b.key or "").startswith("initiation-card-")}
    assert cards and cards <= mine
    assert theirs - mine, "the other AR has opportunities of their own: the filter has something to leave out"
    assert not cards & (theirs - mine)


# -- ATI --------------------------------------------------------------------------------------------

def test_leader_decides_go_and_the_database_shows_it(page, demo_url):
    opp_id = pending_ati(demo_url)
    at = open_opp(page, "leader", opp_id)
    widget(at.radio, f"initiation-ati-decide-{opp_id}-decision").set_value("go")
    widget(at.text_area, f"initiation-ati-decide-{opp_id}-rationale").input("Fits our ERP line")
    widget(at.button, f"initiation-ati-decide-{opp_id}-submit").click().run()
    assert not at.exception and not at.error
    assert "ATI decided: Go." in [s.value for s in at.success]
    picker = at.selectbox(key="initiation-opp")    # the picker names the stage the decision moved it to
    assert picker.value == opp_id and picker.format_func(opp_id).endswith("Customer guidance"), picker.format_func(opp_id)
    opp, gate = read(demo_url, lambda ctx: (ctx.session.get(Opportunity, opp_id), ctx.session.exec(
        select(GateDecision).where(GateDecision.kind == GateKind.ATI, GateDecision.subject_id == opp_id)
        .order_by(GateDecision.id.desc())).first()))
    assert opp.stage == Stage.GUIDANCE
    assert gate.decision == Decision.GO and gate.rationale == "Fits our ERP line"
    assert read(demo_url, lambda ctx: ctx.session.get(User, gate.decided_by_id).login) == "leader"


def test_a_hold_without_review_date_shows_cores_refusal_and_changes_nothing(page, demo_url):
    opp_id = pending_ati(demo_url)
    at = open_opp(page, "leader", opp_id)
    widget(at.radio, f"initiation-ati-decide-{opp_id}-decision").set_value("hold")
    widget(at.text_area, f"initiation-ati-decide-{opp_id}-rationale").input("Budget not approved")
    widget(at.button, f"initiation-ati-decide-{opp_id}-submit").click().run()
    assert "Review date (for a hold): a hold needs a review date" in at.error[0].value   # core's words, labelled
    assert read(demo_url, lambda ctx: ctx.session.get(Opportunity, opp_id).stage) == Stage.INITIATION
    # with a review date the hold is recorded
    review = clock.today() + timedelta(days=30)
    widget(at.date_input, f"initiation-ati-decide-{opp_id}-review").set_value(review)
    widget(at.button, f"initiation-ati-decide-{opp_id}-submit").click().run()
    assert not at.error
    opp = read(demo_url, lambda ctx: ctx.session.get(Opportunity, opp_id))
    assert (opp.stage, opp.hold_review_on) == (Stage.ON_HOLD, review)


@pytest.mark.parametrize("role", ["ar", "sr", "fr"])
def test_others_do_not_see_the_decision_form_and_core_refuses_them(page, demo_url, role):
    opp_id = pending_ati(demo_url)
    at = open_opp(page, role, opp_id)
    assert not [b for b in at.button if (b.key or "").startswith(f"initiation-ati-decide-{opp_id}")]
    assert "An ATI request is waiting for the leader's decision." in [i.value for i in at.info]
    with pytest.raises(PermissionDenied, match="may not perform 'ati.decide'"):
        act(demo_url, role, opportunities.decide_ati, opp_id, "go", rationale="let us go")
    assert read(demo_url, lambda ctx: ctx.session.get(Opportunity, opp_id).stage) == Stage.INITIATION


def test_ar_builds_the_team_and_estimate_then_requests_ati(page, demo_url):
    opp_id = bare_initiation(demo_url)
    at = open_opp(page, "ar", opp_id)
    # the ATI request is not offered while the team and estimate are missing: the button says why, core refuses
    request = at.button(key=f"initiation-ati-request-{opp_id}")
    assert request.disabled and "iron triangle incomplete" in request.help and "no estimate" in request.help
    with pytest.raises(GateError, match="iron triangle incomplete.*no estimate"):
        act(demo_url, "ar", opportunities.request_ati, opp_id)
    assert read(demo_url, lambda ctx: ctx.session.exec(select(func.count()).select_from(GateDecision).where(
        GateDecision.kind == GateKind.ATI, GateDecision.subject_id == opp_id)).one()) == 0

    widget(at.selectbox, f"initiation-team-ar-{opp_id}-").set_value("ar")
    widget(at.selectbox, f"initiation-team-sr-{opp_id}-").set_value("sr")
    widget(at.selectbox, f"initiation-team-fr-{opp_id}-").set_value("fr")
    widget(at.button, f"initiation-team-save-{opp_id}-").click().run()
    assert not at.error and "Iron triangle saved." in [s.value for s in at.success]

    widget(at.text_input, f"initiation-est-{opp_id}-revenue").input("1,200,000")
    widget(at.text_input, f"initiation-est-{opp_id}-cost").input("780000")
    widget(at.button, f"initiation-est-{opp_id}-save").click().run()
    assert not at.error

    at.button(key=f"initiation-ati-request-{opp_id}").click().run()
    assert not at.error and "ATI requested." in [s.value for s in at.success]

    opp, est, gate = read(demo_url, lambda ctx: (
        ctx.session.get(Opportunity, opp_id),
        ctx.session.exec(select(Baseline).where(Baseline.opportunity_id == opp_id)).one(),
        ctx.session.exec(select(GateDecision).where(GateDecision.kind == GateKind.ATI,
                                                    GateDecision.subject_id == opp_id)).one()))
    ids = read(demo_url, lambda ctx: {u.login: u.id for u in ctx.session.exec(select(User)).all()})
    assert (opp.ar_id, opp.sr_id, opp.fr_id) == (ids["ar"], ids["sr"], ids["fr"])
    assert (est.revenue, est.cost) == (Decimal("1200000.00"), Decimal("780000.00"))
    assert gate.decision == Decision.PENDING


def test_a_bad_estimate_shows_cores_message_and_records_nothing(page, demo_url):
    opp_id = bare_initiation(demo_url)
    at = open_opp(page, "ar", opp_id)   # no SR on it yet: its AR writes the first estimate
    widget(at.text_input, f"initiation-est-{opp_id}-revenue").input("1,000,000")
    widget(at.text_input, f"initiation-est-{opp_id}-cost").input("lots")
    widget(at.button, f"initiation-est-{opp_id}-save").click().run()
    assert "Cost: 'lots' is not an amount" in at.error[0].value   # core's words, the field as labelled
    assert read(demo_url, lambda ctx: ctx.session.exec(select(func.count()).select_from(Baseline).where(
        Baseline.opportunity_id == opp_id)).one()) == 0


# -- editing with version ---------------------------------------------------------------------------

def test_ar_edits_amount_and_expected_close(page, demo_url):
    opp_id = bare_initiation(demo_url)
    at = open_opp(page, "ar", opp_id)
    widget(at.text_input, f"initiation-edit-amount-{opp_id}-").input("2,345,000.50")
    widget(at.date_input, f"initiation-edit-close-{opp_id}-").set_value(date(2031, 3, 31))
    widget(at.button, f"initiation-edit-save-{opp_id}-").click().run()
    assert not at.error
    opp = read(demo_url, lambda ctx: ctx.session.get(Opportunity, opp_id))
    assert (opp.amount, opp.expected_close) == (Decimal("2345000.50"), date(2031, 3, 31))


def test_a_stale_edit_of_the_opportunity_is_refused_naming_who_changed_it(page, demo_url):
    opp_id = bare_initiation(demo_url)
    at = open_opp(page, "ar", opp_id)
    act(demo_url, "leader", opportunities.update_opportunity, opp_id, amount="999000")   # meanwhile
    widget(at.text_input, f"initiation-edit-amount-{opp_id}-").input("1,111,000")
    widget(at.button, f"initiation-edit-save-{opp_id}-").click().run()
    assert "stale" in at.error[0].value and "'leader'" in at.error[0].value
    assert read(demo_url, lambda ctx: ctx.session.get(Opportunity, opp_id).amount) == Decimal("999000.00")


def test_lost_needs_a_reason(page, demo_url):
    opp_id = with_stakeholders(demo_url)
    at = open_opp(page, "ar", opp_id)
    widget(at.selectbox, f"initiation-move-{opp_id}-to").set_value("lost")
    widget(at.button, f"initiation-move-{opp_id}-submit").click().run()
    assert "Reason (required when lost): is required" in at.error[0].value
    widget(at.text_input, f"initiation-move-{opp_id}-reason").input("Budget moved to next year")
    widget(at.button, f"initiation-move-{opp_id}-submit").click().run()
    assert not at.error
    opp = read(demo_url, lambda ctx: ctx.session.get(Opportunity, opp_id))
    assert (opp.stage, opp.lost_reason) == (Stage.LOST, "Budget moved to next year")


# -- guidance and the decision chain ----------------------------------------------------------------

def chain(url, opp_id):
    return read(url, lambda ctx: {s.name: (s.stance, s.title, s.version) for s in ctx.session.exec(
        select(Stakeholder).where(Stakeholder.opportunity_id == opp_id)).all()})


def test_guidance_text_is_saved(page, demo_url):
    opp_id = with_stakeholders(demo_url)
    at = open_opp(page, "sr", opp_id)
    widget(at.text_area, f"initiation-pains-{opp_id}-").input("Month-end takes ten days")
    widget(at.button, f"initiation-guidance-save-{opp_id}-").click().run()
    assert not at.error
    assert read(demo_url, lambda ctx: ctx.session.get(Opportunity, opp_id).pain_points) == "Month-end takes ten days"


def test_decision_chain_edit_add_and_remove(page, demo_url):
    opp_id = with_stakeholders(demo_url)
    at = open_opp(page, "ar", opp_id)
    editor = at.data_editor(key=f"initiation-chain-{opp_id}")
    shown = editor.value
    assert list(shown.columns) == ["ID", "Name", "Title", "Chain role", "Stance", "Version"]
    assert set(shown["Name"]) == set(chain(demo_url, opp_id))
    karen = int(shown.index[shown["Name"] == "Karen Wu"][0])
    boss = int(shown.index[shown["Name"] == "刘总"][0])
    at.session_state[f"initiation-chain-{opp_id}"] = {
        "edited_rows": {karen: {"Stance": "supporter"}},
        "added_rows": [{"Name": "Wang Lei", "Title": "CFO", "Chain role": "approver", "Stance": "neutral"}],
        "deleted_rows": [boss]}
    at.button(key=f"initiation-chain-save-{opp_id}").click().run()
    assert not at.exception and not at.error
    now = chain(demo_url, opp_id)
    assert set(now) == {"Karen Wu", "Wang Lei"}
    assert now["Karen Wu"][0] == Stance.SUPPORTER
    assert now["Wang Lei"][:2] == (Stance.NEUTRAL, "CFO")
    # the table now shows the saved rows, edits cleared
    assert set(at.data_editor(key=f"initiation-chain-{opp_id}").value["Name"]) == {"Karen Wu", "Wang Lei"}


def test_a_stale_decision_chain_save_is_refused_naming_who_changed_it(page, demo_url):
    opp_id = with_stakeholders(demo_url)
    at = open_opp(page, "ar", opp_id)
    shown = at.data_editor(key=f"initiation-chain-{opp_id}").value
    karen_id = int(shown.loc[shown["Name"] == "Karen Wu", "ID"].iloc[0])
    theirs = "neutral" if chain(demo_url, opp_id)["Karen Wu"][0] == Stance.OPPONENT else "opponent"
    act(demo_url, "sr", opportunities.update_stakeholder, karen_id, stance=theirs)   # meanwhile, a real change
    row = int(shown.index[shown["Name"] == "Karen Wu"][0])
    at.session_state[f"initiation-chain-{opp_id}"] = {"edited_rows": {row: {"Stance": "supporter"}},
                                                      "added_rows": [], "deleted_rows": []}
    at.button(key=f"initiation-chain-save-{opp_id}").click().run()
    assert "stale" in at.error[0].value and "'sr'" in at.error[0].value
    assert chain(demo_url, opp_id)["Karen Wu"][0] == theirs
    # reload shows the other person's change, and a save from there goes through
    at.button(key=f"initiation-chain-reload-{opp_id}").click().run()
    shown = at.data_editor(key=f"initiation-chain-{opp_id}").value
    assert shown.loc[shown["Name"] == "Karen Wu", "Stance"].iloc[0] == theirs


def test_leader_and_fr_see_the_decision_chain_read_only(page, demo_url):
    opp_id = with_stakeholders(demo_url)
    for role in ("leader", "fr"):
        at = open_opp(page, role, opp_id)
        assert not [e for e in at.data_editor if e.key == f"initiation-chain-{opp_id}"]
        assert any(set(df.value.columns) >= {"Name", "Stance"} and "Karen Wu" in set(df.value["Name"])
                   for df in at.dataframe)
