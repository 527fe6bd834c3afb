"""Leads: scorecard, assignment, duplicates, merge, qualify / disqualify, convert; allowed and refused."""
import copy
from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import func, select

from core import clock
from config.settings import load
from core.context import snapshot
from core.enums import Authority, Grade, LeadStatus, Need, Stage
from core.errors import DuplicateError, GateError, PermissionDenied, StaleVersionError, ValidationError
from core.models import Account, AuditEvent, Contact, Lead, Opportunity, Setting, StageChange, User
from core.services import leads, users


def capture(world, who="marketing", **kw):
    fields = dict(company="Acme Co., Ltd.", contact="Li Na", phone="13800138000", email="li@acme.cn",
                  source="website", region="North", industry="Retail")
    fields.update(kw)
    return world.do(who, leads.capture_lead, **fields)   # source= is the lead's: perform's own is origin=


def count(world, model, *conds):
    def q(ctx):
        stmt = select(func.count()).select_from(model)
        return ctx.session.exec(stmt.where(*conds) if conds else stmt).one()
    return world.read(q)


def owner_login(world, lead_id):
    def q(ctx):
        lead = ctx.session.get(Lead, lead_id)
        return ctx.session.get(User, lead.owner_id).login if lead.owner_id else None
    return world.read(q)


def deactivate(world, *logins):
    for login in logins:
        world.do("admin", users.update_user, world.users[login].id, active=False)


def history(world, entity, entity_id):
    return world.read(lambda ctx: [(s.from_stage, s.to_stage) for s in ctx.session.exec(
        select(StageChange).where(StageChange.entity == entity, StageChange.entity_id == entity_id)
        .order_by(StageChange.id)).all()])


def audit_actions(world, entity, entity_id):
    return world.read(lambda ctx: [(e.action, e.user_login, e.source) for e in ctx.session.exec(
        select(AuditEvent).where(AuditEvent.entity == entity, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.id)).all()])


# -- scorecard (config/leads.toml) ----------------------------------------------------------------

@pytest.mark.parametrize("budget,points", [
    (None, 0), (Decimal("0"), 0), (Decimal("1"), 5), (Decimal("99999.99"), 5), (Decimal("100000"), 10),
    (Decimal("299999.99"), 10), (Decimal("300000"), 18), (Decimal("999999.99"), 18), (Decimal("1000000"), 25)])
def test_budget_points_at_thresholds(budget, points):
    assert leads.score_lead(budget, Authority.UNKNOWN, Need.NONE, None)[0] == points


@pytest.mark.parametrize("months,points", [(None, 0), (0, 25), (3, 25), (4, 18), (6, 18), (7, 10), (12, 10),
                                           (13, 0)])
def test_timeline_points_at_thresholds(months, points):
    assert leads.score_lead(None, "unknown", "none", months)[0] == points


@pytest.mark.parametrize("args,score,grade", [
    ((Decimal("1000000"), "decision_maker", "urgent", 1), 100, Grade.HOT),
    ((Decimal("1"), "influencer", "urgent", 3), 70, Grade.HOT),          # hot starts at 70
    ((Decimal("300000"), "user", "clear", 3), 69, Grade.WARM),
    ((None, "influencer", "none", 3), 40, Grade.WARM),                   # warm starts at 40
    ((Decimal("1"), "user", "vague", 6), 39, Grade.COLD),
    ((None, "unknown", "none", None), 0, Grade.COLD)])
def test_grades_at_thresholds(args, score, grade):
    assert leads.score_lead(*args) == (score, grade)


# -- capture --------------------------------------------------------------------------------------

def test_capture_scores_normalises_assigns_and_audits(world):
    lid = capture(world, company="ＡＣＭＥ Co., Ltd.", phone="+86 138-0013-8000", email=" Li@Acme.CN ",
                  budget="¥1,200,000", authority="decision_maker", need="urgent", timeline_months="2")
    lead = world.get(Lead, lid)
    assert (lead.company_norm, lead.phone_norm, lead.email_norm) == ("acme", "13800138000", "li@acme.cn")
    assert lead.budget == Decimal("1200000.00") and (lead.score, lead.grade) == (100, Grade.HOT)
    assert lead.status == LeadStatus.ASSIGNED and owner_login(world, lid) == "ar"   # round-robin, first login
    assert history(world, "lead", lid) == [("", "assigned")]
    assert audit_actions(world, "lead", lid) == [("lead.capture", "marketing", "app")]


def test_chinese_labels_for_source_authority_need(world):
    lid = capture(world, source="展会", authority="决策者", need="紧急")
    lead = world.get(Lead, lid)
    assert (lead.source, lead.authority, lead.need) == ("exhibition", Authority.DECISION_MAKER, Need.URGENT)


