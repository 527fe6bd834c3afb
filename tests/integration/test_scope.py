"""Data scope (core.scope): who reaches which records, for every role of config/permissions.toml [scope].

The matrix is generated from the config: for each role, a person holding only that role, in the East team
(whose member `ar` owns side A) and on no deal's triangle, must reach side A's records when the role's level on
that entity is `team` or `all`, and side B's (owned by `ar2`, in another team) only when it is `all`. Each is
tried by the four actions a record has: read (its detail), list (the list query), update (a write through the
service) and export; a record outside the scope is "not found", exactly as a missing one."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlmodel import select

from core import permissions, scope
from core.errors import NotFound, PermissionDenied
from core.exports import export_rows
from core.models import Contract, Lead, Opportunity, PaymentTerm
from core.queries import cash, contracts as cq, leads as lq, pipeline
from core.context import SYSTEM, perform
from core.services import billing, contracts, delivery, leads, opportunities as opps, teams, users
from tests.integration.money_fixtures import days, draft_with_terms, make_opportunity, sign

SIDES = ("A", "B")   # A: ar's (East team), B: ar2's (North team)


@dataclass
class Side:
    lead: int
    open_opp: int     # still in initiation: the board lists it
    opp: int          # won, with a signed contract
    contract: int
    invoice: int
    payment: int


def _side(world, name: str, owner: str, account: str) -> Side:
    lead = world.do("marketing", leads.capture_lead, company=f"{name} Lead Co", phone="1380000000" + name[-1],
                    owner=owner)
    open_opp = world.do(owner, opps.create_opportunity, name=f"{name} open", account_name=account, amount=100)
    opp = make_opportunity(world, name=f"{name} won", account=account)
    _, cid, _ = draft_with_terms(world, number=f"HT-{name}", opp_id=opp)
    sign(world, cid, signed_on=days(-30))
    advance = world.read(lambda ctx: ctx.session.exec(
        select(PaymentTerm.id).where(PaymentTerm.contract_id == cid, PaymentTerm.name == "Advance 30%")).one())
    invoice = world.do("finance", billing.issue_invoice, advance, amount="300000", issued_on=days(-20))
    account_id = world.get(Contract, cid).account_id
    payment = world.do("finance", billing.record_payment, account_id=account_id, amount="100000",
                       received_on=days(-5), reference=f"PAY-{name}")
    # a decision waiting on each side: a change order (legal and finance review it), a write-off (a leader)
    perform(SYSTEM, contracts.request_change, cid, number=f"CO-{name}", reason="more sites", new_amount="1000000",
            url=world.url)
    world.do("finance", billing.request_write_off, invoice, amount="1000", reason="bank charges")

    def seat(ctx):   # side B belongs to ar2 alone: nobody else on its triangle
        for oid in (opp, open_opp):
            o = ctx.session.get(Opportunity, oid)
            o.ar_id = world.users[owner].id
            if owner != "ar":
                o.sr_id = o.fr_id = None
    world.read(seat)
    return Side(lead, open_opp, opp, cid, invoice, payment)


@pytest.fixture
def scoped(world):
    """Two sides and, for each configured role, a person `t-<role>` holding only that role, in the East team."""
    from core.context import SYSTEM, unit_of_work

    sides = {"A": _side(world, "A", "ar", "Alpha Power"), "B": _side(world, "B", "ar2", "Beta Rail")}
    with unit_of_work(SYSTEM, "test", url=world.url) as ctx:
        east = teams.create_team(ctx, "East", manager_login="leader")
        teams.create_team(ctx, "North")
        teams.set_teams(ctx, world.users["ar"].id, ["East"])
        teams.set_teams(ctx, world.users["ar2"].id, ["North"])
        for role in scope.matrix():
            uid = users.create_user(ctx, f"t-{role}", roles=[role])
            teams.set_teams(ctx, uid, ["East"])
    with unit_of_work(SYSTEM, "test", url=world.url) as ctx:
        for role in scope.matrix():
            world.users[f"t-{role}"] = users.actor(ctx, f"t-{role}")
    assert east
    return sides


# -- the four actions on each entity ------------------------------------------------------------------

def _ids(df, col="ID") -> set[int]:
    return {int(i) for i in df[col]}


READ: dict[str, Callable] = {
    "lead": lambda ctx, s: lq.lead_detail(ctx, s.lead),
    "opportunity": lambda ctx, s: pipeline.opportunity_detail(ctx, s.opp),
    "contract": lambda ctx, s: cq.contract_detail(ctx, s.contract),
    "billing": lambda ctx, s: cash.invoice_detail(ctx, s.invoice),
}
LIST: dict[str, Callable] = {   # is the side's record among those listed
    "lead": lambda ctx, s: s.lead in _ids(lq.lead_inbox(ctx, statuses=[])["leads"]),
    "opportunity": lambda ctx, s: s.open_opp in {o["id"] for o in pipeline.opportunity_options(ctx)},
    "contract": lambda ctx, s: s.contract in _ids(cq.contract_list(ctx)),
    "billing": lambda ctx, s: s.invoice in _ids(cash.invoices(ctx, limit=0))
    and s.payment in _ids(cash.payments(ctx, limit=0)),
}
UPDATE: dict[str, tuple[str, Callable]] = {   # the permission it needs, and the write
    "lead": ("lead.update", lambda ctx, s: leads.update_lead(ctx, s.lead, need_text="scope test")),
    "opportunity": ("opportunity.update", lambda ctx, s: opps.update_opportunity(ctx, s.open_opp, name="Renamed")),
    "contract": ("milestone.plan", lambda ctx, s: delivery.plan_milestone(ctx, s.contract, name="Extra",
                                                                          planned_on=days(90))),
    "billing": ("invoice.update", lambda ctx, s: billing.update_invoice(ctx, s.invoice, due_on=days(40))),
}
DECIDE: dict[str, list[tuple[str, Callable]]] = {   # the decisions waiting on each side, by the permission
    "contract": [("change.review_legal", lambda ctx, s: contracts.review_change_legal(
        ctx, _change(ctx, s), "reject", rationale="scope test")),
        ("change.review_finance", lambda ctx, s: contracts.review_change_finance(
            ctx, _change(ctx, s), "reject", rationale="scope test"))],
    "billing": [("writeoff.decide", lambda ctx, s: billing.decide_write_off(ctx, s.invoice, "reject",
                                                                           rationale="scope test"))],
}


def _change(ctx, side: Side) -> int:
    from core.models import ChangeOrder
    return ctx.session.exec(select(ChangeOrder.id).where(ChangeOrder.contract_id == side.contract)).one()


EXPORT = {"lead": ("leads", "lead"), "opportunity": ("opportunities", "opp"), "contract": ("contracts", "contract"),
          "billing": ("invoices", "invoice")}
VIEW = {"lead": "lead.view", "opportunity": "opportunity.view", "contract": "contract.view", "billing": "billing.view"}


def _reached(world, who: str, action: str, entity: str, side: Side) -> bool | None:
    """Whether `who` reaches the side's record by `action` (None: the role may not take the action at all)."""
    from core.context import unit_of_work

    roles = world.users[who].roles
    if action in ("read", "list") and not permissions.allowed(roles, VIEW[entity]):
        return None
    if action == "update" and not permissions.allowed(roles, UPDATE[entity][0]):
        return None
    if action == "export" and not permissions.allowed(roles, "data.export"):
        return None
    if action == "decide":
        fns = [fn for perm, fn in DECIDE.get(entity, []) if permissions.allowed(roles, perm)]
        if not fns:
            return None
        try:
            perform(world.users[who], fns[0], side, url=world.url)
            return True
        except NotFound:
            return False
        except PermissionDenied:
            raise
        except Exception:   # noqa: BLE001  (decided already, or a state rule refused it: the record was reached)
            return True
    if action == "read":
        try:
            with unit_of_work(world.users[who], "test", url=world.url) as ctx:
                READ[entity](ctx, side)
            return True
        except NotFound:
            return False
    if action == "list":
        with unit_of_work(world.users[who], "test", url=world.url) as ctx:
            return LIST[entity](ctx, side)
    if action == "export":
        name, attr = EXPORT[entity]
        with unit_of_work(world.users[who], "test", url=world.url) as ctx:
            _, rows = export_rows(ctx, name)
        return getattr(side, attr) in {r["id"] for r in rows}
    try:   # update: in scope it is done or refused for a reason of its own; out of scope, not found
        perform(world.users[who], UPDATE[entity][1], side, url=world.url)
        return True
    except NotFound:
        return False
    except PermissionDenied:
        raise
    except Exception:   # noqa: BLE001  (a state rule refused it: the record was reached)
        return True


