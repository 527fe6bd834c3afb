"""Lead import from messy real-world files, generated here: encodings, duplicates, blank lines, bad rows."""
import csv
import io
import json
from datetime import datetime
from decimal import Decimal

import openpyxl
import pytest
from sqlmodel import func, select

from core import leads_import
from core.context import snapshot
from core.enums import Grade, LeadStatus
from core.errors import PermissionDenied, ValidationError
from core.leads_import import import_leads
from core.models import AuditEvent, Lead, Setting, StageChange, User
from core.services import leads

EN = ["Company", "Contact", "Phone", "Email", "Source", "Region", "Industry", "Budget", "Authority", "Need",
      "Timeline months", "Need text", "Owner"]


def write_csv(path, rows, encoding="utf-8-sig", delimiter=","):
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def run(world, path, who="marketing", **kw):
    return world.do(who, import_leads, path, origin="import", **kw)


def count(world, model, *conds):
    def q(ctx):
        stmt = select(func.count()).select_from(model)
        return ctx.session.exec(stmt.where(*conds) if conds else stmt).one()
    return world.read(q)


def all_leads(world):
    return world.read(lambda ctx: ctx.session.exec(select(Lead).order_by(Lead.id)).all())


def logins(world):
    return world.read(lambda ctx: {u.id: u.login for u in ctx.session.exec(select(User)).all()})


def capture(world, **kw):
    fields = dict(company="Acme Co., Ltd.", phone="13800138000")
    fields.update(kw)
    return world.do("marketing", lambda ctx: leads.capture_lead(ctx, **fields))


# -- encodings and layouts ------------------------------------------------------------------------

@pytest.mark.parametrize("encoding,delimiter", [("utf-8-sig", ","), ("utf-8", ","), ("gbk", ","),
                                                ("gb18030", ","), ("utf-16", "\t"), ("utf-8", ";")])
def test_encodings_chinese_headers_any_order_extra_columns(world, tmp_path, encoding, delimiter):
    path = write_csv(tmp_path / "线索.csv", [
        ["备注", "手机", "公司名称", "邮箱", "来源", "区域", "行业", "预算", "决策权", "需求", "采购周期（月）", "需求描述",
         "联系人"],
        ["VIP", "138 0013 8000", "北京堃昇科技有限公司", "", "展会", "华北", "能源", "1,000,000", "决策者", "紧急", "3",
         "ERP 升级", "张伟"],
        ["", "", "上海喆珺贸易有限公司", "li@zj.cn", "website", "East", "", "", "", "", "", "", "李娜"],
    ], encoding=encoding, delimiter=delimiter)
    report = run(world, path)
    assert (report.total, report.created, report.merged, report.rejected) == (2, 2, 0, [])
    first, second = all_leads(world)
    assert (first.company, first.company_norm, first.contact) == ("北京堃昇科技有限公司", "北京堃昇科技", "张伟")
    assert (first.source, first.region, first.need_text, first.budget) == ("exhibition", "华北", "ERP 升级",
                                                                            Decimal("1000000.00"))
    assert (first.score, first.grade) == (100, Grade.HOT) and first.phone_norm == "13800138000"
    assert second.company == "上海喆珺贸易有限公司" and second.email_norm == "li@zj.cn"
    assert logins(world)[second.owner_id] == "ar"   # region East: the rule


def test_gbk_only_characters_survive(world, tmp_path):
    name = "深圳镕祎玥赟琇彧有限公司"   # none of these is in GB2312; Excel saves GBK
    with pytest.raises(UnicodeEncodeError):
        name.encode("gb2312")
    path = write_csv(tmp_path / "gbk.csv", [["公司", "电话"], [name, "13800138000"]], encoding="gbk")
    assert run(world, path).created == 1
    assert all_leads(world)[0].company == name


def test_xlsx_numbers_dates_mixed_case_headers_and_blank_rows(world, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["COMPANY", "Mobile", "E-mail", "Budget", "Timeline (months)", "Owner", "Notes", "Met on"])
    sheet.append(["Acme Ltd", 13800138000, None, 150000.5, 6, "ar2", "first", datetime(2026, 5, 1)])
    sheet.append([None, None, None, None, None, None, None, None])
    sheet.append(["Beta GmbH", 8613900000000.0, "sales@beta.de", "2,000", None, None, None, None])
    sheet.append(["Gamma Inc", None, "not-an-email", None, None, None, None, None])
    book.save(tmp_path / "leads.xlsx")
    report = run(world, tmp_path / "leads.xlsx")
    assert (report.total, report.created, report.merged) == (3, 2, 0)
    assert report.rejected == [(5, "email", "email: 'not-an-email' is not an e-mail address")]
    acme, beta = all_leads(world)
    assert (acme.phone, acme.budget, acme.timeline_months) == ("13800138000", Decimal("150000.50"), 6)
    assert logins(world)[acme.owner_id] == "ar2"
    assert (beta.phone_norm, beta.budget, beta.company_norm) == ("13900000000", Decimal("2000.00"), "beta")


