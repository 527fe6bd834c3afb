"""Leads (线索): capture, score, assign, find and merge duplicates, qualify, and convert to an opportunity.

The rules live here once; the bulk import (core/leads_import.py) reuses `clean_lead`, `fill_empty`,
`owner_id` and `Assigner`, so a row in a file is judged exactly like a lead typed into a page.
Config: config/leads.toml (scorecard, grades, assignment rules, sources).
"""
from __future__ import annotations

from calendar import monthrange
from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, or_, select

from config.settings import load
from core import normalise, validate
from core.context import Context, snapshot
from core.enums import Authority, Grade, LeadStatus, Need, Role, Stage
from core.errors import DuplicateError, StaleVersionError, ValidationError
from core.lifecycle import Lifecycle, Step, register
from core.messages import Joined, Text, code
from core.models import Account, Contact, Lead, Opportunity, Setting, StageChange, User
from core.services import action

ROUND_ROBIN_KEY = "leads.round_robin"
# What a person may type when capturing or importing a lead (owner is handled apart: it needs the users).
CAPTURE_FIELDS = ("company", "contact", "phone", "email", "source", "region", "industry", "need_text",
                  "budget", "authority", "need", "timeline_months")
# Fields a merge copies from the dropped lead when the kept one has them empty.
FILLABLE = ("contact", "phone", "email", "region", "industry", "need_text", "budget", "timeline_months",
            "authority")
_SCORED = {"budget", "authority", "need", "timeline_months"}
CLOSED = (LeadStatus.CONVERTED, LeadStatus.MERGED)
REASON_MAX = 500   # the longest disqualification reason (pages limit their input to it)

# Chinese labels people type in sheets and files, read as the stored values.
_AUTHORITY_LABELS = {"决策者": "decision_maker", "决策人": "decision_maker", "影响者": "influencer",
                     "使用者": "user", "用户": "user", "未知": "unknown"}
_NEED_LABELS = {"紧急": "urgent", "明确": "clear", "模糊": "vague", "无": "none", "没有": "none"}
_SOURCE_LABELS = {"官网": "website", "网站": "website", "展会": "exhibition", "转介绍": "referral",
                  "推荐": "referral", "合作伙伴": "partner", "伙伴": "partner", "陌拜": "cold_call",
                  "电话陌拜": "cold_call", "招标公告": "tender_notice", "市场活动": "campaign",
                  "活动": "campaign", "其他": "other", "其它": "other"}


def _cfg() -> dict:
    return load("leads")


class _Rules:
    """config/leads.toml prepared once (thresholds as Decimal and sorted, rules case-folded): the
    import scores and assigns 100,000 rows, so this is not redone per row."""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        card = cfg["scorecard"]
        self.budget = [(Decimal(str(t)), p) for t, p in sorted(card["budget"]["thresholds"], reverse=True)]
        self.timeline = sorted(card["timeline"]["thresholds"])
        self.authority, self.need = card["authority"], card["need"]
        self.hot, self.warm = cfg["grades"]["hot"], cfg["grades"]["warm"]
        self.sources = list(cfg["sources"]["values"])
        self.assignment = []
        for rule in cfg.get("assignment", []):
            conds = {k: _fold(rule[k]) for k in ("region", "industry") if k in rule}
            if conds:
                self.assignment.append((conds, rule))


_prepared: _Rules | None = None


def _rules() -> _Rules:
    global _prepared
    cfg = _cfg()
    if _prepared is None or _prepared.cfg is not cfg:
        _prepared = _Rules(cfg)
    return _prepared


def lead_sources() -> tuple[str, ...]:
    """The sources a lead may have (config/leads.toml), as _source checks them."""
    return tuple(_rules().sources)


def _fold(value) -> str:
    return str(value or "").strip().casefold()


# -- scorecard ----------------------------------------------------------------------------------

def score_lead(budget, authority, need, timeline_months) -> tuple[int, Grade]:
    """BANT points from config: budget and timeline by thresholds, authority and need by value."""
    r = _rules()
    points = 0
    if budget is not None:
        budget = Decimal(budget)
        points += next((pts for threshold, pts in r.budget if budget >= threshold), 0)
    points += r.authority.get(Authority(authority).value, 0)
    points += r.need.get(Need(need).value, 0)
    if timeline_months is not None:
        points += next((pts for months, pts in r.timeline if timeline_months <= months), 0)
    score = max(0, min(100, int(points)))
    grade = Grade.HOT if score >= r.hot else Grade.WARM if score >= r.warm else Grade.COLD
    return score, grade


