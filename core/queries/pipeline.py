"""The initiation board (立项看板): open opportunities by stage, and one opportunity in full (iron triangle,
customer guidance, estimate, the ATI gate, holds and stage history). Read only; plain data out."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import and_, func
from sqlalchemy.orm import aliased
from sqlmodel import select

from core import clock, gates, scope
from core.context import Context
from core.enums import OPEN_STAGES, Calculation, Decision, GateKind, Role, Stage
from core.models import Account, Baseline, GateDecision, Opportunity, Stakeholder, StageChange, User
from core.queries.people import display_names
from core.services import action
from core.services.opportunities import ati_missing, move_targets

SUBJECT = "opportunity"
BOARD_LIMIT = 30          # cards per column; the rest is counted as "+N more"
_RATE = Decimal("0.0001")


def _day(value) -> date | None:
    return clock.local_date(value) if isinstance(value, datetime) else value



def _where(ctx: Context, ar_login: str | None = None, region: str | None = None,
           industry: str | None = None) -> list:
    """The board's filters, within the person's data scope (core.scope)."""
    out = scope.on_deals(ctx)
    if ar_login:
        out.append(Opportunity.ar_id == select(User.id).where(User.login == ar_login).scalar_subquery())
    if region:
        out.append(Opportunity.region == region)
    if industry:
        out.append(Opportunity.industry == industry)
    return out


@action("opportunity.view")
def filter_options(ctx: Context) -> dict[str, list]:
    """The choices of the board's filters: ARs (login, name) and the regions and industries of open deals."""
    ars = [dict(login=u["login"], name=u["name"]) for u in _holders(ctx, Role.AR)]
    open_ = and_(Opportunity.stage.in_(OPEN_STAGES), *_where(ctx))
    regions = ctx.session.exec(select(Opportunity.region).where(open_, Opportunity.region != "")
                               .distinct().order_by(Opportunity.region)).all()
    industries = ctx.session.exec(select(Opportunity.industry).where(open_, Opportunity.industry != "")
                                  .distinct().order_by(Opportunity.industry)).all()
    return {"ars": ars, "regions": list(regions), "industries": list(industries)}


@action("opportunity.view")
def board(ctx: Context, *, ar_login: str | None = None, region: str | None = None, industry: str | None = None,
          limit: int = BOARD_LIMIT) -> dict[str, dict]:
    """{stage: {"count", "amount", "cards": [...]}} for each open stage in chain order. The cards of a column
    are the `limit` deals longest in that stage (on hold: the earliest review date first). A card says how
    long the deal has been in its stage, whether a hold is past its review date, whether ATI is pending."""
    today = ctx.today()
    where = _where(ctx, ar_login, region, industry)
    totals = {stage: (n, amount) for stage, n, amount in ctx.session.exec(
        select(Opportunity.stage, func.count(), func.sum(Opportunity.amount))
        .where(Opportunity.stage.in_(OPEN_STAGES), *where).group_by(Opportunity.stage)).all()}
    ar = aliased(User)
    out: dict[str, dict] = {}
    all_cards = []
    for stage in OPEN_STAGES:
        order = (Opportunity.hold_review_on, Opportunity.id) if stage == Stage.ON_HOLD else \
            (Opportunity.stage_since, Opportunity.id)
        rows = ctx.session.exec(
            select(Opportunity.id, Opportunity.name, Opportunity.amount, Opportunity.stage_since,
                   Opportunity.hold_review_on, Opportunity.expected_close, Account.name, ar.name, ar.login)
            .join(Account, Account.id == Opportunity.account_id).outerjoin(ar, ar.id == Opportunity.ar_id)
            .where(Opportunity.stage == stage, *where).order_by(*order).limit(limit)).all()
        cards = [dict(id=oid, name=name, customer=customer, amount=amount, ar=ar_name or ar_login or "",
                      days_in_stage=(today - _day(since)).days if since else None,
                      hold_review_on=review, hold_overdue=stage == Stage.ON_HOLD and review is not None
                      and review <= today, expected_close=close, ati_pending=False)
                 for oid, name, amount, since, review, close, customer, ar_name, ar_login in rows]
        n, amount = totals.get(stage, (0, None))
        out[stage.value] = {"count": int(n), "amount": amount if amount is not None else 0, "cards": cards,
                            "more": max(int(n) - len(cards), 0)}
        all_cards += cards
    pending = set(ctx.session.exec(select(GateDecision.subject_id).where(
        GateDecision.kind == GateKind.ATI, GateDecision.subject_type == SUBJECT,
        GateDecision.decision == Decision.PENDING,
        GateDecision.subject_id.in_([c["id"] for c in all_cards]))).all()) if all_cards else set()
    for c in all_cards:
        c["ati_pending"] = c["id"] in pending
    return out


