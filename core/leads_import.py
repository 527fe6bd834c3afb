"""Bulk lead import from the files marketing really has: CSV saved by Excel or WPS (UTF-8, UTF-8 with
BOM, UTF-16, GBK/GB18030 and the other encodings core/tabular.py detects), or an .xlsx workbook (first
sheet), read by core/tabular.py's safe reader (size, expansion, shape and encoding checked; streamed).

Headers are matched by English or Chinese label in any order; other columns are ignored and the report
names them. A formula cell is refused ("a formula, not a value"): the import takes what was typed. Each row is
judged by the same `clean_lead` as a lead typed into a page; a bad row is reported and the rest go in;
a duplicate (of an existing lead or of an earlier row) is merged into it. For speed (100,000 rows in
seconds) the existing duplicate keys are read once, rows are checked in Python, and leads, their
status history and their audit events are inserted in bulk, chunk by chunk.
"""
from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from pydantic_core import PydanticUndefined
from sqlalchemy import bindparam, insert, select, text, update

from core.context import Context, to_json
from core.enums import LeadStatus
from core.errors import ValidationError
from core.messages import Joined, Text
from core.models import AuditEvent, Lead, StageChange
from core.services import action
from core.services import leads as rules
from core.tabular import Formula, read_table

CHUNK = 5000

# field -> accepted header labels (the first English and Chinese ones are named in messages)
COLUMNS: dict[str, tuple[str, ...]] = {
    "company": ("Company", "公司", "公司名称", "Company name", "Customer", "客户名称", "企业名称", "单位名称"),
    "contact": ("Contact", "联系人", "Contact name"),
    "phone": ("Phone", "电话", "手机", "Mobile", "Tel", "Telephone", "Phone number", "手机号", "手机号码",
              "联系电话"),
    "email": ("Email", "邮箱", "E-mail", "Email address", "电子邮箱", "电子邮件"),
    "source": ("Source", "来源", "Lead source", "线索来源"),
    "region": ("Region", "区域", "地区", "大区"),
    "industry": ("Industry", "行业"),
    "budget": ("Budget", "预算", "预算(元)"),
    "authority": ("Authority", "决策权"),
    "need": ("Need", "需求"),
    "timeline_months": ("Timeline months", "采购周期(月)", "Timeline", "Timeline (months)", "采购周期"),
    "need_text": ("Need text", "需求描述", "Need description"),
    "owner": ("Owner", "负责人"),
}
_NOT_WORD = re.compile(r"[\W_]+")


def _header_key(label: str) -> str:
    """'Timeline (months)', 'timeline_months' and 'TIMELINE MONTHS' read alike; so do ( and （."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", str(label or "")).lower())


_BY_KEY = {_header_key(label): name for name, labels in COLUMNS.items() for label in labels}


def _labels(name: str) -> str:
    english, chinese = COLUMNS[name][0], COLUMNS[name][1]
    return f"'{english}' ({chinese})"


@dataclass
class ImportReport:
    file: str = ""
    dry_run: bool = False
    total: int = 0                      # data rows, blank lines not counted
    created: int = 0
    merged: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)   # (row, field, message)
    ignored: list[str] = field(default_factory=list)    # header labels that are not a lead field, as in the file

    def summary(self, max_errors: int = 20) -> str:
        head = (f"{self.file}: {self.total} rows: {self.created} created, {self.merged} merged into duplicates, "
                f"{len(self.rejected)} rejected" + (" (dry run: nothing was written)" if self.dry_run else ""))
        lines = [head] + ([f"  columns ignored (not lead fields): {', '.join(self.ignored)}"] if self.ignored else [])
        lines += [f"  row {row}: {msg}" for row, _, msg in self.rejected[:max_errors]]  # msg names the field
        if len(self.rejected) > max_errors:
            lines.append(f"  ... and {len(self.rejected) - max_errors} more rejected rows")
        return "\n".join(lines)


def map_columns(header: list[str]) -> dict[str, list[int]]:
    """field -> column positions (several 'Phone'-like columns: the first non-empty one counts).
    A missing required column is refused before anything is written."""
    found: dict[str, list[int]] = {}
    for i, label in enumerate(header):
        name = _BY_KEY.get(_header_key(label))
        if name:
            found.setdefault(name, []).append(i)
    named = [h for h in header if h]
    seen = Joined(", ", named) if named else Text("none")
    if "company" not in found:
        raise ValidationError("file: required column {column} is missing (columns found: {seen}); nothing was "
                              "imported", field="company", column=_labels("company"), seen=seen)
    if "phone" not in found and "email" not in found:
        raise ValidationError("file: a column {phone} or {email} is required to reach the leads (columns found: "
                              "{seen}); nothing was imported", field="phone", phone=_labels("phone"),
                              email=_labels("email"), seen=seen)
    return found


def ignored_columns(header: list[str]) -> list[str]:
    """The labels of the columns map_columns does not read (a '时间' column, say), so the report can say so."""
    return [label for label in header if str(label).strip() and _header_key(label) not in _BY_KEY]


def _refuse_formulas(raw: dict) -> None:
    for name, value in raw.items():
        if isinstance(value, Formula):
            raise ValidationError("{field}: is a formula ({formula}), not a value; copy the column and paste it "
                                  "as values", field=name, formula=str(value)[:60])


# -- writing ------------------------------------------------------------------------------------

def _defaults(model) -> dict:
    """Every column with its model default, so a bulk insert sets what the ORM would."""
    out = {}
    for col in model.__table__.columns:
        if col.primary_key:
            continue
        info = model.model_fields.get(col.name)
        if info is None or info.default is PydanticUndefined:
            out[col.name] = info.default_factory() if info is not None and info.default_factory else None
        else:
            out[col.name] = info.default
    return out


def _new_ids(session, n: int) -> list[int] | None:
    """Ids for n new leads, so the bulk insert needs no RETURNING (SQLite would run it row by row,
    three times slower). None: let the database hand them out."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return list(session.execute(text(
            "SELECT nextval(pg_get_serial_sequence('lead', 'id')) FROM generate_series(1, :n)"), {"n": n}).scalars())
    if dialect == "sqlite":
        # A write statement takes SQLite's single writer lock, held to the commit: no one else can add a
        # lead between reading max(id) and our insert.
        session.execute(text("UPDATE lead SET id = id WHERE 0"))
        start = session.execute(text("SELECT coalesce(max(id), 0) FROM lead")).scalar()
        return list(range(start + 1, start + n + 1))
    return None


