"""Lead triage (线索分拣): the inbox with its filters, possible duplicates, and one lead in detail."""
from __future__ import annotations

from datetime import date

import pandas as pd
from sqlalchemy import func
from sqlmodel import or_, select

from config.settings import load
from core import clock, scope
from core.context import Context
from core.enums import Authority, Grade, LeadStatus, Need
from core.models import Lead, Opportunity, User
from core.services import action
from core.services import leads as rules
from core.services.delivery import add_months
from core.services.leads import _duplicate_ids as duplicate_ids  # the one duplicate rule, for one lead

OPEN = (LeadStatus.NEW, LeadStatus.ASSIGNED, LeadStatus.QUALIFIED)
LIMIT = 500
NO_OWNER = "-"          # the owner filter for leads nobody owns yet
# The inbox columns: record ID and version (for saving edits) then the lead's fields by name.
EDITABLE = ("company", "contact", "phone", "email", "source", "region", "industry", "need_text", "budget",
            "authority", "need", "timeline_months")
COLUMNS = ("ID", "Version", *EDITABLE, "score", "grade", "status", "owner", "captured_on",
           "duplicates", "owner_name")


@action("lead.view")
def lead_options(ctx: Context) -> dict:
    """What the filters and forms offer: sources (config), regions in use, grades, statuses, ar owners."""
    regions = ctx.session.exec(select(Lead.region).where(Lead.region != "").distinct().order_by(Lead.region)).all()
    ars = rules.ar_users(ctx)
    names = dict(ctx.session.exec(select(User.login, User.name).where(User.login.in_(list(ars)))).all()) if ars else {}
    return {"sources": list(load("leads")["sources"]["values"]), "regions": list(regions),
            "grades": [g.value for g in Grade], "statuses": [s.value for s in LeadStatus],
            "open_statuses": [s.value for s in OPEN], "authorities": [a.value for a in Authority],
            "needs": [n.value for n in Need], "owners": {login: names.get(login, login) for login in ars}}


def _filtered(query, *, statuses, source, region, grade, owner, search, owner_ids: dict[str, int], within: list):
    query = query.where(*within)   # the person's data scope (core.scope)
    if statuses:
        query = query.where(Lead.status.in_([LeadStatus(s) for s in statuses]))
    if source:
        query = query.where(Lead.source == source)
    if region:
        query = query.where(Lead.region == region)
    if grade:
        query = query.where(Lead.grade == Grade(grade))
    if owner == NO_OWNER:
        query = query.where(Lead.owner_id == None)  # noqa: E711
    elif owner:
        query = query.where(Lead.owner_id == owner_ids.get(owner, -1))
    search = (search or "").strip()
    if search:
        like = f"%{search}%"
        query = query.where(or_(Lead.company.ilike(like), Lead.contact.ilike(like), Lead.email.ilike(like),
                                Lead.phone.ilike(like)))
    return query


@action("lead.view")
def lead_inbox(ctx: Context, *, statuses=OPEN, source: str | None = None, region: str | None = None,
               grade: str | None = None, owner: str | None = None, search: str = "",
               limit: int = LIMIT) -> dict:
    """{'leads': DataFrame (COLUMNS, hottest first, at most `limit` rows), 'total': how many match}.
    `owner` is a login, NO_OWNER for unowned leads, or None for all; `statuses` empty means all."""
    owner_ids = dict(ctx.session.exec(select(User.login, User.id)).all()) if owner and owner != NO_OWNER else {}
    kw = dict(statuses=statuses, source=source, region=region, grade=grade, owner=owner, search=search,
              owner_ids=owner_ids, within=scope.on_leads(ctx))
    total = ctx.session.exec(_filtered(select(func.count()).select_from(Lead), **kw)).one()
    leads = ctx.session.exec(_filtered(select(Lead), **kw).order_by(Lead.score.desc(), Lead.id.desc())
                             .limit(limit)).all()
    logins = _logins(ctx, {x.owner_id for x in leads if x.owner_id})
    people = _names(ctx, {x.owner_id for x in leads if x.owner_id})
    dups = _duplicates_of(ctx, leads)
    rows = [{"ID": x.id, "Version": x.version, "company": x.company, "contact": x.contact, "phone": x.phone,
             "email": x.email, "source": x.source, "region": x.region, "industry": x.industry,
             "need_text": x.need_text, "budget": None if x.budget is None else f"{x.budget:.2f}",
             "authority": x.authority.value, "need": x.need.value, "timeline_months": x.timeline_months,
             "score": x.score, "grade": x.grade.value, "status": x.status.value,
             "owner": logins.get(x.owner_id, ""),
             "captured_on": clock.local_date(x.captured_on) if x.captured_on else None,
             "duplicates": ", ".join(str(i) for i in dups.get(x.id, [])),
             "owner_name": people.get(x.owner_id, "")} for x in leads]
    df = pd.DataFrame(rows, columns=list(COLUMNS))
    df["timeline_months"] = df["timeline_months"].astype("Int64")
    return {"leads": df, "total": int(total)}


