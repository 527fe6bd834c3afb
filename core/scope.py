"""Data scope (数据权限): which records a person reaches, as data (config/permissions.toml, [scope]).

One place for every entry point: a record loaded by id (`Context.get`, so every service's write and every
record address) is "not found" when it is outside the person's scope, exactly as a missing one; list queries,
My work, exports and figures narrow their rows with `on_deals`, `on_leads`, `contracts` and `accounts` below.

- own: the person owns the record: a lead's owner, a deal's iron triangle (AR, SR or FR of the opportunity);
- team: owned by the person or by a member or manager of a team they manage or belong to;
- all: every record.

A person with several roles reaches what the widest of them reaches. Roles and teams are read live at each
action (never from sign-in), so a person moved out of a team or stripped of a role loses its records at once.
The system acts on every record; a department sheet (an actor without an account) on every record of its
department, or, given `team` in config/sheets.toml, on those of that team's people.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import false, or_
from sqlmodel import select

from config.settings import load

if TYPE_CHECKING:
    from core.context import Context

LEVELS = ("own", "team", "all")            # narrowest first
ENTITIES = ("lead", "opportunity", "contract", "billing")
ALL = None                                 # "no narrowing": the person reaches every record


def matrix() -> dict[str, dict[str, str]]:
    """{role: {entity: level}} as configured; a role or entity left out reaches nothing (deny by default)."""
    out: dict[str, dict[str, str]] = {}
    for role, entities in load("permissions").get("scope", {}).items():
        out[role] = {e: lv for e, lv in entities.items() if e in ENTITIES and lv in LEVELS}
    return out


def level(ctx: Context, entity: str) -> str | None:
    """The widest level the person's current roles give on `entity` ('own', 'team', 'all'), or None."""
    if ctx.actor.id is None:
        return "team" if ctx.actor.teams and _role_level(ctx.actor.roles, entity) != "all" else "all"
    return _role_level(ctx.current_roles() or frozenset(), entity)


def _role_level(roles, entity: str) -> str | None:
    given = [matrix().get(r, {}).get(entity) for r in roles]
    ranks = [LEVELS.index(lv) for lv in given if lv]
    return LEVELS[max(ranks)] if ranks else None


def people(ctx: Context, entity: str) -> frozenset[int] | None:
    """The users whose records the person reaches on `entity`: None for all, else a set (maybe empty)."""
    lv = level(ctx, entity)
    if lv == "all":
        return ALL
    if lv is None:
        return frozenset()
    if ctx.actor.id is None:   # a department sheet kept for some teams (level says "team")
        return named_teams_people(ctx, ctx.actor.teams)
    if lv == "own":
        return frozenset({ctx.actor.id})
    return frozenset({ctx.actor.id}) | team_people(ctx)


def _people_of(ctx: Context, team_ids) -> frozenset[int]:
    """Members and managers of the teams `team_ids` (a subquery) selects."""
    from core.models import Team, TeamMember

    ids = set(ctx.session.exec(select(TeamMember.user_id).where(TeamMember.team_id.in_(team_ids))).all())
    ids |= {m for m in ctx.session.exec(select(Team.manager_id).where(Team.id.in_(team_ids))).all() if m}
    return frozenset(ids)


def team_people(ctx: Context) -> frozenset[int]:
    """Members and managers of every team the person manages or belongs to (read once per unit of work)."""
    from core.models import Team, TeamMember

    known = ctx.session.info.setdefault("team_people", {})
    me = ctx.actor.id
    if me not in known:
        known[me] = _people_of(ctx, select(Team.id).where(Team.manager_id == me).union(
            select(TeamMember.team_id).where(TeamMember.user_id == me)))
    return known[me]


def named_teams_people(ctx: Context, names) -> frozenset[int]:
    """Members and managers of the teams named (a department sheet's `team`); a name that is no team: nobody."""
    from core.models import Team
    from core.normalise import team

    return _people_of(ctx, select(Team.id).where(Team.name_norm.in_([team(n) for n in names])))


def forget(ctx: Context) -> None:
    """Teams or roles changed in this unit of work: read them again at the next check."""
    ctx.session.info.pop("team_people", None)
    ctx.session.info.pop("current_roles", None)


# -- conditions for list queries ---------------------------------------------------------------------

def on_deal(ids: frozenset[int]):
    """An opportunity whose iron triangle has one of `ids`."""
    from core.models import Opportunity

    if not ids:
        return false()
    listed = sorted(ids)
    return or_(Opportunity.ar_id.in_(listed), Opportunity.sr_id.in_(listed), Opportunity.fr_id.in_(listed))


def on_deals(ctx: Context, entity: str = "opportunity") -> list:
    """WHERE clauses on Opportunity (already in the query) keeping the deals the person reaches: [] for all."""
    ids = people(ctx, entity)
    return [] if ids is ALL else [on_deal(ids)]


def deals(ctx: Context, entity: str = "opportunity"):
    """None when the person reaches every deal on `entity`; else a subquery of the opportunity ids they reach."""
    from core.models import Opportunity

    ids = people(ctx, entity)
    return None if ids is ALL else select(Opportunity.id).where(on_deal(ids))


def contracts(ctx: Context, entity: str = "contract"):
    """None when the person reaches every contract on `entity`; else a subquery of the contract ids they reach
    (an invoice or a payment term belongs to its contract's deal)."""
    from core.models import Contract, Opportunity

    ids = people(ctx, entity)
    return None if ids is ALL else (select(Contract.id).join(Opportunity, Opportunity.id == Contract.opportunity_id)
                                    .where(on_deal(ids)))