def _expected(level: str | None, side_name: str) -> bool:
    return level == "all" or (level == "team" and side_name == "A")


def test_every_role_reaches_what_its_configured_scope_says(world, scoped):
    wrong = []
    for role, levels in scope.matrix().items():
        who = f"t-{role}"
        for entity in scope.ENTITIES:
            for action in ("read", "list", "update", "decide", "export"):
                for name in SIDES:
                    got = _reached(world, who, action, entity, scoped[name])
                    want = _expected(levels.get(entity), name)
                    if got is not None and got != want:
                        wrong.append(f"{who} {action} {entity} of side {name}: reached {got}, scope says {want}")
    assert wrong == []
    # the matrix was not empty: someone reached both sides, someone only A, someone neither
    assert _reached(world, "t-leader", "read", "contract", scoped["B"])
    assert _reached(world, "t-manager", "list", "opportunity", scoped["A"])
    assert not _reached(world, "t-manager", "list", "opportunity", scoped["B"])
    assert _reached(world, "t-ar", "read", "opportunity", scoped["A"]) is False
    assert _reached(world, "t-legal", "decide", "contract", scoped["B"]) is True


@pytest.mark.parametrize("action", ["read", "list", "update"])
def test_ar2_reaches_none_of_ars_deals_and_ar_none_of_ar2s(world, scoped, action):
    for entity in scope.ENTITIES:
        for who, mine, theirs in (("ar", "A", "B"), ("ar2", "B", "A")):
            got_mine = _reached(world, who, action, entity, scoped[mine])
            assert got_mine in (True, None), f"{who} {action} {entity} of their own side"
            assert _reached(world, who, action, entity, scoped[theirs]) in (False, None), \
                f"{who} {action} {entity} of the other AR's side"