# -- validation (the one place a lead's fields are checked) ---------------------------------------

def _label(value, labels: dict[str, str]):
    return labels.get(value.strip(), value) if isinstance(value, str) else value


def _source(value) -> str:
    allowed = _rules().sources
    raw = _label("" if value is None else str(value).strip(), _SOURCE_LABELS)
    raw = raw.lower().replace(" ", "_").replace("-", "_") or "other"
    if raw not in allowed:
        raise ValidationError("{field}: {got!r} is not one of {allowed}", field="source", got=str(value)[:40],
                              allowed=", ".join(allowed))
    return raw


def _company(value) -> tuple[str, str]:
    company = validate.text("company", value, required=True)
    company_norm = normalise.company(company)[:200]
    if not company_norm:
        raise ValidationError("{field}: {got!r} has no letters or digits", field="company", got=company[:40])
    return company, company_norm


def _phone(value) -> str:
    phone = validate.text("phone", value, max_len=64)
    if phone and not 5 <= len(normalise.phone(phone)) <= 20:
        raise ValidationError("{field}: {got!r} is not a phone number (5 to 20 digits)", field="phone", got=phone[:40])
    return phone


def _reachable(phone: str, email: str) -> None:
    if not phone and not email:
        raise ValidationError("{field}: a phone or an e-mail is required to reach the lead", field="phone")


def clean_lead(values: Mapping) -> dict:
    """Validate and normalise a lead's capture fields; adds the normalised keys, score and grade.

    Every bad field is refused at once (validate.ValidationErrors, its `field` the first one, so the import
    still reports a row by a field). Used by capture, update and import alike."""
    get = values.get
    with validate.Collect() as check:
        named = check(_company, get("company"))
        phone = check(_phone, get("phone"))
        email = check(validate.email, "email", get("email"))
        if phone is not None and email is not None:
            check(_reachable, phone, email)
        budget = check(validate.amount, "budget", get("budget"), required=False, allow_zero=True)
        authority = check(validate.choice, "authority", _label(get("authority"), _AUTHORITY_LABELS), Authority,
                          default=Authority.UNKNOWN)
        need = check(validate.choice, "need", _label(get("need"), _NEED_LABELS), Need, default=Need.VAGUE)
        timeline = check(validate.whole, "timeline_months", get("timeline_months"), lo=0, hi=120)
        contact = check(validate.text, "contact", get("contact"))
        source = check(_source, get("source"))
        region = check(validate.text, "region", get("region"), max_len=64)
        industry = check(validate.text, "industry", get("industry"), max_len=64)
        need_text = check(validate.text, "need_text", get("need_text"), max_len=2000)
    company, company_norm = named
    score, grade = score_lead(budget, authority, need, timeline)
    return {
        "company": company, "company_norm": company_norm,
        "contact": contact,
        "phone": phone, "phone_norm": normalise.phone(phone), "email": email,
        "email_norm": normalise.email(email)[:254],   # NFKC may lengthen it; a key, cut like company_norm
        "source": source,
        "region": region,
        "industry": industry,
        "need_text": need_text,
        "budget": budget, "authority": authority, "need": need, "timeline_months": timeline,
        "score": score, "grade": grade,
    }


def _empty(name: str, value) -> bool:
    return value is None or value == "" or (name == "authority" and value == Authority.UNKNOWN)


def fill_empty(keep: Mapping, drop: Mapping, *, rescore: bool = True) -> dict:
    """What a merge changes on `keep`: each of its empty fields that `drop` has, with the derived
    normalised keys and, when a scored field changes, the new score and grade."""
    changes = {f: drop[f] for f in FILLABLE
               if _empty(f, keep.get(f)) and not _empty(f, drop.get(f))}
    if "phone" in changes:
        changes["phone_norm"] = drop["phone_norm"]
    if "email" in changes:
        changes["email_norm"] = drop["email_norm"]
    if rescore and changes.keys() & _SCORED:
        merged = {**keep, **changes}
        changes["score"], changes["grade"] = score_lead(
            merged.get("budget"), merged.get("authority") or Authority.UNKNOWN,
            merged.get("need") or Need.VAGUE, merged.get("timeline_months"))
    return changes


# -- owners -------------------------------------------------------------------------------------