@pytest.mark.parametrize("kw,field", [
    (dict(company=""), "company"), (dict(company="   "), "company"), (dict(company="!!!"), "company"),
    (dict(phone="", email=""), "phone"), (dict(phone="abc", email=""), "phone"),
    (dict(email="not-an-email"), "email"), (dict(source="tv"), "source"), (dict(budget="-5"), "budget"),
    (dict(budget="lots"), "budget"), (dict(timeline_months="soon"), "timeline_months"),
    (dict(timeline_months=-1), "timeline_months"), (dict(authority="king"), "authority"),
    (dict(need="badly"), "need"), (dict(region="x" * 65), "region"), (dict(owner="sr"), "owner"),
    (dict(owner="nobody"), "owner")])
def test_capture_refuses_bad_input_and_writes_nothing(world, kw, field):
    with pytest.raises(ValidationError) as exc:
        capture(world, **kw)
    assert exc.value.field == field
    assert count(world, Lead) == 0 and count(world, AuditEvent, AuditEvent.entity == "lead") == 0
    assert count(world, Setting) == 0


@pytest.mark.parametrize("role", ["sr", "fr", "finance", "legal", "leader"])
def test_capture_needs_marketing_ar_or_admin(world, role):
    with pytest.raises(PermissionDenied, match="lead.capture"):
        capture(world, who=role)
    assert count(world, Lead) == 0


def test_ar_may_capture(world):
    assert world.get(Lead, capture(world, who="ar")).status == LeadStatus.ASSIGNED


# -- assignment -----------------------------------------------------------------------------------

def test_assignment_rules_first_match_wins_and_leave_round_robin_alone(world):
    east = capture(world, company="East Co", region=" east ")              # rule 1, case-insensitive
    energy = capture(world, company="Energy Co", industry="Energy")         # rule 2
    both = capture(world, company="Both Co", region="East", industry="Energy")  # rule 1 comes first
    assert [owner_login(world, i) for i in (east, energy, both)] == ["ar", "ar2", "ar"]
    assert count(world, Setting) == 0


def test_round_robin_by_login_survives_restarts(world):
    owners = [owner_login(world, capture(world, company=f"Co {i}")) for i in range(3)]
    assert owners == ["ar", "ar2", "ar"]   # each capture is its own session: the pointer is in the DB
    assert world.read(lambda ctx: ctx.session.get(Setting, leads.ROUND_ROBIN_KEY).value) == "ar"
    world.do("admin", users.create_user, "ar1", roles=["ar", "marketing"])   # sorts between ar and ar2
    world.do("admin", users.create_user, "ar0x", roles=["sr"])              # not an ar: never served
    owners = [owner_login(world, capture(world, company=f"Next {i}")) for i in range(4)]
    assert owners == ["ar1", "ar2", "ar", "ar1"]


def test_inactive_ar_is_skipped_and_a_rule_naming_it_falls_back(world):
    deactivate(world, "ar2")
    energy = capture(world, company="Energy Co", industry="Energy")   # rule owner ar2 is inactive
    other = capture(world, company="Other Co")
    assert owner_login(world, energy) == "ar" and owner_login(world, other) == "ar"


def test_rule_naming_an_unknown_login_falls_back_to_round_robin(world, monkeypatch):
    cfg = copy.deepcopy(load("leads"))
    cfg["assignment"] = [{"region": "North", "owner": "ghost"}, {"region": "North", "owner": "ar2"}]
    monkeypatch.setattr(leads, "_cfg", lambda: cfg)
    lid = capture(world, region="North")
    assert owner_login(world, lid) == "ar"   # round-robin, not the next rule
    assert world.read(lambda ctx: ctx.session.get(Setting, leads.ROUND_ROBIN_KEY).value) == "ar"


def test_no_active_ar_leaves_the_lead_new_and_unassigned(world):
    deactivate(world, "ar", "ar2")
    lead = world.get(Lead, capture(world))
    assert lead.owner_id is None and lead.status == LeadStatus.NEW
    assert history(world, "lead", lead.id) == [("", "new")]


def test_capture_with_an_owner(world):
    lid = capture(world, owner="ar2", region="East")   # explicit owner beats the rule
    assert owner_login(world, lid) == "ar2" and count(world, Setting) == 0


# -- duplicates -----------------------------------------------------------------------------------