@action("opportunity.view")
def opportunity_options(ctx: Context, *, ar_login: str | None = None, region: str | None = None,
                        industry: str | None = None, also: int | None = None) -> list[dict]:
    """Every open opportunity matching the filters, for picking one: id, name, customer, stage; `also` adds
    one opportunity whatever its stage (the one an address names: a won or lost deal opens too)."""
    from sqlalchemy import or_

    wanted = and_(Opportunity.stage.in_(OPEN_STAGES), *_where(ctx, ar_login, region, industry))
    if also is not None:
        wanted = or_(wanted, and_(Opportunity.id == also, *_where(ctx)))
    rows = ctx.session.exec(
        select(Opportunity.id, Opportunity.name, Opportunity.stage, Account.name)
        .join(Account, Account.id == Opportunity.account_id)
        .where(wanted).order_by(Opportunity.name, Opportunity.id)).all()
    return [dict(id=oid, name=name, stage=stage.value, customer=customer) for oid, name, stage, customer in rows]


def _holders(ctx: Context, role: Role) -> list[dict]:
    users = ctx.session.exec(select(User.login, User.name, User.roles).where(User.active == True)  # noqa: E712
                             .order_by(User.login)).all()
    return [dict(login=login, name=name) for login, name, roles in users if role.value in roles.split(",")]


@action("opportunity.view")
def team_candidates(ctx: Context) -> dict[str, list[dict]]:
    """Active users who may take each seat of the iron triangle: {"ar"|"sr"|"fr": [{login, name}]}."""
    return {role.value: _holders(ctx, role) for role in (Role.AR, Role.SR, Role.FR)}