def ar_users(ctx: Context) -> dict[str, int]:
    """Active users with the ar role, login -> id, ordered by login (the round-robin order)."""
    users = ctx.session.exec(select(User).where(User.active == True).order_by(User.login)).all()  # noqa: E712
    return {u.login: u.id for u in users if Role.AR.value in u.role_set}


def owner_id(ars: Mapping[str, int], login) -> int:
    login = validate.text("owner", login, max_len=64, required=True)
    if login not in ars:
        raise ValidationError("{field}: '{login}' is not an active user with the ar role (active ar users: {ars})",
                              field="owner", login=login, ars=Joined(", ", ars) if ars else Text("none"))
    return ars[login]


def matching_rule(region: str, industry: str) -> dict | None:
    """The first [[assignment]] rule whose every condition (region, industry) matches."""
    lead = {"region": _fold(region), "industry": _fold(industry)}
    for conds, rule in _rules().assignment:
        if all(lead[k] == v for k, v in conds.items()):
            return rule
    return None


class Assigner:
    """Owners for new leads: the first matching rule, else round-robin among active ar users.

    The pointer (the last login served) lives in the Setting table so it survives restarts; an import
    uses one Assigner for all its rows and saves the pointer once."""

    def __init__(self, ctx: Context, ars: Mapping[str, int] | None = None):
        self.ctx = ctx
        self.ars = dict(ars) if ars is not None else ar_users(ctx)
        self._last: str | None = None   # loaded on the first round-robin turn
        self.turns = 0

    def owner_for(self, region: str, industry: str) -> int | None:
        rule = matching_rule(region, industry)
        if rule is not None and rule.get("owner") in self.ars:
            return self.ars[rule["owner"]]
        return self._round_robin()   # no rule, or its owner is missing/inactive/not ar

    def _round_robin(self) -> int | None:
        if not self.ars:
            return None
        if self._last is None:
            self._ensure_pointer()
            row = self.ctx.session.exec(   # locked on PostgreSQL so two captures don't serve the same turn
                select(Setting).where(Setting.key == ROUND_ROBIN_KEY).with_for_update()).first()
            self._last = row.value if row else ""
        login = next((name for name in self.ars if name > self._last), next(iter(self.ars)))
        self._last = login
        self.turns += 1
        return self.ars[login]

    def _ensure_pointer(self) -> None:
        """The pointer's row exists before it is locked: on a new database two first captures at one instant
        each found no row to lock and both inserted it, and one failed on setting_pkey. INSERT … ON CONFLICT DO
        NOTHING waits for the other's insert and then does nothing."""
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        dialect = self.ctx.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        self.ctx.session.execute(insert(Setting).values(key=ROUND_ROBIN_KEY, value="", updated_at=self.ctx.now())
                                 .on_conflict_do_nothing(index_elements=["key"]))

    def save(self) -> None:
        if not self.turns:
            return
        row = self.ctx.session.get(Setting, ROUND_ROBIN_KEY) or Setting(key=ROUND_ROBIN_KEY)
        row.value, row.updated_at = self._last, self.ctx.now()
        self.ctx.session.add(row)


# -- helpers ------------------------------------------------------------------------------------

def _duplicate_ids(ctx: Context, company_norm: str, phone_norm: str, email_norm: str,
                   exclude: int | None = None) -> list[int]:
    """Leads (not merged away) with the same normalised company and the same phone or e-mail."""
    same_contact = []
    if phone_norm:
        same_contact.append(Lead.phone_norm == phone_norm)
    if email_norm:
        same_contact.append(Lead.email_norm == email_norm)
    if not same_contact:
        return []
    query = select(Lead.id).where(Lead.company_norm == company_norm, Lead.status != LeadStatus.MERGED,
                                  or_(*same_contact)).order_by(Lead.id)
    if exclude is not None:
        query = query.where(Lead.id != exclude)
    return list(ctx.session.exec(query).all())


def _duplicate_error(ctx: Context, dup_id: int, data: Mapping) -> DuplicateError:
    other = ctx.session.get(Lead, dup_id)
    how = Text("phone") if data["phone_norm"] and other.phone_norm == data["phone_norm"] else Text("e-mail")
    err = DuplicateError("duplicate: lead {id} ('{company}') has the same company and {how}; merge into it, or "
                         "capture anyway with allow_duplicate", field="company", id=dup_id, company=other.company,
                         how=how)
    err.existing_id = dup_id
    return err