def test_duplicate_by_normalised_company_and_phone_or_email(world):
    first = capture(world)
    with pytest.raises(DuplicateError, match=f"lead {first}") as exc:
        capture(world, company="ACME co ltd", phone="+86 138 0013 8000", email="")
    assert exc.value.existing_id == first and "phone" in str(exc.value)
    with pytest.raises(DuplicateError, match=f"lead {first}.*e-mail"):
        capture(world, company="ＡＣＭＥ Limited", phone="", email="LI@ACME.CN")
    assert count(world, Lead) == 1
    capture(world, phone="13900000000", email="other@acme.cn")      # same company, another person
    capture(world, company="Beta Ltd")                              # same person, another company
    assert count(world, Lead) == 3


def test_allow_duplicate_records_what_it_duplicates(world):
    first = capture(world)
    second = capture(world, company="acme limited", allow_duplicate=True, owner="ar")
    assert world.get(Lead, second).duplicate_of_id == first
    assert world.do("marketing", leads.find_duplicates, first) == [second]
    assert world.do("ar", leads.find_duplicates, second) == [first]


def test_merged_leads_are_not_duplicates_any_more(world):
    keep = capture(world)
    drop = capture(world, allow_duplicate=True)
    world.do("marketing", leads.merge_leads, keep, drop)
    assert world.do("marketing", leads.find_duplicates, keep) == []
    assert world.do("marketing", leads.find_duplicates, drop) == []
    with pytest.raises(DuplicateError) as exc:
        capture(world)
    assert exc.value.existing_id == keep


# -- update ---------------------------------------------------------------------------------------

def test_update_rescores_renormalises_and_audits(world):
    lid = capture(world)
    lead = world.get(Lead, lid)
    assert lead.score == 8   # unknown authority, vague need
    world.do("ar", leads.update_lead, lid, version=lead.version, budget="2000000", need="urgent",
             company="Acme Holdings 有限公司", timeline_months=3)
    after = world.get(Lead, lid)
    assert (after.score, after.grade, after.company_norm) == (75, Grade.HOT, "acmeholdings")
    assert after.version > lead.version and after.phone == lead.phone
    assert audit_actions(world, "lead", lid)[-1] == ("lead.update", "ar", "app")


@pytest.mark.parametrize("kw,error", [
    (dict(email="bad"), ValidationError), (dict(phone="", email=""), ValidationError),
    (dict(owner="ar2"), ValidationError), (dict(score=100), ValidationError),
    (dict(status="qualified"), ValidationError), (dict(version=99, contact="x"), StaleVersionError)])
def test_update_refusals_change_nothing(world, kw, error):
    lid = capture(world)
    before = snapshot(world.get(Lead, lid))
    with pytest.raises(error):
        world.do("marketing", leads.update_lead, lid, **kw)
    assert snapshot(world.get(Lead, lid)) == before


def test_update_into_a_duplicate_is_refused_unless_allowed(world):
    a = capture(world)
    b = capture(world, company="Beta Ltd", phone="13900000000", email="")
    with pytest.raises(DuplicateError, match=f"lead {a}"):
        world.do("marketing", leads.update_lead, b, company="ACME Ltd", phone="13800138000")
    assert world.get(Lead, b).company == "Beta Ltd"
    world.do("marketing", leads.update_lead, b, company="ACME Ltd", phone="13800138000", allow_duplicate=True)
    assert world.get(Lead, b).duplicate_of_id == a


def test_update_needs_marketing_or_ar(world):
    lid = capture(world)
    with pytest.raises(PermissionDenied, match="lead.update"):
        world.do("leader", leads.update_lead, lid, contact="x")


# -- assign ---------------------------------------------------------------------------------------

def test_assign_moves_a_new_lead_to_assigned(world):
    deactivate(world, "ar2")
    world.do("admin", users.update_user, world.users["ar"].id, active=False)
    lid = capture(world)
    assert world.get(Lead, lid).status == LeadStatus.NEW
    world.do("admin", users.update_user, world.users["ar2"].id, active=True)
    with pytest.raises(ValidationError, match="'ar' is not an active user with the ar role"):
        world.do("leader", leads.assign_lead, lid, "ar")     # inactive
    with pytest.raises(ValidationError, match="owner"):
        world.do("leader", leads.assign_lead, lid, "sr")     # not an ar
    with pytest.raises(PermissionDenied, match="lead.assign"):
        world.do("ar2", leads.assign_lead, lid, "ar2")
    lead = world.get(Lead, lid)
    with pytest.raises(StaleVersionError):
        world.do("leader", leads.assign_lead, lid, "ar2", version=lead.version - 1)
    assert world.get(Lead, lid).owner_id is None
    world.do("leader", leads.assign_lead, lid, "ar2", version=lead.version)
    lead = world.get(Lead, lid)
    assert lead.status == LeadStatus.ASSIGNED and owner_login(world, lid) == "ar2"
    assert history(world, "lead", lid) == [("", "new"), ("new", "assigned")]
    world.do("marketing", leads.assign_lead, lid, "ar2")   # reassigning keeps the status
    assert world.get(Lead, lid).status == LeadStatus.ASSIGNED