@action("opportunity.view")
def opportunity_detail(ctx: Context, opp_id: int) -> dict:
    """One opportunity in full, as plain data: basics with version, team logins, guidance and its decision
    chain, estimates, ATI gate history (what is still missing before ATI may be requested) and stage moves."""
    opp = ctx.get(Opportunity, opp_id, what="opportunity")
    account = ctx.session.get(Account, opp.account_id)
    team = ctx.session.exec(select(User.id, User.login, User.name).where(
        User.id.in_([i for i in (opp.ar_id, opp.sr_id, opp.fr_id) if i is not None]))).all()
    login = {uid: lg for uid, lg, _ in team}
    person = {uid: nm or lg for uid, lg, nm in team}
    today = ctx.today()

    stakeholders = ctx.session.exec(select(Stakeholder).where(Stakeholder.opportunity_id == opp.id)
                                    .order_by(Stakeholder.id)).all()
    estimates = ctx.session.exec(select(Baseline).where(Baseline.opportunity_id == opp.id,
                                                        Baseline.kind == Calculation.ESTIMATE)
                                 .order_by(Baseline.id.desc())).all()
    ati = gates.history(ctx, GateKind.ATI, SUBJECT, opp.id)
    moves = ctx.session.exec(select(StageChange).where(StageChange.entity == "opportunity",
                                                       StageChange.entity_id == opp.id)
                             .order_by(StageChange.at, StageChange.id)).all()
    names = display_names(ctx, [g.requested_by_id for g in ati] + [g.decided_by_id for g in ati]
                          + [g.on_behalf_of_id for g in ati] + [m.by_id for m in moves])
    latest = estimates[0] if estimates else None
    return {
        "id": opp.id, "name": opp.name, "customer": account.name if account else "", "amount": opp.amount,
        "expected_close": opp.expected_close, "stage": opp.stage.value, "version": opp.version,
        "region": opp.region, "industry": opp.industry, "stage_since": opp.stage_since,
        "days_in_stage": (today - _day(opp.stage_since)).days if opp.stage_since else None,
        "hold_review_on": opp.hold_review_on,
        "hold_overdue": opp.stage == Stage.ON_HOLD and opp.hold_review_on is not None and opp.hold_review_on <= today,
        "lost_reason": opp.lost_reason,
        "team": {"ar": login.get(opp.ar_id, ""), "sr": login.get(opp.sr_id, ""), "fr": login.get(opp.fr_id, "")},
        "team_names": {"ar": person.get(opp.ar_id, ""), "sr": person.get(opp.sr_id, ""),
                       "fr": person.get(opp.fr_id, "")},
        "move_targets": move_targets(opp),
        "pain_points": opp.pain_points, "value_proposition": opp.value_proposition,
        "stakeholders": pd.DataFrame(
            [{"ID": s.id, "Name": s.name, "Title": s.title, "Chain role": s.chain_role, "Stance": s.stance.value,
              "Version": s.version} for s in stakeholders],
            columns=["ID", "Name", "Title", "Chain role", "Stance", "Version"]),
        "estimate": None if latest is None else {
            "revenue": latest.revenue, "cost": latest.cost, "margin": latest.margin, "note": latest.note,
            "margin_rate": (latest.margin / latest.revenue).quantize(_RATE) if latest.revenue else None},
        "estimates": pd.DataFrame(
            [{"When": e.created_at, "Revenue": e.revenue, "Cost": e.cost, "Margin": e.margin, "Note": e.note}
             for e in estimates], columns=["When", "Revenue", "Cost", "Margin", "Note"]),
        "ati": pd.DataFrame(
            [{"Step": g.reviewer_role, "Requested": g.requested_at, "Requested by": names.get(g.requested_by_id, ""),
              "Decision": g.decision.value, "Decided": g.decided_at, "Decided by": names.get(g.decided_by_id, ""),
              "On behalf of": names.get(g.on_behalf_of_id, ""), "Rationale": g.rationale,
              "Review date": g.review_date} for g in ati],
            columns=["Step", "Requested", "Requested by", "Decision", "Decided", "Decided by", "On behalf of",
                     "Rationale", "Review date"]),
        "ati_pending": bool(ati) and ati[-1].decision == Decision.PENDING,
        "ati_missing": ati_missing(ctx, opp),
        "stage_history": pd.DataFrame(
            [{"When": m.at, "From": m.from_stage, "To": m.to_stage, "By": names.get(m.by_id, "")} for m in moves],
            columns=["When", "From", "To", "By"]),
    }


@action("opportunity.view")
def holds(ctx: Context) -> pd.DataFrame:
    """Every opportunity on hold with its review date, the overdue ones first (earliest review first)."""
    today = ctx.today()
    rows = ctx.session.exec(
        select(Opportunity.id, Opportunity.name, Account.name, Opportunity.amount, Opportunity.hold_review_on)
        .join(Account, Account.id == Opportunity.account_id).where(Opportunity.stage == Stage.ON_HOLD, *_where(ctx))
        .order_by(Opportunity.hold_review_on, Opportunity.id)).all()
    return pd.DataFrame([{"ID": oid, "Opportunity": name, "Customer": customer, "Amount": amount,
                          "Review date": review, "Overdue": review is not None and review <= today}
                         for oid, name, customer, amount, review in rows],
                        columns=["ID", "Opportunity", "Customer", "Amount", "Review date", "Overdue"])