def _save_original(ctx: Context, lead: Lead, data: Mapping, allow_duplicate: bool) -> None:
    """Write the lead. The check before it cannot see a lead captured at the same instant by someone else; the
    database's unique index on the keys can (core/models/leads.py), and its refusal is told as the duplicate
    it is, found in a fresh session because this transaction is spoilt."""
    ctx.session.add(lead)
    try:
        ctx.session.flush()
    except IntegrityError:
        with Session(ctx.session.get_bind(), expire_on_commit=False) as fresh:
            now = Context(session=fresh, actor=ctx.actor, source=ctx.source, clock=ctx.clock)
            dups = _duplicate_ids(now, data["company_norm"], data["phone_norm"], data["email_norm"],
                                  exclude=lead.id)
            if not dups:
                raise
            err = _duplicate_error(now, dups[0], data)
        if allow_duplicate:   # they chose to keep a duplicate: saving again marks it as one
            raise StaleVersionError("stale: lead {id} with the same company was captured at the same moment; "
                                    "save again to keep yours as its duplicate", id=dups[0]) from None
        raise err from None


def _closed_reason(lead: Lead, verb: Text) -> Text | None:
    if lead.status == LeadStatus.CONVERTED:
        return Text("lead {id} is converted: a converted lead cannot be {verb}", id=lead.id, verb=verb)
    if lead.status == LeadStatus.MERGED:
        return Text("lead {id} was merged into lead {into}: a merged lead cannot be {verb}", id=lead.id,
                    into=lead.merged_into_id, verb=verb)
    return None


# -- the lead's lifecycle: which action starts from which status, and its guards ------------------------

ALIVE = (LeadStatus.NEW, LeadStatus.ASSIGNED, LeadStatus.QUALIFIED, LeadStatus.DISQUALIFIED)


QUALIFIED, DISQUALIFIED, CONVERTED = Text("qualified"), Text("disqualified"), Text("converted")


def _only(verb: Text):
    def wrong(lead: Lead, allowed) -> Text:
        closed = _closed_reason(lead, verb)
        if closed:
            return closed
        if verb == QUALIFIED:
            return Text("lead {id} is already qualified", id=lead.id)
        if verb == DISQUALIFIED:
            return Text("lead {id} is already disqualified ({reason})", id=lead.id, reason=lead.disqualify_reason)
        if verb == CONVERTED:
            return Text("convert: only a qualified lead converts to an opportunity; lead {id} is {status}",
                        id=lead.id, status=code(lead.status))
        return Text("lead {id} is {status}; it cannot be {verb}", id=lead.id, status=code(lead.status), verb=verb)
    return wrong


def _ar_owner(ctx: Context, lead: Lead) -> Text | None:
    owner = ctx.session.get(User, lead.owner_id) if lead.owner_id else None
    if owner is None or not owner.active or Role.AR.value not in owner.role_set:
        who = Text("'{login}' is not an active ar user", login=owner.login) if owner else Text("it has no owner")
        return Text("convert: lead {id} needs an active ar owner to become the opportunity's AR; {who}: assign it "
                    "first", id=lead.id, who=who)
    return None


LIFECYCLE = register(Lifecycle("lead", "status", lambda lead: Text("lead {id}", id=lead.id), {
    "lead.update": Step(ALIVE, (), _only(Text("edited"))),
    "lead.assign": Step(ALIVE, (), _only(Text("reassigned"))),
    "lead.merge": Step(ALIVE, (), _only(Text("merged"))),
    "lead.qualify": Step((LeadStatus.NEW, LeadStatus.ASSIGNED, LeadStatus.DISQUALIFIED), (), _only(QUALIFIED)),
    "lead.disqualify": Step((LeadStatus.NEW, LeadStatus.ASSIGNED, LeadStatus.QUALIFIED), (), _only(DISQUALIFIED)),
    "lead.convert": Step((LeadStatus.QUALIFIED,), (_ar_owner,), _only(CONVERTED)),
}))


def _initial_status(ctx: Context, lead: Lead) -> None:
    """History starts at capture, so time in each status can be measured from the first day."""
    ctx.session.add(StageChange(entity="lead", entity_id=lead.id, from_stage="", to_stage=lead.status.value,
                                at=ctx.now(), by_id=ctx.actor.id))


def _load(ctx: Context, lead_id: int, version: int | None = None) -> Lead:
    return ctx.get(Lead, lead_id, version=version, what="lead")


# -- services -----------------------------------------------------------------------------------

