"""The delivery acceptance page (交付验收) in AppTest, on a copy of the demo database."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from app.i18n import catalogue
from core import permissions
from core.calculations import four_calculations
from core.context import SYSTEM, unit_of_work
from core.enums import ContractStatus, MilestoneStatus
from core.models import Acceptance, Contract, CostEntry, Milestone, Opportunity, PaymentTerm, User
from core.queries import delivery as q
from core.services import delivery, teams, users
from tests.app.conftest import assert_unreachable, texts
from tests.conftest import World
from tests.integration.money_fixtures import TODAY, days, make_opportunity, signed_contract

PAGE = "screens/delivery.py"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 64


def db(url, fn):
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        return fn(ctx)


@pytest.fixture
def deal(demo_url):
    """A signed 1,000,000 contract on a new customer (FR fr, AR ar): advance 30% released at signing, 60% on the
    final acceptance of its 'Go-live' milestone, retention 10% after the warranty."""
    w = World(url=demo_url)
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        for login in ("ar", "ar2", "sr", "fr", "legal", "finance", "leader"):
            w.users[login] = users.actor(ctx, login)
    ids = signed_contract(w, number="HT-TEST-0001", opp_id=make_opportunity(w, name="Test deal",
                                                                            account="Test Customer 测试客户"))
    return {"world": w, **ids}


def open_contract(at: AppTest, cid: int) -> AppTest:
    at.selectbox(key="delivery-contract").select(cid).run()
    assert not at.exception
    return at


def show(at: AppTest, tab: str) -> AppTest:
    """Open a tab of the page (only the open tab is drawn)."""
    at.session_state["delivery-tab"] = tab
    at.run()
    assert not at.exception
    return at


def submit(at: AppTest, form: str) -> AppTest:
    button = next(b for b in at.button if b.key and b.key.startswith(f"FormSubmitter:{form}-"))
    button.click().run()
    assert not at.exception
    return at


def field(widgets, prefix: str):
    """The widget of a form field: once-forms key their widgets `<form>-<field>-<one-time key>`."""
    return next(w for w in widgets if w.key and w.key.startswith(f"{prefix}-"))


def accept(at: AppTest, milestone: int, kind: str = "preliminary", *, on=None, upload=None) -> AppTest:
    """Open the milestone in the Acceptance tab and press the button of the acceptance core offers."""
    at.selectbox(key="delivery-milestone").select(milestone).run()
    if on is not None:
        field(at.date_input, "delivery-accept-on").set_value(on)
    if upload is not None:
        field(at.get("file_uploader"), "delivery-accept-cert").upload(*upload)
    label = {"preliminary": "Accept preliminary (初验)", "final": "Accept final (终验)"}[kind]
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception
    return at


def editor_state(rows: dict[int, dict]) -> dict:
    return {"edited_rows": rows, "added_rows": [], "deleted_rows": []}


# -- access ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", permissions.ROLES)
def test_the_page_opens_for_roles_with_delivery_view_and_refuses_the_others(page, role):
    if permissions.allowed({role}, "delivery.view"):
        at = page(role, PAGE)
        assert not at.exception
        assert "Delivery acceptance" in texts(at)
        assert not at.error
        return
    assert_unreachable(page, role, PAGE)


def signed_numbers(url, *, fr=None, ar=None) -> set[str]:
    def run(ctx):
        query = select(Contract.number).join(Opportunity, Opportunity.id == Contract.opportunity_id).where(
            Contract.status == ContractStatus.SIGNED)
        if fr:
            query = query.where(Opportunity.fr_id == ctx.session.exec(select(User.id).where(
                User.login == fr)).one())
        if ar:
            query = query.where(Opportunity.ar_id == ctx.session.exec(select(User.id).where(
                User.login == ar)).one())
        return set(ctx.session.exec(query).all())
    return db(url, run)


@pytest.mark.parametrize("role,mine", [("fr", {"fr": "fr"}), ("ar", {"ar": "ar"}), ("ar2", {"ar": "ar2"}),
                                       ("manager", {"ar": "ar"}), ("leader", {}), ("finance", {})])
def test_each_role_sees_the_contracts_of_its_data_scope(page, demo_url, role, mine):
    at = page(role, PAGE)   # manager: mgr-east, whose East team is ar's
    expected = signed_numbers(demo_url, **mine)
    assert expected and shown_numbers(at) == expected
    # the scope is the wall, not a filter to lift: no "my projects" toggle for an FR or an AR
    assert not [t for t in at.toggle if t.key == "delivery-mine"]


def shown_numbers(at: AppTest) -> set[str]:
    return {label.split(" · ")[0] for label in at.selectbox(key="delivery-contract").options}


def test_milestones_terms_costs_and_four_calculations_of_the_chosen_contract(page, demo_url, deal):
    cid = deal["contract"]
    delivery_cost = deal["world"].do("fr", delivery.record_cost, cid, spent_on=days(-3), category="travel",
                                     amount="4321.00", description="site visit")
    at = open_contract(page("leader", PAGE), cid)
    frames = {tuple(d.value.columns): d.value for d in at.dataframe}
    ms = frames[tuple(q.MILESTONE_COLUMNS)]
    assert list(ms["Milestone"]) == ["Go-live"] and list(ms["Terms"]) == ["Final acceptance 60%"]
    terms = frames[tuple(q.TERM_COLUMNS)]
    assert list(terms["Term"]) == ["Advance 30%", "Final acceptance 60%", "Retention 10%"]
    # the leader reads: no editor, no forms
    assert not at.data_editor and not [b for b in at.button if b.key and b.key.startswith("FormSubmitter:")]
    show(at, "Acceptance")
    assert "Acceptances are recorded by delivery (FR) on signed contracts." in texts(at)
    frames = {tuple(d.value.columns): d.value for d in show(at, "Costs").dataframe}
    costs = frames[tuple(q.COST_COLUMNS)]
    assert list(costs["ID"]) == [delivery_cost] and list(costs["Description"]) == ["site visit"]
    frames = {tuple(d.value.columns): d.value for d in show(at, "Four calculations").dataframe}
    calc = frames[tuple(q.CALC_COLUMNS)].set_index("Calculation")
    expected = db(demo_url, lambda ctx: four_calculations(ctx.session, cid))
    assert float(calc.at["Estimate (概算)", "Revenue"]) == float(expected["estimate"]["revenue"])
    assert float(calc.at["Budget (预算)", "Cost"]) == float(expected["budget"]["cost"])
    assert float(calc.at["Actuals (核算)", "Cost"]) == 4321.00
    assert float(calc.at["Variance: actuals − budget", "Cost"]) == 4321.00 - float(expected["budget"]["cost"])
    port = frames[tuple(q.PORTFOLIO_COLUMNS)]
    assert cid in set(port["ID"]) and len(port) == len(signed_numbers(demo_url))


# -- milestones ------------------------------------------------------------------------------------

def test_the_milestone_table_says_statuses_in_words(page, demo_url, deal):
    """The walk saw 'planned' and 'preliminary' in the milestones' edit table, in English and in Chinese."""
    for lang, word in (("en", "Planned"), ("zh", "计划中")):
        at = open_contract(page("fr", PAGE, lang=lang), deal["contract"])
        shown = at.data_editor(key=f"delivery-ms-editor-{deal['contract']}").value["Status"].tolist()
        assert shown and "planned" not in shown and all(s for s in shown), shown
        assert word in shown, shown