# -- merge ----------------------------------------------------------------------------------------

def test_merge_fills_the_kept_leads_empty_fields(world):
    keep = capture(world, contact="", email="", region="", need_text="")
    drop = capture(world, company="ACME Limited", contact="Wang Fang", phone="13900000000", email="wf@acme.cn",
                   region="East", need_text="ERP", budget="500000", authority="influencer")
    world.do("ar", leads.merge_leads, keep, drop)
    k, d = world.get(Lead, keep), world.get(Lead, drop)
    assert (k.contact, k.email, k.email_norm, k.region, k.need_text, k.budget, k.authority) == (
        "Wang Fang", "wf@acme.cn", "wf@acme.cn", "East", "ERP", Decimal("500000.00"), Authority.INFLUENCER)
    assert k.phone == "13800138000"                  # not empty: kept
    assert k.score == leads.score_lead(Decimal("500000"), "influencer", "vague", None)[0] == 41
    assert d.status == LeadStatus.MERGED and d.merged_into_id == keep
    assert history(world, "lead", drop)[-1] == ("assigned", "merged")
    assert [a for a, *_ in audit_actions(world, "lead", keep)][-1] == "lead.merge"
    assert [a for a, *_ in audit_actions(world, "lead", drop)][-1] == "lead.merge"


def test_merge_refusals_change_nothing(world):
    a = capture(world, owner="ar")
    b = capture(world, allow_duplicate=True, owner="ar")
    c = capture(world, allow_duplicate=True, owner="ar")
    world.do("ar", leads.qualify_lead, c)
    world.do("ar", leads.convert_lead, c)
    world.do("ar", leads.merge_leads, a, b)
    before = {i: snapshot(world.get(Lead, i)) for i in (a, b, c)}
    with pytest.raises(ValidationError, match="itself"):
        world.do("ar", leads.merge_leads, a, a)
    with pytest.raises(GateError, match="converted"):
        world.do("ar", leads.merge_leads, a, c)
    with pytest.raises(GateError, match="converted"):
        world.do("ar", leads.merge_leads, c, a)
    with pytest.raises(GateError, match=f"merged into lead {a}"):
        world.do("ar", leads.merge_leads, a, b)
    with pytest.raises(PermissionDenied, match="lead.merge"):
        world.do("leader", leads.merge_leads, a, b)
    assert {i: snapshot(world.get(Lead, i)) for i in (a, b, c)} == before


# -- qualify / disqualify --------------------------------------------------------------------------

def test_qualify_and_disqualify_with_reason(world):
    lid = capture(world)
    with pytest.raises(ValidationError) as exc:
        world.do("ar", leads.disqualify_lead, lid, "   ")
    assert exc.value.field == "reason" and world.get(Lead, lid).status == LeadStatus.ASSIGNED
    world.do("ar", leads.disqualify_lead, lid, reason="No budget this year 今年无预算")
    lead = world.get(Lead, lid)
    assert lead.status == LeadStatus.DISQUALIFIED and lead.disqualify_reason == "No budget this year 今年无预算"
    with pytest.raises(GateError, match="already disqualified"):
        world.do("ar", leads.disqualify_lead, lid, "again")
    world.do("marketing", leads.qualify_lead, lid, version=lead.version)   # budget found after all
    lead = world.get(Lead, lid)
    assert lead.status == LeadStatus.QUALIFIED and lead.disqualify_reason == ""
    with pytest.raises(GateError, match="already qualified"):
        world.do("ar", leads.qualify_lead, lid)
    assert history(world, "lead", lid) == [("", "assigned"), ("assigned", "disqualified"),
                                           ("disqualified", "qualified")]
    assert [a for a, *_ in audit_actions(world, "lead", lid)] == ["lead.capture", "lead.disqualify", "lead.qualify"]


def test_qualify_permissions_and_stale_version(world):
    lid = capture(world)
    with pytest.raises(PermissionDenied, match="lead.qualify"):
        world.do("finance", leads.qualify_lead, lid)
    with pytest.raises(PermissionDenied, match="lead.disqualify"):
        world.do("leader", leads.disqualify_lead, lid, "no")
    with pytest.raises(StaleVersionError):
        world.do("ar", leads.qualify_lead, lid, version=0)
    assert world.get(Lead, lid).status == LeadStatus.ASSIGNED