def accounts(ctx: Context, entity: str = "billing"):
    """None for every customer; else a subquery of the customers with a deal the person reaches."""
    from core.models import Opportunity

    ids = people(ctx, entity)
    return None if ids is ALL else select(Opportunity.account_id).where(on_deal(ids))


def on_leads(ctx: Context) -> list:
    """WHERE clauses on Lead keeping the leads the person reaches: [] for all."""
    from core.models import Lead

    ids = people(ctx, "lead")
    if ids is ALL:
        return []
    return [Lead.owner_id.in_(sorted(ids)) if ids else false()]


def reachable_deals(ctx: Context, entity: str, opp_ids) -> set[int]:
    """Those of `opp_ids` the person reaches on `entity` (one query)."""
    from core.models import Opportunity

    wanted: list[int] = sorted({i for i in opp_ids if i is not None})
    ids = people(ctx, entity)
    if ids is ALL or not wanted:
        return set(wanted)
    found = ctx.session.exec(select(Opportunity.id).where(Opportunity.id.in_(wanted), on_deal(ids))).all()
    return {i for i in found if i is not None}


# the entity a gate's subject belongs to, for its decision to be in someone's scope
GATE_ENTITY = {"opportunity": "opportunity", "bid": "opportunity", "contract": "contract",
               "change_order": "contract", "invoice": "billing"}


def within(ctx: Context, model, q):
    """`q` over `model` (a record kind an export or a count lists) kept to the rows the person reaches; a kind
    that is not record-scoped stays as it is."""
    from core import models as m

    if model is m.Lead:
        return q.where(*on_leads(ctx))
    if model is m.Opportunity:
        return q.where(*on_deals(ctx))
    if model in (m.Bid, m.Stakeholder):
        return narrow(q, model.opportunity_id, deals(ctx))
    if model is m.Contract:
        return narrow(q, m.Contract.id, contracts(ctx))
    if model in (m.PaymentTerm, m.Milestone, m.CostEntry, m.ChangeOrder):
        return narrow(q, model.contract_id, contracts(ctx))
    if model is m.Invoice:
        return narrow(q, m.Invoice.contract_id, contracts(ctx, "billing"))
    if model is m.Payment:
        return narrow(q, m.Payment.account_id, accounts(ctx))
    return q


def narrow(q, column, within):
    """`q` kept to rows whose `column` is in the subquery `within` (None: no narrowing)."""
    return q if within is None else q.where(column.in_(within))


# -- one record ---------------------------------------------------------------------------------------

def admits(ctx: Context, row) -> bool:
    """Whether the person reaches this row, by the record it belongs to (a bid by its deal, a milestone by its
    contract's deal, an invoice by its contract's deal, a payment by its customer)."""
    from core import models as m

    get = ctx.session.get
    if isinstance(row, m.Lead):
        ids = people(ctx, "lead")
        return ids is ALL or row.owner_id in ids
    if isinstance(row, m.Opportunity):
        return _reaches_deal(ctx, "opportunity", row)
    if isinstance(row, (m.Stakeholder, m.Bid, m.Baseline)) and getattr(row, "opportunity_id", None) is not None:
        return _reaches_deal(ctx, "opportunity", get(m.Opportunity, row.opportunity_id))
    if isinstance(row, m.Contract):
        return _reaches_deal(ctx, "contract", get(m.Opportunity, row.opportunity_id))
    if isinstance(row, (m.PaymentTerm, m.ChangeOrder, m.Milestone, m.CostEntry, m.ClosureReview)):
        contract = get(m.Contract, row.contract_id)
        return contract is None or _reaches_deal(ctx, "contract", get(m.Opportunity, contract.opportunity_id))
    if isinstance(row, m.Acceptance):
        milestone = get(m.Milestone, row.milestone_id)
        return milestone is None or admits(ctx, milestone)
    if isinstance(row, m.Invoice):
        contract = get(m.Contract, row.contract_id)
        return contract is None or _reaches_deal(ctx, "billing", get(m.Opportunity, contract.opportunity_id))
    if isinstance(row, (m.Payment, m.Refund)):
        return reaches_account(ctx, row.account_id)
    if isinstance(row, m.Allocation):
        payment = get(m.Payment, row.payment_id)
        return payment is None or admits(ctx, payment)
    if isinstance(row, m.GateDecision):
        subject = _gate_subject(ctx, row)
        return subject is None or admits(ctx, subject)
    return True   # people, customers, settings, sync bookkeeping: not record-scoped


def _reaches_deal(ctx: Context, entity: str, opp) -> bool:
    ids = people(ctx, entity)
    if ids is ALL or opp is None:
        return ids is ALL
    return bool({opp.ar_id, opp.sr_id, opp.fr_id} & ids)


def reaches_account(ctx: Context, account_id: int, entity: str = "billing") -> bool:
    """Whether the customer has a deal the person reaches (one row looked for, not all of their customers)."""
    from core.models import Opportunity

    ids = people(ctx, entity)
    if ids is ALL:
        return True
    return ctx.session.exec(select(Opportunity.id).where(Opportunity.account_id == account_id, on_deal(ids))
                            .limit(1)).first() is not None


_SUBJECTS = {"opportunity": "Opportunity", "bid": "Bid", "contract": "Contract", "change_order": "ChangeOrder",
             "invoice": "Invoice"}


def _gate_subject(ctx: Context, gate):
    from core import models as m

    name = _SUBJECTS.get(gate.subject_type)
    return ctx.session.get(getattr(m, name), gate.subject_id) if name else None