def test_fr_changes_a_forecast_in_the_table_and_it_is_saved_with_its_version(page, demo_url, deal):
    at = open_contract(page("fr", PAGE), deal["contract"])
    key = f"delivery-ms-editor-{deal['contract']}"
    assert at.data_editor(key=key).value["ID"].tolist() == [deal["m1"]]
    at.session_state[key] = editor_state({0: {"Forecast on": str(days(75))}})
    at.run()
    at.button(key="delivery-ms-save").click().run()
    assert not at.exception and not at.error
    ms = db(demo_url, lambda ctx: ctx.session.get(Milestone, deal["m1"]))
    assert (ms.forecast_on, ms.version) == (days(75), 2)
    assert "Saved." in texts(at)
    assert str(days(75)) in str(at.data_editor(key=key).value["Forecast on"].iloc[0])


def test_a_stale_forecast_edit_is_refused_naming_who_changed_the_milestone(page, demo_url, deal):
    at = open_contract(page("fr", PAGE), deal["contract"])
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:   # a second FR, whose team the deal's FR is in
        fr2 = users.create_user(ctx, "fr2", name="Second FR", roles=["fr", "manager"])
        teams.create_team(ctx, "Delivery East", manager_login="fr2")
        teams.set_teams(ctx, deal["world"].users["fr"].id, ["Delivery East"])
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        fr2 = users.actor(ctx, "fr2")
    deal["world"].do(fr2, delivery.forecast_milestone, deal["m1"], forecast_on=days(80))
    key = f"delivery-ms-editor-{deal['contract']}"
    at.session_state[key] = editor_state({0: {"Forecast on": str(days(70))}})
    at.run()
    at.button(key="delivery-ms-save").click().run()
    assert "stale: milestone" in at.error[0].value and "'fr2'" in at.error[0].value
    assert db(demo_url, lambda ctx: ctx.session.get(Milestone, deal["m1"]).forecast_on) == days(80)