# -- convert --------------------------------------------------------------------------------------

def test_convert_creates_account_contact_and_opportunity(world):
    lid = capture(world, region="East", industry="Manufacturing", budget="800000", timeline_months=6)
    world.do("ar", leads.qualify_lead, lid)
    opp_id = world.do("ar", leads.convert_lead, lid, opportunity_name="Acme ERP 2027")
    opp, lead = world.get(Opportunity, opp_id), world.get(Lead, lid)
    account = world.get(Account, opp.account_id)
    assert (opp.name, opp.stage, opp.lead_id, opp.amount) == ("Acme ERP 2027", Stage.INITIATION, lid,
                                                              Decimal("800000.00"))
    assert opp.ar_id == lead.owner_id == world.users["ar"].id
    assert (opp.region, opp.industry) == ("East", "Manufacturing")
    assert opp.expected_close is not None and opp.expected_close > clock.today()
    assert (account.name, account.name_norm) == ("Acme Co., Ltd.", "acme")
    contacts = world.read(lambda ctx: ctx.session.exec(select(Contact).where(Contact.account_id == account.id)).all())
    assert [(c.name, c.phone, c.email) for c in contacts] == [("Li Na", "13800138000", "li@acme.cn")]
    assert lead.status == LeadStatus.CONVERTED
    assert history(world, "opportunity", opp_id) == [("", "initiation")]
    assert history(world, "lead", lid)[-1] == ("qualified", "converted")
    assert ("lead.convert", "ar", "app") in audit_actions(world, "opportunity", opp_id)
    # a converted lead is closed
    for who, fn, args in (("ar", leads.convert_lead, ()), ("ar", leads.qualify_lead, ()),
                          ("ar", leads.disqualify_lead, ("x",)), ("ar", leads.update_lead, ()),
                          ("leader", leads.assign_lead, ("ar2",))):
        with pytest.raises(GateError, match="converted"):
            world.do(who, fn, lid, *args)
    assert count(world, Opportunity) == 1


def test_convert_reuses_the_account_by_normalised_name_and_known_contacts(world):
    first = capture(world, owner="ar")
    second = capture(world, company="ACME Limited", contact="Wang Fang", phone="13900000000", email="wf@acme.cn",
                     owner="ar")
    third = capture(world, company="ＡＣＭＥ Inc.", phone="13900000000", email="", allow_duplicate=True, owner="ar")
    opp_ids = []
    for lid in (first, second, third):
        world.do("ar", leads.qualify_lead, lid)
        opp_ids.append(world.do("ar", leads.convert_lead, lid, amount="100000", expected_close="2027-03-31"))
    opps = [world.get(Opportunity, i) for i in opp_ids]
    assert count(world, Account) == 1 and len({o.account_id for o in opps}) == 1
    assert count(world, Contact) == 2   # the third lead's phone is already a contact of the account
    assert opps[2].name == "ＡＣＭＥ Inc." and opps[2].expected_close == date(2027, 3, 31)
    assert opps[2].amount == Decimal("100000.00")


def test_convert_refusals_write_nothing(world):
    assigned = capture(world, owner="ar")
    disq = capture(world, company="Beta Ltd", owner="ar")
    world.do("ar", leads.disqualify_lead, disq, "student project")
    with pytest.raises(GateError, match=f"only a qualified lead converts.*lead {assigned} is assigned"):
        world.do("ar", leads.convert_lead, assigned)
    with pytest.raises(GateError, match="disqualified"):
        world.do("ar", leads.convert_lead, disq)
    qualified = capture(world, company="Gamma Ltd")
    world.do("ar", leads.qualify_lead, qualified)
    with pytest.raises(ValidationError) as exc:
        world.do("ar", leads.convert_lead, qualified, amount="-1")
    assert exc.value.field == "amount"
    with pytest.raises(ValidationError):
        world.do("ar", leads.convert_lead, qualified, expected_close="someday")
    with pytest.raises(PermissionDenied, match="lead.convert"):
        world.do("marketing", leads.convert_lead, qualified)
    deactivate(world, "ar", "ar2")
    orphan = capture(world, company="Delta Ltd")
    world.do("marketing", leads.qualify_lead, orphan)
    with pytest.raises(GateError, match="no owner"):
        world.do("leader", leads.convert_lead, orphan)
    with pytest.raises(GateError, match="'ar' is not an active ar user"):
        world.do("leader", leads.convert_lead, qualified)   # its owner left
    assert count(world, Opportunity) == 0 and count(world, Account) == 0 and count(world, Contact) == 0
    assert world.get(Lead, qualified).status == LeadStatus.QUALIFIED