def test_out_of_scope_reads_like_a_missing_record(world, scoped):
    from core.context import unit_of_work

    missing = 999_999
    for entity, fn in READ.items():
        messages = []
        for rid in ("B", missing):
            side = scoped["B"] if rid == "B" else Side(*(missing,) * 6)
            with pytest.raises(NotFound) as exc, unit_of_work(world.users["ar"], "test", url=world.url) as ctx:
                fn(ctx, side)
            messages.append(str(exc.value).replace(str(getattr(side, EXPORT[entity][1])), "N"))
        assert messages[0] == messages[1], entity


def test_a_team_or_role_change_holds_at_the_next_action(world, scoped):
    from core.context import SYSTEM, unit_of_work

    mgr = "t-manager"
    assert _reached(world, mgr, "read", "opportunity", scoped["A"])
    with unit_of_work(SYSTEM, "test", url=world.url) as ctx:
        teams.set_teams(ctx, world.users[mgr].id, ["North"])   # moved to the other team
    assert not _reached(world, mgr, "read", "opportunity", scoped["A"])
    assert _reached(world, mgr, "read", "opportunity", scoped["B"])
    # ar2 made a sales manager too (a role given counts from the next sign-in; one taken away at once): the
    # widest of their roles counts, their team's deals (theirs) and no more
    with unit_of_work(SYSTEM, "test", url=world.url) as ctx:
        users.update_user(ctx, world.users["ar2"].id, roles=["ar", "manager"])
        world.users["ar2"] = users.actor(ctx, "ar2")
    assert _reached(world, "ar2", "list", "opportunity", scoped["B"])
    assert not _reached(world, "ar2", "list", "opportunity", scoped["A"])
    with unit_of_work(SYSTEM, "test", url=world.url) as ctx:
        teams.set_teams(ctx, world.users["ar2"].id, ["North", "East"])
    assert _reached(world, "ar2", "list", "opportunity", scoped["A"])


def test_handing_a_deal_over_needs_scope_and_the_audit_names_both(world, scoped):
    from core.context import unit_of_work
    from core.models import AuditEvent

    with pytest.raises(NotFound):   # ar2 cannot make themselves AR of ar's deal
        world.do("ar2", opps.set_team, scoped["A"].open_opp, ar_login="ar2", sr_login="", fr_login="")
    world.do("ar", opps.set_team, scoped["A"].open_opp, ar_login="ar2", sr_login="", fr_login="")
    with unit_of_work(world.users["leader"], "test", url=world.url) as ctx:
        event = ctx.session.exec(select(AuditEvent).where(AuditEvent.action == "opportunity.team")
                                 .order_by(AuditEvent.id.desc())).first()
    assert event.user_login == "ar"
    assert f'"ar_id": {world.users["ar"].id}' in event.before_json
    assert f'"ar_id": {world.users["ar2"].id}' in event.after_json
    assert not _reached(world, "ar", "read", "opportunity", Side(0, 0, scoped["A"].open_opp, 0, 0, 0))