@action("lead.capture")
def capture_lead(ctx: Context, *, company, contact="", phone="", email="", source="other", region="",
                 industry="", need_text="", budget=None, authority=Authority.UNKNOWN, need=Need.VAGUE,
                 timeline_months=None, owner: str | None = None, allow_duplicate: bool = False) -> int:
    """Record a lead, scored, and assigned (rule or round-robin) unless `owner` is given."""
    ars = ar_users(ctx)
    with validate.Collect() as check:   # every bad field of the form at once
        data = check(clean_lead, dict(company=company, contact=contact, phone=phone, email=email, source=source,
                                      region=region, industry=industry, need_text=need_text, budget=budget,
                                      authority=authority, need=need, timeline_months=timeline_months))
        chosen = check(owner_id, ars, owner) if owner not in (None, "") else None
    dups = _duplicate_ids(ctx, data["company_norm"], data["phone_norm"], data["email_norm"])
    if dups and not allow_duplicate:
        raise _duplicate_error(ctx, dups[0], data)
    if chosen is None and ctx.actor.id in ars.values() and not ctx.may("lead.assign"):
        chosen = ctx.actor.id   # an AR's own find stays theirs (and in their scope), not round-robin's
    if chosen is None:
        assigner = Assigner(ctx, ars)
        chosen = assigner.owner_for(data["region"], data["industry"])
        assigner.save()
    lead = Lead(**data, owner_id=chosen, status=LeadStatus.ASSIGNED if chosen else LeadStatus.NEW,
                duplicate_of_id=dups[0] if dups else None, captured_on=ctx.now())
    _save_original(ctx, lead, data, allow_duplicate)
    ctx.audit("lead.capture", lead)
    _initial_status(ctx, lead)
    return lead.id


@action("lead.update")
def update_lead(ctx: Context, lead_id: int, *, version: int | None = None, allow_duplicate: bool = False,
                **fields) -> None:
    """Change any capture field; the lead is re-validated, re-scored and checked for duplicates."""
    for name in fields:
        if name == "owner":
            raise ValidationError("{field}: change the owner with assign_lead (lead.assign)", field="owner")
        if name not in CAPTURE_FIELDS:
            raise ValidationError("{field}: is not a lead field one can edit (editable: {editable})", field=name,
                                  editable=", ".join(CAPTURE_FIELDS))
    lead = _load(ctx, lead_id, version)
    LIFECYCLE.require(ctx, "lead.update", lead)
    before = snapshot(lead)
    data = clean_lead({**{f: before[f] for f in CAPTURE_FIELDS}, **fields})
    if any(data[k] != before[k] for k in ("company_norm", "phone_norm", "email_norm")):
        dups = _duplicate_ids(ctx, data["company_norm"], data["phone_norm"], data["email_norm"], exclude=lead.id)
        if dups and not allow_duplicate:
            raise _duplicate_error(ctx, dups[0], data)
        data["duplicate_of_id"] = dups[0] if dups else None
    for key, value in data.items():
        setattr(lead, key, value)
    _save_original(ctx, lead, data, allow_duplicate)
    ctx.audit("lead.update", lead, before=before)


@action("lead.assign")
def assign_lead(ctx: Context, lead_id: int, owner_login: str, version: int | None = None) -> None:
    """Give the lead to an active ar user; a new lead becomes assigned."""
    lead = _load(ctx, lead_id, version)
    LIFECYCLE.require(ctx, "lead.assign", lead)
    new_owner = owner_id(ar_users(ctx), owner_login)
    before = snapshot(lead)
    lead.owner_id = new_owner
    if lead.status == LeadStatus.NEW:
        ctx.move(lead, "status", LeadStatus.ASSIGNED)
    ctx.audit("lead.assign", lead, before=before)


@action("lead.merge")
def find_duplicates(ctx: Context, lead_id: int) -> list[int]:
    """Other leads (not merged away) with the same normalised company and phone or e-mail."""
    lead = _load(ctx, lead_id)
    if lead.status == LeadStatus.MERGED:
        return []
    return _duplicate_ids(ctx, lead.company_norm, lead.phone_norm, lead.email_norm, exclude=lead.id)


