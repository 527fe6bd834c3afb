"""Lead triage, issue 10: actions carry the version the person saw, core's offers decide what is offered, a
converted lead links to its opportunity, every lead opens by address, the capture form records once and shows
every error at once, and people read names and words, not codes."""
import pytest
from sqlmodel import func, select
from streamlit.testing.v1 import AppTest

from core import validate
from core.models import Lead, Opportunity
from core.services import leads
from tests.app.test_leads import PAGE, act_as, button, db, field, first_own_open, lead, links, select_lead, table


def count(url) -> int:
    return db(url, lambda ctx: ctx.session.exec(select(func.count()).select_from(Lead)).one())


def opened(page, login: str, lead_id: int) -> AppTest:
    """The page opened by the lead's address, as a pasted link or a My work link opens it."""
    at = page(login, PAGE)
    at.query_params["lead"] = str(lead_id)
    return at.run()


# -- (1) a stale triage action is refused, naming who changed the lead ------------------------------------

def _assign(at, lead_id):
    at.selectbox(key=f"leads-assign-owner-{lead_id}").select("ar2")
    button(at, "Assign").click().run()


def _qualify(at, lead_id):
    at.button(key=f"leads-qualify-{lead_id}").click().run()


def _disqualify(at, lead_id):
    at.text_input(key=f"leads-dq-reason-{lead_id}").input("No budget this year")
    button(at, "Disqualify").click().run()


@pytest.mark.parametrize("act", [_assign, _qualify, _disqualify], ids=["assign", "qualify", "disqualify"])
def test_a_triage_action_on_a_lead_changed_meanwhile_is_refused(page, demo_url, act):
    lead_id = first_own_open(demo_url)
    at = select_lead(page("marketing", PAGE), lead_id)     # the person sees the lead ...
    act_as(demo_url, "ar", leads.update_lead, lead_id, contact="Changed by ar")   # ... a colleague changes it
    before = lead(demo_url, lead_id)
    act(at, lead_id)
    assert not at.exception
    assert any("stale" in e.value and "'ar'" in e.value for e in at.error)
    after = lead(demo_url, lead_id)
    assert (after.version, after.status, after.owner_id) == (before.version, before.status, before.owner_id)
    button(at, "Reload").click().run()       # reloaded, the person acts on what is there now
    _qualify(at, lead_id)
    assert not at.error and lead(demo_url, lead_id).status.value == "qualified"


# -- (10) offers from core; a converted lead links to its opportunity ------------------------------------

def test_actions_follow_cores_offers(page, demo_url):
    lead_id = first_own_open(demo_url)
    act_as(demo_url, "ar", leads.qualify_lead, lead_id)
    at = select_lead(page("ar", PAGE), lead_id)
    qualify = at.button(key=f"leads-qualify-{lead_id}")
    assert qualify.disabled and f"lead {lead_id} is already qualified" in qualify.help
    assert not button(at, "Convert").disabled


def test_converting_says_so_with_a_link_to_the_opportunity(page, demo_url):
    lead_id = first_own_open(demo_url)
    act_as(demo_url, "ar", leads.qualify_lead, lead_id)
    at = select_lead(page("ar", PAGE), lead_id)
    button(at, "Convert").click().run()
    assert not at.exception and not at.error
    opp = db(demo_url, lambda ctx: ctx.session.exec(select(Opportunity).where(Opportunity.lead_id == lead_id)).one())
    assert f"Lead {lead_id} converted." in [s.value for s in at.success]
    to_opp = [x for x in links(at) if x.query_string == f"opportunity={opp.id}"]
    assert to_opp and str(opp.id) in to_opp[0].label and to_opp[0].page.endswith("initiation")
    convert = button(at, "Convert")
    assert convert.disabled and "converted" in convert.help
    # opened later by its address (converted leads are not in the open inbox), it still links to the deal
    again = opened(page, "ar", lead_id)
    assert not again.exception and not again.warning
    assert f"opportunity={opp.id}" in [x.query_string for x in links(again)]


# -- every lead opens by address, with details, history and actions -------------------------------------

def test_a_lead_opens_by_its_address(page, demo_url):
    lead_id = first_own_open(demo_url)
    row = lead(demo_url, lead_id)
    at = opened(page, "leader", lead_id)
    assert not at.exception
    assert at.selectbox(key="leads-selected").value == lead_id
    assert f"{row.company} (#{lead_id})" in [h.value for h in at.subheader]
    assert "History" in [e.label for e in at.expander] or "Record history" in [e.label for e in at.expander]
    assert button(at, "Assign")


def test_nothing_is_preselected_and_a_clicked_row_opens_the_lead(page, demo_url):
    at = page("leader", PAGE)
    assert at.selectbox(key="leads-selected").value is None
    assert not [b for b in at.button if b.label == "Assign"]
    lead_id = int(table(at)["ID"].iloc[2])
    at.session_state["leads-table"] = {"selection": {"rows": [2], "columns": []}}
    at.run()
    assert at.query_params.get("lead") in (str(lead_id), [str(lead_id)])
    assert at.selectbox(key="leads-selected").value == lead_id