def _logins(ctx: Context, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(ctx.session.exec(select(User.id, User.login).where(User.id.in_(sorted(ids)))).all())


def _names(ctx: Context, ids: set[int]) -> dict[int, str]:
    """People by name (their login when they have none), for pages."""
    if not ids:
        return {}
    rows = ctx.session.exec(select(User.id, User.name, User.login).where(User.id.in_(sorted(ids)))).all()
    return {i: name or login for i, name, login in rows}


@action("lead.view")
def lead_label(ctx: Context, lead_id: int) -> str | None:
    """How a picker names one lead ("company"), or None when there is no such lead."""
    lead = ctx.session.get(Lead, lead_id) if isinstance(lead_id, int) and 0 < lead_id < 2**63 else None
    return None if lead is None or not scope.admits(ctx, lead) else lead.company


def _duplicates_of(ctx: Context, leads: list[Lead]) -> dict[int, list[int]]:
    """Possible duplicates of each lead shown, by the rule of core.services.leads (same normalised company
    and the same phone or e-mail, merged leads left out), plus the lead it was captured as a duplicate of;
    one query for the whole page."""
    companies = sorted({x.company_norm for x in leads if x.status != LeadStatus.MERGED})
    if not companies:
        return {}
    others = ctx.session.exec(select(Lead.id, Lead.company_norm, Lead.phone_norm, Lead.email_norm).where(
        Lead.company_norm.in_(companies), Lead.status != LeadStatus.MERGED,
        *scope.on_leads(ctx))).all()   # another person's lead is not shown, even as a duplicate
    by_company: dict[str, list] = {}
    for row in others:
        by_company.setdefault(row[1], []).append(row)
    alive = {row[0] for row in others}
    out = {}
    for x in leads:
        if x.status == LeadStatus.MERGED:
            continue
        hits = {i for i, _, pn, en in by_company.get(x.company_norm, [])
                if i != x.id and ((x.phone_norm and pn == x.phone_norm) or (x.email_norm and en == x.email_norm))}
        if x.duplicate_of_id in alive and x.duplicate_of_id != x.id:
            hits.add(x.duplicate_of_id)
        if hits:
            out[x.id] = sorted(hits)
    return out


@action("lead.view")
def lead_detail(ctx: Context, lead_id: int) -> dict:
    """One lead as plain data, its possible duplicates (rows to show) and what conversion would propose."""
    lead = ctx.get(Lead, lead_id, what="lead")
    ids = set() if lead.status == LeadStatus.MERGED else \
        set(duplicate_ids(ctx, lead.company_norm, lead.phone_norm, lead.email_norm, exclude=lead.id))
    if lead.duplicate_of_id and lead.duplicate_of_id != lead.id:
        other = ctx.session.get(Lead, lead.duplicate_of_id)
        if other is not None and other.status != LeadStatus.MERGED and lead.status != LeadStatus.MERGED:
            ids.add(other.id)
    dup_rows = ctx.session.exec(select(Lead).where(Lead.id.in_(sorted(ids)), *scope.on_leads(ctx))   # in scope only
                                .order_by(Lead.id)).all() if ids else []
    logins = _logins(ctx, {x.owner_id for x in [lead, *dup_rows] if x.owner_id})
    people = _names(ctx, {x.owner_id for x in [lead, *dup_rows] if x.owner_id})
    opp = ctx.session.exec(select(Opportunity.id, Opportunity.name).where(Opportunity.lead_id == lead.id)
                           .order_by(Opportunity.id)).first()
    close: date | None = add_months(ctx.today(), lead.timeline_months) if lead.timeline_months is not None else None
    return {
        "id": lead.id, "version": lead.version, "company": lead.company, "contact": lead.contact,
        "phone": lead.phone, "email": lead.email, "status": lead.status.value, "score": lead.score,
        "grade": lead.grade.value, "owner": logins.get(lead.owner_id, ""), "budget": lead.budget,
        "disqualify_reason": lead.disqualify_reason, "merged_into_id": lead.merged_into_id,
        "owner_name": people.get(lead.owner_id, ""), "source": lead.source, "region": lead.region,
        "industry": lead.industry, "need_text": lead.need_text, "authority": lead.authority.value,
        "need": lead.need.value, "timeline_months": lead.timeline_months, "captured_on": lead.captured_on,
        "opportunity_id": opp[0] if opp else None, "opportunity_name": opp[1] if opp else None,
        "duplicates": [{"ID": d.id, "company": d.company, "contact": d.contact, "phone": d.phone, "email": d.email,
                        "status": d.status.value, "score": d.score, "owner": logins.get(d.owner_id, ""),
                        "owner_name": people.get(d.owner_id, "")}
                       for d in dup_rows],
        "suggested": {"name": lead.company, "amount": lead.budget, "expected_close": close},
    }