def test_plan_a_new_milestone(page, demo_url, deal):
    at = open_contract(page("ar", PAGE), deal["contract"])
    field(at.text_input, "delivery-plan-name").input("Training 培训")
    field(at.date_input, "delivery-plan-planned").set_value(days(120))
    submit(at, "delivery-plan")
    rows = db(demo_url, lambda ctx: [(m.name, m.planned_on, m.seq) for m in ctx.session.exec(
        select(Milestone).where(Milestone.contract_id == deal["contract"]).order_by(Milestone.seq)).all()])
    assert rows == [("Go-live", days(60), 1), ("Training 培训", days(120), 2)]
    assert "Milestone 'Training 培训' planned." in texts(at)


def test_planning_without_a_date_shows_the_core_refusal_and_changes_nothing(page, demo_url, deal):
    at = open_contract(page("fr", PAGE), deal["contract"])
    field(at.text_input, "delivery-plan-name").input("No date")
    submit(at, "delivery-plan")
    assert at.error[0].value == "Planned on: is required"   # named by the form's label
    assert db(demo_url, lambda ctx: len(ctx.session.exec(select(Milestone).where(
        Milestone.contract_id == deal["contract"])).all())) == 1


# -- acceptance ------------------------------------------------------------------------------------

def certificates(demo_url_dir) -> list:
    folder = demo_url_dir / "certificates"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_final_acceptance_with_a_certificate_releases_the_payment_terms(page, demo_url, deal, tmp_path):
    at = show(open_contract(page("fr", PAGE), deal["contract"]), "Acceptance")
    accept(at, deal["m1"], "final", on=days(-2), upload=("终验证书 final.pdf", PDF, "application/pdf"))
    assert not at.error
    ms = db(demo_url, lambda ctx: ctx.session.get(Milestone, deal["m1"]))
    assert (ms.status, ms.accepted_on) == (MilestoneStatus.ACCEPTED, days(-2))
    assert db(demo_url, lambda ctx: ctx.session.get(PaymentTerm, deal["final"]).released_on) == days(-2)
    ref = db(demo_url, lambda ctx: ctx.session.exec(select(Acceptance.certificate_ref).where(
        Acceptance.milestone_id == deal["m1"])).one())
    assert ref.startswith(f"certificates/{days(-2).year}/") and ref.endswith("-终验证书_final.pdf")
    assert (tmp_path / "data" / ref).read_bytes() == PDF
    assert "Payment terms released: Final acceptance 60% (600,000.00)" in texts(at)
    assert "Every milestone is finally accepted." in texts(at)
    assert [b.label for b in at.get("download_button") if "终验证书" in b.label]


def test_an_exe_renamed_pdf_is_refused_and_nothing_is_accepted_or_stored(page, demo_url, deal, tmp_path):
    at = show(open_contract(page("fr", PAGE), deal["contract"]), "Acceptance")
    accept(at, deal["m1"], "final", upload=("certificate.pdf", EXE, "application/pdf"))
    assert "'certificate.pdf' is named .pdf but its content is not a PDF document" in at.error[0].value
    assert db(demo_url, lambda ctx: ctx.session.get(Milestone, deal["m1"]).status) == MilestoneStatus.PLANNED
    assert db(demo_url, lambda ctx: ctx.session.exec(select(Acceptance).where(
        Acceptance.milestone_id == deal["m1"])).all()) == []
    assert certificates(tmp_path / "data") == []


