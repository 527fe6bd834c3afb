"""A property of the data scope: for random people (random roles and teams) and random deals (random iron
triangles), no list, export or record read returns a deal outside the person's scope, and none inside it is
missing. The expectation is worked out here from config/permissions.toml and the teams, apart from core.scope."""
from __future__ import annotations

import shutil

from hypothesis import HealthCheck, given, settings, strategies as st
from sqlmodel import delete, select

from core import scope
from core.context import SYSTEM, Actor, unit_of_work
from core.db import get_engine
from core.errors import NotFound
from core.exports import export_rows
from core.models import Account, Opportunity, Team, TeamMember, User
from core.queries import pipeline

PEOPLE, DEALS = 4, 8
ROLES = sorted(scope.matrix())


def _world(url: str) -> list[int]:
    with unit_of_work(SYSTEM, "test", url=url) as ctx:
        acc = Account(name="Prop Co", name_norm="prop co")
        ctx.session.add(acc)
        for i in range(PEOPLE):
            ctx.session.add(User(login=f"p{i}", name=f"P{i}", roles="ar"))
        for t in ("T0", "T1"):
            ctx.session.add(Team(name=t, name_norm=t.lower()))
        ctx.session.flush()
        for i in range(DEALS):
            ctx.session.add(Opportunity(name=f"D{i}", account_id=acc.id))
        ctx.session.flush()
        return [u.id for u in ctx.session.exec(select(User).order_by(User.id)).all()]


# the team-scoped role drawn often: its reach depends on the teams and their managers, the rest on seats alone
people_st = st.lists(st.tuples(st.sets(st.sampled_from(ROLES + [r for r in ROLES if "team" in
                                                                scope.matrix()[r].values()] * 4),
                                       min_size=1, max_size=2),
                               st.sets(st.sampled_from(["T0", "T1"]), min_size=1, max_size=2)),
                     min_size=PEOPLE, max_size=PEOPLE)
seat = st.one_of(st.integers(0, PEOPLE - 1), st.none())   # mostly someone: an empty seat reaches nobody
deals_st = st.lists(st.tuples(seat, seat, seat), min_size=DEALS, max_size=DEALS)
managers_st = st.tuples(st.integers(0, PEOPLE - 1), seat)


def _expected(levels: dict, me: int, my_teams: set[str], members: dict[str, set[int]],
              triangle: tuple) -> bool:
    rank = max((("own", "team", "all").index(levels[r]) for r in levels), default=-1)
    on = {p for p in triangle if p is not None}
    if rank == 2:
        return True
    reach = {me} | (set().union(*(members[t] for t in my_teams)) if rank == 1 else set())
    return rank >= 0 and bool(on & reach)


def test_no_query_returns_a_deal_outside_the_persons_scope(sqlite_template, tmp_path):
    path = tmp_path / "prop.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    user_ids = _world(url)

    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(people=people_st, deals=deals_st, managers=managers_st)
    def check(people, deals, managers):
        with unit_of_work(SYSTEM, "test", url=url) as ctx:
            s = ctx.session
            s.exec(delete(TeamMember))
            teams = {t.name: t for t in s.exec(select(Team)).all()}
            for (roles, in_teams), uid in zip(people, user_ids):
                s.get(User, uid).roles = ",".join(sorted(roles))
                for t in in_teams:
                    s.add(TeamMember(team_id=teams[t].id, user_id=uid))
            for t, m in zip(("T0", "T1"), managers):
                teams[t].manager_id = user_ids[m] if m is not None else None
            opps = s.exec(select(Opportunity).order_by(Opportunity.id)).all()
            for o, (a, sr, fr) in zip(opps, deals):
                o.ar_id, o.sr_id, o.fr_id = (user_ids[x] if x is not None else None for x in (a, sr, fr))
            opp_ids = [o.id for o in opps]
        members = {t: {i for i, (_, ts) in enumerate(people) if t in ts} |
                   ({managers[k]} if managers[k] is not None else set()) for k, t in enumerate(("T0", "T1"))}
        for i, (roles, in_teams) in enumerate(people):
            my_teams = set(in_teams) | {t for k, t in enumerate(("T0", "T1")) if managers[k] == i}
            actor = Actor(id=user_ids[i], login=f"p{i}", roles=frozenset(roles))
            levels = {r: scope.matrix()[r]["opportunity"] for r in roles if "opportunity" in scope.matrix()[r]}
            want = {oid for oid, tri in zip(opp_ids, deals) if _expected(levels, i, my_teams, members, tri)}
            with unit_of_work(actor, "test", url=url) as ctx:
                if ctx.may("opportunity.view"):
                    listed = {o["id"] for o in pipeline.opportunity_options(ctx)}
                    assert listed == want, (i, roles, my_teams)
                if ctx.may("data.export"):
                    assert {r["id"] for r in export_rows(ctx, "opportunities")[1]} == want
                for oid in opp_ids:   # a record by its id: found exactly when in scope
                    try:
                        ctx.get(Opportunity, oid)
                        assert oid in want
                    except NotFound:
                        assert oid not in want

    check()
    get_engine(url).dispose()