@action("lead.merge")
def merge_leads(ctx: Context, keep_id: int, drop_id: int, version: int | None = None) -> None:
    """Keep one lead: its empty fields are filled from the other, which becomes merged into it (`version`: the
    kept lead's version the person saw)."""
    if keep_id == drop_id:
        raise ValidationError("merge: lead {id} cannot be merged into itself", field="drop_id", id=keep_id)
    keep, drop = _load(ctx, keep_id, version), _load(ctx, drop_id)
    LIFECYCLE.require(ctx, "lead.merge", keep)
    LIFECYCLE.require(ctx, "lead.merge", drop)
    before_keep, before_drop = snapshot(keep), snapshot(drop)
    drop.merged_into_id = keep.id   # merged away first: the kept lead may take its e-mail (one original per key)
    ctx.move(drop, "status", LeadStatus.MERGED)
    for key, value in fill_empty(before_keep, before_drop).items():
        setattr(keep, key, value)
    if keep.owner_id is None and drop.owner_id is not None:
        keep.owner_id = drop.owner_id
        if keep.status == LeadStatus.NEW:
            ctx.move(keep, "status", LeadStatus.ASSIGNED)
    ctx.audit("lead.merge", keep, before=before_keep)
    ctx.audit("lead.merge", drop, before=before_drop)


@action("lead.qualify")
def qualify_lead(ctx: Context, lead_id: int, version: int | None = None) -> None:
    lead = _load(ctx, lead_id, version)
    LIFECYCLE.require(ctx, "lead.qualify", lead)
    before = snapshot(lead)
    lead.disqualify_reason = ""
    ctx.move(lead, "status", LeadStatus.QUALIFIED)
    ctx.audit("lead.qualify", lead, before=before)


@action("lead.disqualify")
def disqualify_lead(ctx: Context, lead_id: int, reason: str, version: int | None = None) -> None:
    reason = validate.text("reason", reason, max_len=REASON_MAX, required=True)
    lead = _load(ctx, lead_id, version)
    LIFECYCLE.require(ctx, "lead.disqualify", lead)
    before = snapshot(lead)
    lead.disqualify_reason = reason
    ctx.move(lead, "status", LeadStatus.DISQUALIFIED)
    ctx.audit("lead.disqualify", lead, before=before)


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


@action("lead.convert")
def convert_lead(ctx: Context, lead_id: int, *, opportunity_name: str | None = None, amount=None,
                 expected_close=None, version: int | None = None) -> int:
    """A qualified lead becomes an opportunity at initiation, owned by the lead's owner as AR; the
    customer account is found by normalised name or created, and the contact added to it."""
    lead = _load(ctx, lead_id, version)
    LIFECYCLE.require(ctx, "lead.convert", lead)
    # blank: the lead's company; a wrong type is refused, not silently replaced by it
    name = validate.text("opportunity_name", opportunity_name) or validate.text("opportunity_name", lead.company)
    amt = validate.amount("amount", amount, required=False, allow_zero=True)
    if amt is None:
        amt = lead.budget or Decimal("0.00")
    close = validate.day("expected_close", expected_close, required=False)
    if close is None and lead.timeline_months is not None:
        close = _add_months(ctx.today(), lead.timeline_months)

    account = ctx.session.exec(select(Account).where(Account.name_norm == lead.company_norm)).first()
    if account is None:
        account = Account(name=lead.company, name_norm=lead.company_norm, region=lead.region,
                          industry=lead.industry, created_at=ctx.now())
        ctx.audit("lead.convert", account)
    known = ctx.session.exec(select(Contact).where(Contact.account_id == account.id)).all()
    if not any((lead.phone_norm and normalise.phone(c.phone) == lead.phone_norm)
               or (lead.email_norm and normalise.email(c.email) == lead.email_norm) for c in known):
        ctx.audit("lead.convert", Contact(account_id=account.id, name=lead.contact, phone=lead.phone,
                                          email=lead.email))
    opp = Opportunity(name=name, account_id=account.id, lead_id=lead.id, amount=amt, expected_close=close,
                      stage=Stage.INITIATION, stage_since=ctx.now(), ar_id=lead.owner_id, region=lead.region,
                      industry=lead.industry, created_at=ctx.now())
    ctx.audit("lead.convert", opp)
    ctx.session.add(StageChange(entity="opportunity", entity_id=opp.id, from_stage="",
                                to_stage=Stage.INITIATION.value, at=ctx.now(), by_id=ctx.actor.id))
    before = snapshot(lead)
    ctx.move(lead, "status", LeadStatus.CONVERTED)
    ctx.audit("lead.convert", lead, before=before, after={**snapshot(lead), "opportunity_id": opp.id})
    return opp.id