def test_a_refused_acceptance_shows_the_core_message_and_keeps_no_certificate(page, demo_url, deal, tmp_path):
    signed_on = db(demo_url, lambda ctx: ctx.session.get(Contract, deal["contract"]).signed_on)
    at = show(open_contract(page("fr", PAGE), deal["contract"]), "Acceptance")
    accept(at, deal["m1"], "preliminary", on=signed_on - timedelta(days=1),
           upload=("prelim.pdf", PDF, "application/pdf"))
    assert "is before contract 'HT-TEST-0001' was signed" in at.error[0].value
    assert db(demo_url, lambda ctx: ctx.session.get(Milestone, deal["m1"]).status) == MilestoneStatus.PLANNED
    assert certificates(tmp_path / "data") == []


def test_preliminary_acceptance_without_a_certificate(page, demo_url, deal):
    at = show(open_contract(page("fr", PAGE), deal["contract"]), "Acceptance")
    accept(at, deal["m1"])          # preliminary, today, no file
    assert db(demo_url, lambda ctx: ctx.session.get(Milestone, deal["m1"]).status) == MilestoneStatus.PRELIMINARY
    assert db(demo_url, lambda ctx: ctx.session.get(PaymentTerm, deal["final"]).released_on) is None
    assert "Preliminary acceptance (初验) of 'Go-live' recorded." in texts(at)   # which kind, said
    ms = next(d.value for d in show(at, "Milestones").dataframe if "Preliminary on" in d.value.columns)
    assert str(TODAY) in str(ms["Preliminary on"].iloc[0])


# -- costs -----------------------------------------------------------------------------------------

def test_finance_records_a_cost_and_it_shows_in_the_list_and_the_actuals(page, demo_url, deal):
    at = open_contract(page("finance", PAGE), deal["contract"])
    assert not [b for b in show(at, "Acceptance").button if b.key and b.key.startswith("FormSubmitter:")]
    show(at, "Costs")
    field(at.selectbox, "delivery-cost-category").select("hardware")
    field(at.text_input, "delivery-cost-amount").input("12,500.50")
    field(at.text_input, "delivery-cost-description").input("servers")
    submit(at, "delivery-cost")
    rows = db(demo_url, lambda ctx: [(c.category, c.amount, c.description) for c in ctx.session.exec(
        select(CostEntry).where(CostEntry.contract_id == deal["contract"])).all()])
    assert [(c, str(a), d) for c, a, d in rows] == [("hardware", "12500.50", "servers")]
    show(at, "Four calculations")
    calc = next(d.value for d in at.dataframe if "Calculation" in d.value.columns).set_index("Calculation")
    assert float(calc.at["Actuals (核算)", "Cost"]) == 12500.50


def test_a_bad_cost_amount_shows_the_core_refusal_and_changes_nothing(page, demo_url, deal):
    at = show(open_contract(page("fr", PAGE), deal["contract"]), "Costs")
    field(at.text_input, "delivery-cost-amount").input("a lot")
    submit(at, "delivery-cost")
    assert at.error[0].value == "Amount: 'a lot' is not an amount"
    assert db(demo_url, lambda ctx: ctx.session.exec(select(CostEntry).where(
        CostEntry.contract_id == deal["contract"])).all()) == []


def test_chinese_labels_and_column_headers(page, deal):
    at = open_contract(page("fr", PAGE, lang="zh"), deal["contract"])
    assert "交付验收" in texts(at) and "里程碑:计划与预测日期" in texts(at)
    at.session_state["delivery-tab"] = "验收"
    at.run()
    assert "登记验收" in texts(at)


def test_every_column_header_has_a_label():
    for name in ("CONTRACT_COLUMNS", "MILESTONE_COLUMNS", "TERM_COLUMNS", "COST_COLUMNS", "CALC_COLUMNS",
                 "PORTFOLIO_COLUMNS"):
        for col in getattr(q, name):
            key = "delivery.col." + "".join(ch if ch.isalnum() else "_" for ch in
                                            col.lower().replace("%", "pct")).strip("_")
            assert key in catalogue(), key