def test_the_sales_managers_cash_figures_are_their_teams(world, scoped):
    from core.context import unit_of_work
    from core.metrics import Filters, monthly

    def collected(who):
        with unit_of_work(world.users[who], "test", url=world.url) as ctx:
            return sum(m["collected"] for m in monthly(ctx, Filters(as_of=days(0))))
    assert collected("t-leader") == 200_000          # both sides' payments
    assert collected("t-manager") == 100_000         # the East team's: side A
    assert collected("t-finance") == 200_000


def test_leads_stay_with_their_owner(world, scoped):
    assert world.do("ar", lq.lead_label, scoped["B"].lead) is None
    lid = world.do("ar", leads.capture_lead, company="Own Find Ltd", phone="13911112222")
    assert world.get(Lead, lid).owner_id == world.users["ar"].id   # an AR's own find stays theirs


def test_a_teams_manager_counts_among_its_people(world, scoped):
    from core.context import SYSTEM, unit_of_work

    assert not _reached(world, "t-manager", "read", "contract", scoped["B"])
    with unit_of_work(SYSTEM, "test", url=world.url) as ctx:
        teams.create_team(ctx, "Solo", manager_login="ar2")   # ar2 manages Solo without being its member
        teams.set_teams(ctx, world.users["t-manager"].id, ["East", "Solo"])
    assert _reached(world, "t-manager", "read", "contract", scoped["B"])
    assert _reached(world, "t-manager", "read", "contract", scoped["A"])


def test_a_department_sheet_kept_for_one_team_reaches_that_teams_records_only(world, scoped):
    """config/sheets.toml `team = "East"`: the sheet's rows are the East people's deals, and an edit typed
    on another team's record (a row pasted in from elsewhere) is refused as not found."""
    from core.context import Actor, perform, unit_of_work
    from sync.entities import ContractAdapter, OpportunityAdapter

    east = Actor(id=None, login="sheet-sales", roles=frozenset({"ar"}), name="Sales", teams=frozenset({"East"}))
    whole = Actor(id=None, login="sheet-sales", roles=frozenset({"ar"}), name="Sales")
    with unit_of_work(east, "sheet:opportunities", url=world.url) as ctx:
        rows = OpportunityAdapter().rows(ctx)
    assert scoped["A"].open_opp in rows and scoped["B"].open_opp not in rows
    with unit_of_work(whole, "sheet:opportunities", url=world.url) as ctx:   # no team: the whole department
        assert {scoped["A"].open_opp, scoped["B"].open_opp} <= set(OpportunityAdapter().rows(ctx))
    with pytest.raises(NotFound):
        perform(east, OpportunityAdapter().update, scoped["B"].open_opp, {"name": "Taken over"}, url=world.url)
    perform(east, OpportunityAdapter().update, scoped["A"].open_opp, {"name": "East's own"}, url=world.url)
    assert world.get(Opportunity, scoped["A"].open_opp).name == "East's own"
    legal = Actor(id=None, login="sheet-contracts", roles=frozenset({"legal"}), name="Contracts",
                  teams=frozenset({"East"}))
    with unit_of_work(legal, "sheet:contracts", url=world.url) as ctx:   # legal reaches all contracts anyway
        assert {scoped["A"].contract, scoped["B"].contract} <= set(ContractAdapter().rows(ctx))


def test_the_record_history_shows_only_records_in_the_persons_scope(world, scoped):
    """legal reads the audit trail, and reaches every contract, but only their own leads (none)."""
    from core.queries.history import recent_activity, record_history

    with pytest.raises(NotFound):
        world.do("t-legal", record_history, "lead", scoped["A"].lead)
    assert not world.do("t-legal", record_history, "contract", scoped["B"].contract).empty
    seen = world.do("t-legal", recent_activity, limit=1000)
    assert "lead" not in set(seen["Entity"]) and "contract" in set(seen["Entity"])
    assert "lead" in set(world.do("t-leader", recent_activity, limit=1000)["Entity"])