def test_an_address_of_no_lead_says_so(page):
    at = opened(page, "ar", 999999)
    assert not at.exception and at.warning and at.selectbox(key="leads-selected").value is None


# -- the capture form -------------------------------------------------------------------------------------

def test_capture_records_once_however_often_it_is_submitted(page, demo_url):
    at = page("marketing", PAGE)
    before = count(demo_url)
    token = at.session_state["once-leads-capture"]
    field(at, "Company").input("Twice Clicked Ltd")
    field(at, "Phone").input("13911112222")
    button(at, "Capture").click().run()
    assert count(demo_url) == before + 1
    at.session_state["once-leads-capture"] = token      # the second click of a double click: the same form
    at.run()
    field(at, "Company").input("Twice Clicked Ltd")
    field(at, "Phone").input("13911112222")
    button(at, "Capture").click().run()
    assert not at.exception and not at.error
    assert count(demo_url) == before + 1


def test_capture_keeps_the_source_the_person_chose(page, demo_url):
    """The lead's `source=` used to be swallowed by perform's own parameter of that name: stored as 'other'."""
    from core.context import SYSTEM, unit_of_work
    from core.models import Lead
    from sqlmodel import select

    at = page("marketing", PAGE)
    next(b for b in at.selectbox if b.key and b.key.startswith("leads-capture-source-")).set_value("exhibition")
    field(at, "Company").input("Source Kept Ltd")
    field(at, "Phone").input("13911113333")
    button(at, "Capture").click().run()
    assert [e.value for e in at.error] == []
    assert not at.exception and not at.error
    with unit_of_work(SYSTEM, "test", url=demo_url) as ctx:
        lead = ctx.session.exec(select(Lead).where(Lead.company == "Source Kept Ltd")).one()
    assert lead.source == "exhibition"


def test_capture_shows_every_bad_field_at_once_by_its_label(page, demo_url):
    at = page("marketing", PAGE)
    before = count(demo_url)
    field(at, "Phone").input("12")
    field(at, "E-mail").input("not-an-address")
    field(at, "Budget").input("lots")
    button(at, "Capture").click().run()
    shown = [e.value for e in at.error]
    assert any(m.startswith("Company: is required") for m in shown)
    assert any(m.startswith("Phone: '12' is not a phone number") for m in shown)
    assert any(m.startswith("E-mail:") for m in shown)
    assert any(m.startswith("Budget: 'lots' is not an amount") for m in shown)
    assert count(demo_url) == before


def test_text_inputs_are_limited_to_what_core_takes(page):
    at = page("marketing", PAGE)
    for label, name in (("Company", "company"), ("Contact", "contact"), ("Phone", "phone"), ("E-mail", "email"),
                        ("Region", "region"), ("Industry", "industry")):
        assert field(at, label).proto.max_chars == validate.limit(name), label
    need = next(a for a in at.text_area if a.label == "Need description")
    assert need.proto.max_chars == validate.limit("need_text")


# -- words, not codes -------------------------------------------------------------------------------------

def test_the_read_only_inbox_shows_words_names_and_no_internal_columns(page, demo_url):
    at = page("leader", PAGE, lang="zh")
    df = table(at)
    codes = {"new", "assigned", "qualified", "hot", "warm", "cold", "website", "referral", "exhibition"}
    assert not codes & (set(df["status"]) | set(df["grade"]) | set(df["source"]))
    assert "已分配" in set(df["status"]) and "热" in set(df["grade"])
    shown = list(at.dataframe[0].proto.column_order)
    assert "ID" not in shown and "Version" not in shown and "owner" not in shown and "owner_name" in shown
    assert "Alex Chen 陈亮" in set(df["owner_name"]) and "ar" not in set(df["owner_name"])


def test_the_edit_table_shows_owners_by_name_and_hides_internal_columns(page):
    at = page("marketing", PAGE)
    shown = list(at.data_editor[0].proto.column_order)
    assert "ID" not in shown and "Version" not in shown and "owner" not in shown and "owner_name" in shown


# -- the edit table shows budgets with separators and takes one typed that way -------------------------

def test_the_edit_table_shows_the_budget_with_separators_and_saves_one_typed_so(page, demo_url):
    at = page("marketing", PAGE)
    assert not at.exception
    (seen_key,) = [k for k in at.session_state if str(k).startswith("leads-editor-before-")]
    before = at.session_state[seen_key]
    budgets = [b for b in before["budget"] if b is not None]
    assert budgets and all("," in b or float(b.replace(",", "")) < 1000 for b in budgets), budgets[:5]
    assert all(b.count(".") == 1 and len(b.split(".")[1]) == 2 for b in budgets)
    row = 0
    lead_id = int(before.iloc[row]["ID"])
    at.session_state[seen_key.removeprefix("leads-editor-before-")] = {
        "edited_rows": {row: {"budget": "2,500,000"}}, "added_rows": [], "deleted_rows": []}
    at.button(key="leads-save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert str(lead(demo_url, lead_id).budget) == "2500000.00"