# -- duplicates -----------------------------------------------------------------------------------

@pytest.mark.parametrize("chunk", [5000, 2])   # 2: duplicates of rows already written by an earlier chunk
def test_duplicates_of_existing_leads_and_earlier_rows_are_merged(world, tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(leads_import, "CHUNK", chunk)
    existing = capture(world, contact="", region="")
    seen = snapshot(all_leads(world)[0])
    path = write_csv(tmp_path / "dups.csv", [
        EN,
        ["ACME Limited", "Li Na", "+86 138 0013 8000", "", "", "East", "", "", "", "", "", "", ""],
        ["Beta Ltd", "", "", "b@beta.cn", "", "", "", "", "", "", "", "", ""],
        ["BETA limited", "Wang", "13900000000", "B@BETA.CN", "", "", "", "", "", "", "", "CRM", ""],
        ["ｂｅｔａ", "", "0086 139 0000 0000", "", "", "", "", "500000", "", "", "", "", ""],
        ["Acme Co., Ltd.", "Other", "13800138000", "", "", "West", "", "", "", "", "", "", ""],
    ])
    report = run(world, path)
    assert (report.total, report.created, report.merged, report.rejected) == (5, 1, 4, [])
    acme, beta = all_leads(world)
    assert acme.id == existing and (acme.contact, acme.region) == ("Li Na", "East")   # first filler wins
    assert acme.version > seen["version"] and acme.phone == seen["phone"]
    assert (beta.contact, beta.phone, beta.phone_norm, beta.email, beta.need_text) == (
        "Wang", "13900000000", "13900000000", "b@beta.cn", "CRM")
    assert beta.budget == Decimal("500000.00")
    assert beta.score == leads.score_lead(Decimal("500000"), "unknown", "vague", None)[0]
    assert count(world, Lead) == 2
    events = world.read(lambda ctx: ctx.session.exec(
        select(AuditEvent).where(AuditEvent.entity_id == existing, AuditEvent.action == "lead.import")).all())
    assert len(events) == 1 and events[0].source == "import"
    assert json.loads(events[0].before_json) == {"contact": "", "region": ""}
    assert json.loads(events[0].after_json) == {"contact": "Li Na", "region": "East"}


def test_a_duplicate_of_a_converted_lead_counts_as_merged_and_leaves_it_alone(world, tmp_path):
    lid = capture(world, region="")
    world.do("ar", leads.qualify_lead, lid)
    world.do("ar", leads.convert_lead, lid)
    before = snapshot(all_leads(world)[0])
    path = write_csv(tmp_path / "x.csv", [["Company", "Phone", "Region"], ["acme", "13800138000", "East"]])
    report = run(world, path)
    assert (report.created, report.merged) == (0, 1)
    assert snapshot(all_leads(world)[0]) == before


# -- bad input ------------------------------------------------------------------------------------

def test_blank_lines_are_skipped_and_row_numbers_match_the_sheet(world, tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("\r\n\r\nCompany,Phone,Email\r\nAcme,13800138000,\r\n,,\r\n\r\n  ,  ,\r\nBeta,,bad\r\n\r\n",
                    encoding="utf-8")
    report = run(world, path)
    assert (report.total, report.created) == (2, 1)
    assert report.rejected == [(8, "email", "email: 'bad' is not an e-mail address")]


def test_bad_rows_are_reported_and_the_others_imported(world, tmp_path):
    rows = [EN,
            ["Good One", "", "13800000001", "", "", "", "", "", "", "", "", "", ""],
            ["", "", "13800000002", "", "", "", "", "", "", "", "", "", ""],
            ["No Contact", "", "", "", "", "", "", "", "", "", "", "", ""],
            ["Bad Budget", "", "13800000003", "", "", "", "", "lots", "", "", "", "", ""],
            ["Bad Source", "", "13800000004", "", "tv", "", "", "", "", "", "", "", ""],
            ["Bad Owner", "", "13800000005", "", "", "", "", "", "", "", "", "", "sr"],
            ["Bad Months", "", "13800000006", "", "", "", "", "", "", "", "soon", "", ""],
            ["Good Two", "", "", "ok@two.cn", "", "", "", "", "", "", "", "", ""]]
    report = run(world, write_csv(tmp_path / "bad.csv", rows))
    assert (report.total, report.created, report.merged) == (8, 2, 0)
    assert [(row, field) for row, field, _ in report.rejected] == [
        (3, "company"), (4, "phone"), (5, "budget"), (6, "source"), (7, "owner"), (8, "timeline_months")]
    assert all(msg for *_, msg in report.rejected)
    assert "row 7: owner: 'sr' is not an active user with the ar role" in report.summary()
    assert [lead.company for lead in all_leads(world)] == ["Good One", "Good Two"]


def test_ignored_columns_are_named_in_the_report(world, tmp_path):
    """Issue 12: a 时间 column was dropped without a word."""
    rows = [["公司", "时间", "电话", "Notes", ""], ["Acme", "2026-11-01", "13800000001", "call back", ""]]
    report = run(world, write_csv(tmp_path / "extra.csv", rows))
    assert report.created == 1 and report.ignored == ["时间", "Notes"]
    assert "columns ignored (not lead fields): 时间, Notes" in report.summary()


def test_a_formula_cell_is_refused_as_a_formula_naming_its_field(world, tmp_path):
    """Issue 12: a formula cell was reported as "company: is required" (openpyxl saves no cached value)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Company", "Phone", "Region"])
    sheet.append(["Acme", "13800000001", "East"])
    sheet.append(['=CONCAT("Ac","me 2")', "13800000002", "East"])
    sheet.append(["Beta", "=A2", "East"])
    sheet.append(["Gamma", "13800000004", "=B2"])
    book.save(tmp_path / "formulas.xlsx")
    report = run(world, tmp_path / "formulas.xlsx")
    assert (report.total, report.created) == (4, 1)
    assert [(row, field) for row, field, _ in report.rejected] == [(3, "company"), (4, "phone"), (5, "region")]
    assert 'row 3: company: is a formula (=CONCAT("Ac","me 2")), not a value' in report.summary()
    assert [lead.company for lead in all_leads(world)] == ["Acme"]


@pytest.mark.parametrize("header,field,words", [
    (["Contact", "Phone", "Email"], "company", "'Company' (公司)"),
    (["公司名称", "联系人", "区域"], "phone", "'Phone' (电话) or 'Email' (邮箱)"),
])
def test_a_missing_required_column_is_refused_before_anything_is_written(world, tmp_path, header, field, words):
    capture(world)
    before = (count(world, Lead), count(world, AuditEvent), count(world, StageChange), count(world, Setting))
    path = write_csv(tmp_path / "cols.csv", [header] + [["a", "b", "c"]] * 10)
    with pytest.raises(ValidationError) as exc:
        run(world, path)
    assert exc.value.field == field and words in str(exc.value) and "nothing was imported" in str(exc.value)
    assert (count(world, Lead), count(world, AuditEvent), count(world, StageChange), count(world, Setting)) == before


@pytest.mark.parametrize("name,content,words", [
    ("empty.csv", b"\r\n\r\n", "is empty"),
    ("old.xls", b"\xd0\xcf\x11\xe0 binary", ".xls"),
    ("broken.xlsx", b"PK\x03\x04 not really a zip", "not a readable .xlsx"),
    ("binary.csv", b"Company,Phone\r\n\xff\xff\xff\xff,1\r\n", "not text in any encoding tried \\(UTF-8, GB18030, Big5, Shift-JIS, EUC-KR\\)"),
])
def test_unreadable_files_are_refused_clearly(world, tmp_path, name, content, words):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ValidationError, match=words):
        run(world, tmp_path / name)
    with pytest.raises(ValidationError, match="does not exist"):
        run(world, tmp_path / "missing.csv")
    assert count(world, Lead) == 0


# -- dry run, assignment, progress, audit, permission ---------------------------------------------

def _mixed_file(tmp_path):
    return write_csv(tmp_path / "mixed.csv", [
        ["Company", "Phone", "Email", "Region"],
        ["Acme Ltd", "13800138000", "", "East"],        # duplicate of the existing lead: fills its region
        ["New One", "13800000001", "", ""],
        ["New Two", "", "two@x.cn", ""],
        ["new two inc", "", "TWO@X.CN", ""],            # duplicate of the row above
        ["Broken", "", "nope", ""]])


def test_dry_run_reports_the_same_and_writes_nothing(world, tmp_path):
    capture(world)
    path = _mixed_file(tmp_path)
    before = ([snapshot(x) for x in all_leads(world)], count(world, AuditEvent), count(world, StageChange),
              world.read(lambda ctx: ctx.session.get(Setting, leads.ROUND_ROBIN_KEY).value))
    dry = run(world, path, dry_run=True)
    assert "dry run" in dry.summary()
    assert ([snapshot(x) for x in all_leads(world)], count(world, AuditEvent), count(world, StageChange),
            world.read(lambda ctx: ctx.session.get(Setting, leads.ROUND_ROBIN_KEY).value)) == before
    real = run(world, path)
    assert (dry.total, dry.created, dry.merged, dry.rejected) == (real.total, real.created, real.merged,
                                                                  real.rejected) == (5, 2, 2, dry.rejected)
    assert [r for r, *_ in dry.rejected] == [6]
    assert count(world, Lead) == 3


def test_round_robin_continues_across_import_and_capture(world, tmp_path):
    path = write_csv(tmp_path / "rr.csv", [["Company", "Phone", "Region"]] + [
        [f"Co {i}", f"1380000000{i}", "East" if i == 2 else "North"] for i in range(5)])
    run(world, path)
    owners = [logins(world)[x.owner_id] for x in all_leads(world)]
    assert owners == ["ar", "ar2", "ar", "ar", "ar2"]   # row 2 went by the East rule, not round-robin
    assert all(x.status == LeadStatus.ASSIGNED for x in all_leads(world))
    assert world.read(lambda ctx: ctx.session.get(Setting, leads.ROUND_ROBIN_KEY).value) == "ar2"
    assert logins(world)[all_leads(world)[0].owner_id] == "ar"
    nxt = capture(world, company="After import")
    assert logins(world)[world.get(Lead, nxt).owner_id] == "ar"


def test_progress_is_reported_every_chunk(world, tmp_path, monkeypatch):
    monkeypatch.setattr(leads_import, "CHUNK", 3)
    path = write_csv(tmp_path / "p.csv", [["Company", "Phone"]] + [[f"Co {i}", f"1380000000{i}"] for i in range(7)])
    calls = []
    run(world, path, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(3, 7), (6, 7), (7, 7)]


def test_one_audit_event_and_status_history_per_created_lead(world, tmp_path):
    path = write_csv(tmp_path / "a.csv", [["Company", "Phone", "Budget"], ["Acme", "13800000001", "1,500.50"],
                                          ["Beta", "13800000002", ""]])
    run(world, path)
    for lead in all_leads(world):
        events = world.read(lambda ctx, i=lead.id: ctx.session.exec(
            select(AuditEvent).where(AuditEvent.entity == "lead", AuditEvent.entity_id == i)).all())
        assert [(e.action, e.user_login, e.source) for e in events] == [("lead.import", "marketing", "import")]
        after = json.loads(events[0].after_json)
        assert after["id"] == lead.id and after["company"] == lead.company and after["status"] == "assigned"
        changes = world.read(lambda ctx, i=lead.id: ctx.session.exec(
            select(StageChange).where(StageChange.entity == "lead", StageChange.entity_id == i)).all())
        assert [(c.from_stage, c.to_stage) for c in changes] == [("", "assigned")]
    assert all_leads(world)[0].budget == Decimal("1500.50")
    # the bulk insert set what the ORM sets: a lead written by import can be edited like any other
    lid = all_leads(world)[0].id
    world.do("ar", leads.update_lead, lid, version=all_leads(world)[0].version, contact="Li")
    assert world.get(Lead, lid).contact == "Li"


@pytest.mark.parametrize("role", ["ar", "sr", "finance", "leader"])
def test_import_needs_marketing_or_admin(world, tmp_path, role):
    path = write_csv(tmp_path / "p.csv", [["Company", "Phone"], ["Acme", "13800138000"]])
    with pytest.raises(PermissionDenied, match="lead.import"):
        run(world, path, who=role)
    assert count(world, Lead) == 0


def test_bulk_writes_are_part_of_the_unit_of_work(world, tmp_path):
    """COPY / executemany run in the session's transaction: a later failure undoes the whole import."""
    path = write_csv(tmp_path / "p.csv", [["Company", "Phone"], ["Acme", "13800138000"], ["Beta", "13900000000"]])

    def import_then_fail(ctx):
        assert import_leads(ctx, path).created == 2
        raise RuntimeError("something after the import failed")

    with pytest.raises(RuntimeError):
        world.do("marketing", import_then_fail)
    assert count(world, Lead) == count(world, AuditEvent, AuditEvent.entity == "lead") == 0
    assert count(world, StageChange) == count(world, Setting) == 0
    assert run(world, path).created == 2   # and the ids handed out before are no obstacle