def _bulk_insert(session, table, rows: list[dict]) -> None:
    """Insert many rows in this transaction, straight through the driver: COPY on PostgreSQL, one
    executemany on SQLite (SQLAlchemy's per-row parameter handling was a third of the import time).
    Values still go through the columns' own types (money to cents, enums to text, UTC times)."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    fast = (dialect.name, dialect.driver) in (("postgresql", "psycopg"), ("sqlite", "pysqlite"))
    if not fast:
        session.execute(insert(table), rows)
        return
    names = list(rows[0])
    procs = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    values = ([proc(row[n]) if proc else row[n] for n, proc in zip(names, procs)] for row in rows)
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(n) for n in names)
    with closing(conn.connection.driver_connection.cursor()) as cur:
        if dialect.name == "sqlite":
            cur.executemany(f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({', '.join('?' * len(names))})",
                            values)
        else:
            with cur.copy(f"COPY {quote(table.name)} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)


_UPDATED_BY_FILL = (*rules.FILLABLE, "phone_norm", "email_norm", "score", "grade")


class _Importer:
    def __init__(self, ctx: Context, report: ImportReport, columns: dict[str, list[int]]):
        self.ctx, self.report, self.columns = ctx, report, columns
        self.write = not report.dry_run
        self.now = ctx.now()
        self.ars = rules.ar_users(ctx)
        self.assigner = rules.Assigner(ctx, self.ars)
        self.lead_defaults = _defaults(Lead)
        # (company_norm, 'p'|'e', phone_norm|email_norm) -> lead id, or the pending row (a dict) of this file
        self.keys: dict[tuple[str, str, str], int | dict] = {}
        self.fills: dict[int, dict] = {}   # existing lead id -> what later rows could fill in
        self.contact_keys: dict[int, tuple[str, str]] = {}   # lead id -> (phone_norm, email_norm)
        t = Lead.__table__
        for lead_id, cn, pn, en in ctx.session.execute(
                select(t.c.id, t.c.company_norm, t.c.phone_norm, t.c.email_norm)
                .where(t.c.status != LeadStatus.MERGED.value).order_by(t.c.id)):
            self._register(cn, pn, en, lead_id)
            self.contact_keys[lead_id] = (pn, en)

    def _register(self, cn: str, pn: str, en: str, target) -> None:
        if pn:
            self.keys.setdefault((cn, "p", pn), target)
        if en:
            self.keys.setdefault((cn, "e", en), target)

    def _find(self, data: dict):
        cn = data["company_norm"]
        hit = self.keys.get((cn, "p", data["phone_norm"])) if data["phone_norm"] else None
        if hit is None and data["email_norm"]:
            hit = self.keys.get((cn, "e", data["email_norm"]))
        return hit

    def _raw(self, cells: list[str]) -> dict:
        raw = {}
        width = len(cells)
        for name, positions in self.columns.items():
            value = ""
            for i in positions:
                if i < width and cells[i].strip():
                    value = cells[i]
                    break
            raw[name] = value
        return raw

    def add_chunk(self, chunk: list[tuple[int, list[str]]]) -> None:
        report, new = self.report, []
        for number, cells in chunk:
            if not any(c.strip() for c in cells):
                continue   # blank line
            report.total += 1
            raw = self._raw(cells)
            try:
                _refuse_formulas(raw)
                data = rules.clean_lead(raw)
                data["owner_id"] = rules.owner_id(self.ars, raw["owner"]) if raw.get("owner") else None
            except ValidationError as exc:
                report.rejected.append((number, exc.field or "", exc.text))   # a Text: a page says it in Chinese
                continue
            target = self._find(data)
            if target is None:
                new.append(data)
                self._register(data["company_norm"], data["phone_norm"], data["email_norm"], data)
                continue
            report.merged += 1
            if isinstance(target, dict):   # an earlier row of this chunk, not written yet
                target.update(rules.fill_empty(target, data))
                self._register(target["company_norm"], target["phone_norm"], target["email_norm"], target)
            else:                          # a lead in the database (or written from an earlier chunk)
                acc = self.fills.setdefault(target, {})
                acc.update(rules.fill_empty(acc, data, rescore=False))
                # a phone or e-mail it gains makes later rows with it duplicates too, as within a chunk
                pn, en = self.contact_keys[target]
                pn, en = pn or acc.get("phone_norm", ""), en or acc.get("email_norm", "")
                self.contact_keys[target] = (pn, en)
                self._register(data["company_norm"], pn, en, target)
        report.created += len(new)
        if new and self.write:
            self._insert(new)

    def _insert(self, new: list[dict]) -> None:
        session, ctx = self.ctx.session, self.ctx
        params = []
        for data in new:
            owner = data.pop("owner_id") or self.assigner.owner_for(data["region"], data["industry"])
            params.append({**self.lead_defaults, **data, "owner_id": owner, "captured_on": self.now,
                           "status": LeadStatus.ASSIGNED if owner else LeadStatus.NEW, "version": 1})
        lead_t = Lead.__table__
        ids = _new_ids(session, len(params))
        if ids is None:
            ids = list(session.execute(insert(lead_t).returning(lead_t.c.id, sort_by_parameter_order=True),
                                       params).scalars())
        else:
            for i, p in zip(ids, params):
                p["id"] = i
            _bulk_insert(session, lead_t, params)
        _bulk_insert(session, StageChange.__table__, [
            {"entity": "lead", "entity_id": i, "from_stage": "", "to_stage": p["status"].value, "at": self.now,
             "by_id": ctx.actor.id} for i, p in zip(ids, params)])
        self._audit([(i, None, {"id": i, **p}) for i, p in zip(ids, params)])
        for data, lead_id in zip(new, ids):   # later duplicates of these rows merge into the written lead
            cn = data["company_norm"]
            self.contact_keys[lead_id] = (data["phone_norm"], data["email_norm"])
            for kind, key in (("p", data["phone_norm"]), ("e", data["email_norm"])):
                if key and self.keys.get((cn, kind, key)) is data:
                    self.keys[(cn, kind, key)] = lead_id

    def _audit(self, items: list[tuple[int, dict | None, dict]]) -> None:
        """One AuditEvent per lead, as Context.audit writes it, but inserted in one statement."""
        ctx = self.ctx
        _bulk_insert(self.ctx.session, AuditEvent.__table__, [
            {"at": self.now, "user_id": ctx.actor.id, "user_login": ctx.actor.login, "source": ctx.source,
             "action": "lead.import", "entity": "lead", "entity_id": i,
             "before_json": to_json(before) if before else "", "after_json": to_json(after)}
            for i, before, after in items])

    def finish(self) -> None:
        """Fill empty fields of existing leads from their duplicates in the file; save the pointer."""
        if not self.write:
            return
        t = Lead.__table__
        ids = sorted(self.fills)
        for start in range(0, len(ids), 1000):
            rows = self.ctx.session.execute(
                select(t).where(t.c.id.in_(ids[start:start + 1000])).with_for_update()).mappings().all()
            updates, audits = [], []
            for row in rows:
                if row["status"] in rules.CLOSED:
                    continue   # a converted lead is not edited; the row still counts as merged
                changes = rules.fill_empty(row, self.fills[row["id"]])
                if not changes:
                    continue
                updates.append({**{k: row[k] for k in _UPDATED_BY_FILL}, **changes,
                                "version": row["version"] + 1, "b_id": row["id"], "b_version": row["version"]})
                audits.append((row["id"], {k: row[k] for k in changes}, changes))
            if updates:
                self.ctx.session.execute(
                    update(t).where(t.c.id == bindparam("b_id"), t.c.version == bindparam("b_version")),
                    updates)
                self._audit(audits)
        self.assigner.save()


@action("lead.import")
def import_leads(ctx: Context, path, *, dry_run: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import leads from a CSV or XLSX file; returns what was created, merged and rejected (and why).
    With dry_run the same report is produced and nothing is written."""
    path = Path(path)
    table = read_table(path)
    columns = map_columns(table.header)
    report = ImportReport(file=path.name, dry_run=dry_run, ignored=ignored_columns(table.header))
    importer = _Importer(ctx, report, columns)
    done = 0
    while chunk := list(itertools.islice(table.rows, CHUNK)):
        importer.add_chunk(chunk)
        done += len(chunk)
        if progress:
            progress(done, max(table.count or 0, done))
    importer.finish()
    return report
