"""Bad input at every form field and every lead-import column (issue 6, point 3), generated with Hypothesis.

Each service a page calls with typed values is called directly, one parameter at a time, the others kept
valid. A value is either refused with a ValidationError naming that field, and every export (audit included)
and every other table stays byte-for-byte the same; or it is valid for the field's type, and reading the
row back from the database gives the value as stored (normalised as documented: text NFC and trimmed, money
to cents, dates as dates, choices as their stored value). Accepted calls are rolled back, so every example
starts from the same database.

SQLite: Hypothesis, `EXAMPLES` per field. PostgreSQL (which, unlike SQLite, enforces column lengths and
refuses NUL): a fixed handful per field.
"""
from __future__ import annotations

import csv
import io
import shutil
import unicodedata
from dataclasses import dataclass, field as dc_field
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from core import calculations, gates, normalise
from core.context import SYSTEM, unit_of_work
from core.enums import Calculation, GateKind, Stage
from core.errors import DuplicateError, ValidationError
from core.exports import export_rows, neutralise, to_csv
from core.leads_import import COLUMNS, import_leads
from core.models import (Acceptance, Account, Allocation, Baseline, Bid, ChangeOrder, ClosureReview, Contract,
                         CostEntry, GateDecision, Invoice, Lead, Milestone, Opportunity, Payment, Stakeholder, User)
from core.services import bids, billing, closure, contracts, delivery, leads, opportunities as opps, users
from tests.bad_values import (EMAILS_BAD, REFUSE, choice_hostile, date_fine, date_hostile, export_checksum,
                              export_texts, fixed_text, money_fine, money_hostile, text_hostile, text_values,
                              text_verdict, whole_fine, whole_hostile)
from tests.conftest import ROLE_USERS, World, _backends, _pg_truncate, make_world
from tests.integration.money_fixtures import days, draft_with_terms, make_opportunity, signed_contract, standard_terms
from tests.conftest import SCALE
from tests.figures import figure

EXAMPLES = 15 * SCALE
MAX = "999999999999.99"
ANY = object()   # accepted, stored value not predictable here (an automatic number, a default)


class Lazy:
    """A value that names a record of the stage (an invoice id in a payment's allocations)."""

    def __init__(self, fn):
        self.fn = fn


def resolve(value, stage):
    if isinstance(value, Lazy):
        return value.fn(stage)
    if isinstance(value, list):
        return [resolve(v, stage) for v in value]
    if isinstance(value, tuple):
        return tuple(resolve(v, stage) for v in value)
    if isinstance(value, dict):
        return {k: resolve(v, stage) for k, v in value.items()}
    return value


# -- one field: its values and where it is read back ---------------------------------------------------

@dataclass
class F:
    param: str
    values: st.SearchStrategy          # (value, stored) pairs; stored is REFUSE for a value to refuse
    fixed: list                        # a few such pairs, for PostgreSQL
    field: str | None = None           # the field a refusal names (default: the parameter)
    stored: str | Callable | None = None   # attribute of the row read back, or fn(ctx, row); default: param
    base: dict = dc_field(default_factory=dict)   # other arguments this field needs (a hold for review_date)
    also: list = dc_field(default_factory=list)   # pairs particular to this use, always tried (SQLite too)


def _field(param, values, fixed, also=(), **kw) -> F:
    """`also`: (value, stored) pairs particular to this use of the field."""
    return F(param, values, list(fixed) + list(also), also=list(also), **kw)


def text(param, max_len=200, *, required=False, multiline=None, empty=None, extra=None, then=None, also=(),
         **kw) -> F:
    """A text field. `empty`: what a blank value stores instead of ''; `extra`: a further rule on the
    stored text (a company needs a letter or digit); `then`: how an accepted text is stored (a login folded)."""
    ml = max_len >= 201 if multiline is None else multiline

    def verdict(v):
        out = text_verdict(v, max_len=max_len, required=required, multiline=ml)
        if out == "" and empty is not None:
            return empty
        out = REFUSE if out is not REFUSE and extra is not None and not extra(out) else out
        return then(out) if then is not None and out is not REFUSE else out
    return _field(param, text_values(max_len, required=required, multiline=ml).map(lambda v: (v, verdict(v))),
                  [(v, verdict(v)) for v in fixed_text(max_len)], also, **kw)


def money(param, lo="0.01", hi=MAX, *, zero=False, required=True, also=(), **kw) -> F:
    hostile = money_hostile(allow_zero=zero, required=required)
    fixed = [(10 ** 20, REFUSE), (Decimal(hi), Decimal(hi)), (f"¥{Decimal(lo):,}", Decimal(lo))]
    return _field(param, st.one_of(hostile.map(lambda v: (v, REFUSE)), money_fine(lo, hi)), fixed, also, **kw)


def whole(param, lo, hi, *, required=False, also=(), **kw) -> F:
    fixed = [(hi + 1, REFUSE), ("Infinity", REFUSE), (str(hi), hi)]
    return _field(param, st.one_of(whole_hostile(lo, hi, required=required).map(lambda v: (v, REFUSE)),
                                   whole_fine(lo, hi)), fixed, also, **kw)


def day(param, lo: int, hi: int, *, refuse: tuple[int, ...] = (), required=True, also=(), **kw) -> F:
    """A date from lo to hi days from today; `refuse`: days from today that are real dates but refused
    (in the future, before signing, ...)."""
    first, last = days(lo), days(hi)
    bad = date_hostile(required=required) | st.sampled_from([days(n) for n in refuse] or ["2026-02-30"])
    fixed = [("2026-02-30", REFUSE), (date(9999, 12, 31), REFUSE), (first.isoformat(), first), (last, last)]
    return _field(param, st.one_of(bad.map(lambda v: (v, REFUSE)), date_fine(first, last)), fixed, also, **kw)


def choice(param, fine: list[tuple], *, required=True, also=(), **kw) -> F:
    """`fine`: (typed, stored) pairs."""
    hostile = choice_hostile(required=required).map(lambda v: (v, REFUSE))
    return _field(param, st.one_of(hostile, st.sampled_from(fine)),
                  fine[:1] + [("bogus", REFUSE), ("a" * 10_000, REFUSE)], also, **kw)


def fixed(param, pairs: list[tuple], **kw) -> F:
    """A field with no type of its own (a login, a plan of terms): known values only, each tried."""
    return F(param, None, pairs, also=pairs, **kw)


# -- one service: whom it runs as, on what, and what it writes -----------------------------------------

@dataclass
class Svc:
    fn: Callable
    who: str
    target: Callable        # stage -> positional arguments
    base: Callable          # stage -> valid keyword arguments
    read: Callable          # (ctx, result, stage) -> the row written
    fields: list[F]


class _Undo(Exception):
    pass


def stored_value(f: F, ctx, row, value):
    if callable(f.stored):
        return f.stored(ctx, row, value)
    return getattr(row, f.stored or f.param)


def attempt(url, actor, svc: Svc, stage, kwargs, f: F):
    """Run the service, read back what it stored (flushed, expired: from the database), then roll back."""
    try:
        with unit_of_work(actor, "app", url=url) as ctx:
            result = svc.fn(ctx, *svc.target(stage), **kwargs)
            ctx.session.flush()
            ctx.session.expire_all()
            raise _Undo(stored_value(f, ctx, svc.read(ctx, result, stage), kwargs[f.param]))
    except _Undo as undo:
        return undo.args[0]


def check(world: World, stage, svc: Svc, f: F, value, expected) -> None:
    value = resolve(value, stage)
    kwargs = {**svc.base(stage), **f.base, f.param: value}
    names = f.field if isinstance(f.field, tuple) else (f.field or f.param,)
    where = f"{svc.fn.__name__}({f.param}={value!r:.80})"
    try:
        if expected is REFUSE:
            # a taken value ('LEGAL' folds to the login 'legal') is refused as a duplicate, naming the field too
            with pytest.raises((ValidationError, DuplicateError)) as exc:   # not world.do: `source` is the lead's
                with unit_of_work(world.users[svc.who], "app", url=world.url) as ctx:
                    svc.fn(ctx, *svc.target(stage), **kwargs)
                    raise _Undo("accepted")   # not refused: reported below, and rolled back for the next example
            named = str(exc.value.field)
            assert any(named == n or named.startswith(n + " ") for n in names), \
                f"{where}: refusal names {named!r}, not {names[0]!r}: {exc.value}"
            assert any(n in exc.value.message for n in names), f"{where}: message names no {names[0]!r}: {exc.value}"
        else:
            got = attempt(world.url, world.users[svc.who], svc, stage, kwargs, f)
            assert expected is ANY or got == expected, f"{where}: stored {got!r:.80}, expected {expected!r:.80}"
    except _Undo:
        raise AssertionError(f"{where}: was not refused") from None
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(f"{where}: crashed with {type(exc).__name__}: {exc}"[:600]) from exc


def _hypothesis(values, test, examples=EXAMPLES) -> None:
    """Run `test` on `examples` values drawn from `values` (a nested @given, so one test function covers many
    fields without rebuilding the database)."""
    @settings(max_examples=examples, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(values)
    def prop(pair):
        test(pair)
    prop()


def run_fields(stage, services: list[Svc]) -> int:
    """Every field of every service; returns how many values were tried."""
    world, tried = stage.world, [0]

    def one(svc, f, value, expected):
        tried[0] += 1
        check(world, stage, svc, f, value, expected)

    failures = []
    for svc in services:
        for f in svc.fields:
            try:
                if stage.backend == "postgresql":
                    for value, expected in f.fixed:
                        one(svc, f, value, expected)
                else:
                    if f.values is not None:
                        _hypothesis(f.values, lambda pair, svc=svc, f=f: one(svc, f, *pair))
                    for value, expected in f.also:
                        one(svc, f, value, expected)
            except AssertionError as exc:   # go on with the other fields: one report lists every defect
                failures.append(str(exc).splitlines()[0])
        # every example was refused or rolled back: the exports and every table are as they were
        if export_checksum(world.url) != stage.checksum:
            now = export_texts(world.url)
            changed = [k for k in now if now[k] != stage.texts.get(k)]
            raise AssertionError(f"{svc.fn.__name__} changed the database ({', '.join(changed)}); so far: {failures}")
    assert not failures, "\n".join(failures)
    figure(f"bad_input.{stage.backend}.values", tried[0])   # summed over the tests by tools/reliability.py
    figure(f"bad_input.{stage.backend}.services", len(services))
    figure(f"bad_input.{stage.backend}.fields", sum(len(svc.fields) for svc in services))
    return tried[0]


# -- the database every field is tried on ----------------------------------------------------------------

def _build(world: World) -> SimpleNamespace:
    """Records in every state a form acts on (built once per database; every example is rolled back)."""
    s = SimpleNamespace(world=world)
    do = world.do
    s.lead = do("marketing", leads.capture_lead, company="Lumen Optics", phone="13700000001", owner="ar")
    s.lead_q = do("marketing", leads.capture_lead, company="Quasar Labs", phone="13700000002", owner="ar")
    do("marketing", leads.qualify_lead, s.lead_q)

    s.opp = do("ar", opps.create_opportunity, name="Orion rollout", account_name="Orion Systems", amount="500000")
    s.stakeholder = do("ar", opps.add_stakeholder, s.opp, name="Mr Chen")
    s.opp_ati = do("ar", opps.create_opportunity, name="Vega", account_name="Vega Corp", amount="800000")
    do("ar", opps.set_team, s.opp_ati, ar_login="ar", sr_login="sr", fr_login="fr")
    do("ar", opps.set_estimate, s.opp_ati, revenue="800000", cost="500000")
    do("ar", opps.request_ati, s.opp_ati)
    s.opp_guidance = make_opportunity(world, name="Guidance", stage=Stage.GUIDANCE)
    # no estimate: the fuzzed ATB floors (0.01 to the price) are not under an estimated cost (test_bids checks that)
    s.opp_bidding = make_opportunity(world, name="Bidding", stage=Stage.BIDDING, estimate=None)

    def bid(title, steps):
        bid_id = do("sr", bids.create_bid, s.opp_bidding, title=title, deadline=days(30))
        if steps > 0:
            do("sr", bids.request_atb, bid_id, proposed_price="1000", proposed_floor="800")
        if steps > 1:
            do("leader", bids.decide_atb, bid_id, "approve", price_floor="800", rationale="fine")
        if steps > 2:
            do("sr", bids.submit_bid, bid_id, quoted_price="1000", submitted_on=days(-10))
        return bid_id
    s.bid_draft, s.bid_pending, s.bid_approved, s.bid_submitted = (bid(t, n) for n, t in enumerate(
        ["Draft", "Pending", "Approved", "Submitted"]))

    s.opp_negotiation = make_opportunity(world, name="Negotiation")
    _, s.draft, s.draft_m1 = draft_with_terms(world, number="HT-DRAFT")
    _, s.atc, _ = draft_with_terms(world, number="HT-ATC")
    do("ar", contracts.request_atc, s.atc)
    _, s.ready, _ = draft_with_terms(world, number="HT-READY")
    do("ar", contracts.request_atc, s.ready)
    do("legal", contracts.review_atc_legal, s.ready, "approve", rationale="ok")
    do("finance", contracts.review_atc_finance, s.ready, "approve", rationale="ok")
    s.signed = signed_contract(world, number="HT-SIGNED")
    s.changed = signed_contract(world, number="HT-CHANGED")
    s.change = do("ar", contracts.request_change, s.changed["contract"], number="CO-1", reason="more",
                  new_amount="1000000")
    # closable: delivered, warranty over, everything invoiced and paid, its customer owing and holding nothing
    s.closable = signed_contract(world, number="HT-CLOSE", signed_on=days(-800),
                                 opp_id=make_opportunity(world, name="Closable", account="Closable Co"))
    do("fr", delivery.accept_milestone, s.closable["m1"], kind="final", accepted_on=days(-500))
    do("finance", delivery.release_warranty_terms, s.closable["contract"])
    for term, amount in (("advance", "300000"), ("final", "600000"), ("retention", "100000")):
        do("finance", billing.issue_invoice, s.closable[term], amount=amount, issued_on=days(-30))
    do("finance", billing.record_payment, account_id=s.closable["account"], amount="1000000", reference="CLOSE-ALL")
    do("finance", closure.record_final_accounts, s.closable["contract"])

    cid = s.signed["contract"]
    s.cost = do("fr", delivery.record_cost, cid, spent_on=days(-5), category="labour", amount="1000")
    s.invoice = do("finance", billing.issue_invoice, s.signed["advance"], amount="100000", issued_on=days(-20))
    s.invoice2 = do("finance", billing.issue_invoice, s.signed["advance"], amount="50000", issued_on=days(-20))
    do("finance", billing.request_write_off, s.invoice2, amount="100", reason="small difference")
    s.payment = do("finance", billing.record_payment, account_id=s.signed["account"], amount="1000",
                   received_on=days(-30), allocate_to=[])
    s.user = do("admin", users.create_user, "zed", name="Zed", email="zed@example.com", roles=["ar"])
    return s


@pytest.fixture(scope="module", params=_backends())
def stage(request, tmp_path_factory):
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("bad-input") / "ltc.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_ready")
        _pg_truncate(url)
    s = _build(make_world(url))
    s.backend, s.checksum, s.texts = request.param, export_checksum(url), export_texts(url)
    return s


# -- the services the pages call, field by field --------------------------------------------------------

def get(model, key=None):
    """Read back the row the service returned the id of (or the stage's record `key`)."""
    return lambda ctx, result, s: ctx.session.get(model, result if key is None else key(s))


def login_of(attr):
    return lambda ctx, row, _v: (ctx.session.get(User, getattr(row, attr)).login if getattr(row, attr) else None)


def logins(param, role, *, field=None, blank=None, **kw) -> F:
    """A login field for a user holding `role` (ar, ar2 hold ar; sr, fr, ...)."""
    good = ["ar", "ar2"] if role == "ar" else [role]
    other = "sr" if role != "sr" else "fr"
    pairs = [(good[0], good[0]), (f" {good[-1]} ", good[-1]), ("nobody", REFUSE), (other, REFUSE),
             ("a" * 65, REFUSE), (good[0] + "\x00", REFUSE), ("\u202e" + good[0], REFUSE), ([good[0]], REFUSE),
             (True, REFUSE)]
    if blank is not None:
        pairs.append(("", blank))
    return fixed(param, pairs, field=field, stored=kw.pop("stored", login_of(param.replace("_login", "_id"))), **kw)


# ﷺ is one character NFKC makes eighteen: the duplicate-check key of such an address must still fit its column
EMAILS = [("x@example.com", "x@example.com"), (" Y@Example.CN ", "Y@Example.CN"),
          ("zoë@exämple.org", "zoë@exämple.org"), ("ﷺ" * 100 + "@x.cn", "ﷺ" * 100 + "@x.cn")] + [
    (v, REFUSE) for v in EMAILS_BAD + ["a@b.c\x00", ["x@example.com"]]]
# a person's e-mail is NFKC-folded (core.services.users._address): full-width is plain, a ligature expands
USER_EMAILS = [(v, e) for v, e in EMAILS if "ﷺ" not in v] + [("ａｒ3@ｅｘａｍｐｌｅ.ｃｏｍ", "ar3@example.com"),
                                                            ("ﷺ@x.cn", REFUSE)]
PHONES = [("+86 138-0013-8000", "+86 138-0013-8000"), (13800138000, "13800138000"),
          ("（010）6555 1234", "（010）6555 1234"), ("=1+13800138000", "=1+13800138000")] + [
    (v, REFUSE) for v in ("abc", "1234", "1" * 21, "138\x000013 8000", "138\n0013 8000", "1" * 65, ["13800138000"], "")]


def _company(t: str) -> bool:
    return bool(normalise.company(t))


def _gate(kind, subject, attr="decision"):
    """What the newest gate row of the record read back holds."""
    return lambda ctx, row, _v: getattr(gates.latest(ctx, kind, subject, row.id), attr)


def decisions(fine, **kw) -> F:
    return choice("decision", fine, **kw)


APPROVE = [("approve", "approve"), (" REJECT ", "reject")]
REVIEW = dict(decision="approve", rationale="ok")   # a reviewer's decision on a gate row ...
REVIEWED = [decisions(APPROVE), text("rationale", 4000, required=True)]   # ... and its fields
D = Decimal
LEAD_FIELDS = [
    text("company", required=True, extra=_company), text("contact"), fixed("phone", PHONES),
    fixed("email", EMAILS), text("region", 64), text("industry", 64), text("need_text", 2000),
    choice("source", [("website", "website"), ("官网", "website"), ("Cold call", "cold_call"),
                      ("TENDER-NOTICE", "tender_notice"), ("", "other")], required=False),
    money("budget", zero=True, required=False, also=[("", None)]),
    choice("authority", [("decision_maker", "decision_maker"), ("决策者", "decision_maker"),
                         ("Influencer", "influencer"), ("", "unknown")], required=False),
    choice("need", [("urgent", "urgent"), ("模糊", "vague"), ("CLEAR", "clear"), ("", "vague")], required=False),
    whole("timeline_months", 0, 120, also=[("", None)]),
]
LEADS = [
    Svc(leads.capture_lead, "marketing", lambda s: (), lambda s: dict(company="Zeta Hostile", phone="13912345678"),
        get(Lead), LEAD_FIELDS + [logins("owner", "ar", stored=login_of("owner_id"))]),
    Svc(leads.update_lead, "marketing", lambda s: (s.lead,), lambda s: {}, get(Lead, lambda s: s.lead),
        [f for f in LEAD_FIELDS if f.param in ("company", "phone", "budget", "need_text", "timeline_months")]),
    Svc(leads.assign_lead, "marketing", lambda s: (s.lead,), lambda s: dict(owner_login="ar2"),
        get(Lead, lambda s: s.lead), [logins("owner_login", "ar", field="owner", stored=login_of("owner_id"))]),
    Svc(leads.disqualify_lead, "marketing", lambda s: (s.lead,), lambda s: dict(reason="no budget"),
        get(Lead, lambda s: s.lead), [text("reason", 500, required=True, stored="disqualify_reason")]),
    Svc(leads.convert_lead, "ar", lambda s: (s.lead_q,), lambda s: {}, get(Opportunity),
        [text("opportunity_name", empty="Quasar Labs", stored="name"),
         money("amount", zero=True, required=False), day("expected_close", -3650, 3650, required=False)]),
]

OPP_FIELDS = [text("name", required=True), money("amount"), text("region", 64), text("industry", 64)]
OPPORTUNITIES = [
    Svc(opps.create_opportunity, "ar", lambda s: (),
        lambda s: dict(name="Nova", account_name="Nova Ltd", amount="1000"), get(Opportunity), OPP_FIELDS + [
            text("account_name", required=True, extra=_company,
                 stored=lambda ctx, row, _v: ctx.session.get(Account, row.account_id).name),
            day("expected_close", -3650, 3650, required=False), logins("ar_login", "ar", blank="ar")]),
    # an update's None is "not given" (the amount stays); an empty amount clears a required one: refused.
    # (The hostile None drawn now and then made this test fail about one run in ten.)
    Svc(opps.update_opportunity, "ar", lambda s: (s.opp,), lambda s: {}, get(Opportunity, lambda s: s.opp),
        [OPP_FIELDS[0], money("amount", required=False, also=[("", REFUSE), ("  ", REFUSE)]), *OPP_FIELDS[2:],
         day("expected_close", -3650, 3650, required=False, also=[("", None)])]),
    Svc(opps.set_team, "ar", lambda s: (s.opp,), lambda s: dict(ar_login="ar", sr_login="sr", fr_login="fr"),
        get(Opportunity, lambda s: s.opp),
        [logins("ar_login", "ar", blank=None), logins("sr_login", "sr", blank=None),
         logins("fr_login", "fr", blank=None)]),
    Svc(opps.set_guidance, "ar", lambda s: (s.opp,), lambda s: dict(pain_points="p", value_proposition="v"),
        get(Opportunity, lambda s: s.opp), [text("pain_points", 4000), text("value_proposition", 4000)]),
    Svc(opps.add_stakeholder, "ar", lambda s: (s.opp,), lambda s: dict(name="Ms Li"), get(Stakeholder),
        [text("name", required=True), text("title"), text("chain_role", 100),
         choice("stance", [("supporter", "supporter"), ("Opponent", "opponent"), ("", "unknown")], required=False)]),
    Svc(opps.update_stakeholder, "ar", lambda s: (s.stakeholder,), lambda s: {},
        get(Stakeholder, lambda s: s.stakeholder),
        [text("name", required=True), choice("stance", [("neutral", "neutral"), ("SUPPORTER", "supporter")],
                                                      required=False, also=[("", REFUSE)])]),
    Svc(opps.set_estimate, "ar", lambda s: (s.opp,), lambda s: dict(revenue="1000", cost="600"), get(Baseline),
        [money("revenue"), money("cost", zero=True), text("note", 500)]),
    Svc(opps.decide_ati, "leader", lambda s: (s.opp_ati,), lambda s: dict(decision="go", rationale="ok"),
        get(Opportunity, lambda s: s.opp_ati),
        [decisions([("go", "go"), ("KILL", "kill"), (" hold ", "hold")], also=[("approve", REFUSE)],
                   base=dict(review_date=days(30)), stored=_gate(GateKind.ATI, "opportunity")),
         text("rationale", 4000, required=True, stored=_gate(GateKind.ATI, "opportunity", "rationale")),
         day("review_date", 1, 3650, refuse=(0, -1), base=dict(decision="hold"), stored="hold_review_on")]),
    Svc(opps.advance_stage, "ar", lambda s: (s.opp_guidance,), lambda s: dict(to_stage="bidding"),
        get(Opportunity, lambda s: s.opp_guidance),
        [choice("to_stage", [("bidding", "bidding"), ("NEGOTIATION", "negotiation")],
                stored="stage"),
         text("reason", 1000, required=True, base=dict(to_stage="lost"), stored="lost_reason")]),
]

BID_FIELDS = [text("title", required=True), day("deadline", 0, 3650, refuse=(-1,)), money("bid_bond", zero=True),
              text("competitors", 1000)]
BIDS = [
    Svc(bids.create_bid, "sr", lambda s: (s.opp_bidding,), lambda s: dict(title="T", deadline=days(10)), get(Bid),
        BID_FIELDS),
    Svc(bids.update_bid, "sr", lambda s: (s.bid_draft,), lambda s: {}, get(Bid, lambda s: s.bid_draft),
        [text("title", required=True), day("deadline", 0, 3650, refuse=(-1,), required=False, also=[("", REFUSE)]),
         money("bid_bond", zero=True, required=False, also=[("", REFUSE)]), text("competitors", 1000)]),
    Svc(bids.request_atb, "sr", lambda s: (s.bid_draft,), lambda s: dict(proposed_price="1000", proposed_floor="800"),
        get(GateDecision), [money("proposed_price", lo="800", stored="amount"),
                            money("proposed_floor", hi="1000", stored="price_floor")]),
    Svc(bids.decide_atb, "leader", lambda s: (s.bid_pending,),
        lambda s: dict(decision="approve", price_floor="800", rationale="ok"), get(Bid, lambda s: s.bid_pending),
        [decisions(APPROVE, also=[("go", REFUSE)], stored=_gate(GateKind.ATB, "bid")),
         money("price_floor", hi="1000"),   # above the proposed price: an AmountError (test_bids)
         text("rationale", 4000, required=True, stored=_gate(GateKind.ATB, "bid", "rationale"))]),
    Svc(bids.submit_bid, "sr", lambda s: (s.bid_approved,), lambda s: dict(quoted_price="1000"),
        get(Bid, lambda s: s.bid_approved),
        [money("quoted_price", lo="800"), day("submitted_on", -3650, 0, refuse=(1,), required=False)]),
    Svc(bids.record_result, "sr", lambda s: (s.bid_submitted,), lambda s: dict(won=False, loss_reason="price"),
        get(Bid, lambda s: s.bid_submitted),
        [fixed("won", [(True, "won"), (False, "lost"), ("yes", REFUSE), (1, REFUSE), (0, REFUSE), (None, REFUSE),
                       ("True", REFUSE), ([], REFUSE)], stored="status"),
         day("result_on", -10, 0, refuse=(1, -11), required=False), text("loss_reason", 1000, required=True),
         text("winner")]),
]


def test_lead_forms(stage):
    assert run_fields(stage, LEADS) > 0


def test_opportunity_forms(stage):
    assert run_fields(stage, OPPORTUNITIES) > 0


def test_bid_forms(stage):
    assert run_fields(stage, BIDS) > 0


def _terms(ctx, row, _v):
    return [(t.name, t.amount) for t in calculations.active_terms(ctx.session, row.id)]


def _plan(ctx, row, _v):
    plan = contracts.terms_from_json(row.new_terms_json)
    return None if plan is None else [(t["name"], t["amount"]) for t in plan]


def term(**kw) -> dict:
    return {"name": "Rest", "trigger": "signing", **kw}


# Plans that must be refused, each for one of its parts; a term's refusal names it ('term 1 percent').
BAD_PLANS = [
    "abc", None, 5, {"name": "x"}, ["x"], [None], [{}], [term(percent="30%", amount="300")], [term()],
    [term(percent="150%")], [term(percent="NaN")], [term(percent="0")], [term(percent=[30])],
    [term(amount="1e400")], [term(amount="-5")], [term(amount="12,34")], [term(percent="100%", trigger="bogus")],
    [term(percent="100%", trigger="acceptance", milestone_id="x")],
    [term(percent="100%", trigger="acceptance", milestone_id=10 ** 30)],
    [term(percent="100%", trigger="acceptance", milestone_id=999_999)],
    [term(percent="100%", trigger="acceptance")], [term(percent="100%", milestone_id=1)],
    [term(percent="100%", due_days="366")], [term(percent="100%", due_days="1e400")],
    [term(percent="100%", due_days="Infinity")], [term(percent="100%", due_days=2.5)],
    [term(percent="100%", name="a\x00")], [term(percent="100%", name="x" * 201)], [term(percent="100%", name="a\nb")],
    [term(percent="100%", name=["Rest"])],
]
TERMS = fixed("terms", [(p, REFUSE) for p in BAD_PLANS] + [
    (Lazy(lambda s: standard_terms(s.draft_m1)),
     [("Advance 30%", D("300000.00")), ("Final acceptance 60%", D("600000.00")), ("Retention 10%", D("100000.00"))]),
    ([term(name=" 😀 全款 ", amount="1,000,000")], [("😀 全款", D("1000000.00"))]),
    ([term(name="=1+1", percent="30"), term(name="@SUM(A1)", percent="0.7")],
     [("=1+1", D("300000.00")), ("@SUM(A1)", D("700000.00"))]),
], field=("terms", "term"), stored=_terms)
# The terms a change order adds must add up to the unreleased 700,000; a plan too long to store is refused.
NEW_TERMS = fixed("new_terms", [(p, REFUSE) for p in BAD_PLANS if p is not None] + [
    (None, None), ([term(amount="700,000")], [("Rest", D("700000.00"))]),
    ([term(name="华" * 200, amount="7000")] * 100, REFUSE),
], field=("new_terms", "terms", "term"), stored=_plan)
CONTRACTS = [
    Svc(contracts.draft_contract, "ar", lambda s: (s.opp_negotiation,),
        lambda s: dict(number="HT-NEW", name="N", amount="1000"), get(Contract),
        [text("number", 64, required=True), text("name", required=True), money("amount"), text("scope", 4000),
         whole("warranty_months", 0, 240, required=True)]),
    Svc(contracts.update_contract, "ar", lambda s: (s.draft,), lambda s: {}, get(Contract, lambda s: s.draft),
        [text("name", required=True), money("amount", lo="100", required=False, also=[("", REFUSE)]),
         text("scope", 4000), whole("warranty_months", 0, 240, also=[("", REFUSE)])]),
    Svc(contracts.set_payment_terms, "ar", lambda s: (s.draft,), lambda s: {}, get(Contract, lambda s: s.draft),
        [TERMS]),
    Svc(contracts.review_atc_legal, "legal", lambda s: (s.atc,), lambda s: REVIEW, get(GateDecision), REVIEWED),
    Svc(contracts.review_atc_finance, "finance", lambda s: (s.atc,), lambda s: REVIEW, get(GateDecision), REVIEWED),
    Svc(contracts.sign_contract, "ar", lambda s: (s.ready,), lambda s: {}, get(Contract, lambda s: s.ready),
        [day("signed_on", -3650, 0, refuse=(1,), required=False),
         money("budget_cost", zero=True, required=False, stored=lambda ctx, row, _v: calculations.latest_baseline(
             ctx.session, Calculation.BUDGET, contract_id=row.id).cost)]),
    Svc(contracts.request_change, "ar", lambda s: (s.signed["contract"],),
        lambda s: dict(number="CO-9", reason="scope", new_amount="1000000"), get(ChangeOrder),
        [text("number", 64, required=True), text("reason", 2000, required=True),
         F("new_amount", st.one_of(money_hostile().map(lambda v: (v, REFUSE)), st.sampled_from(
             [("1,000,000", D("1000000.00")), ("¥1000000.00", D("1000000.00")), (D("1E+6"), D("1000000.00"))])),
           [("1e400", REFUSE), ("1,000,000", D("1000000.00"))]),
         text("new_scope", 4000), money("new_cost", zero=True, required=False, also=[("", None)]), NEW_TERMS]),
    Svc(contracts.review_change_legal, "legal", lambda s: (s.change,), lambda s: REVIEW, get(GateDecision), REVIEWED),
]

M1 = lambda s: (s.signed["m1"],)   # noqa: E731  the signed contract's milestone
DELIVERY = [
    Svc(delivery.plan_milestone, "fr", lambda s: (s.signed["contract"],),
        lambda s: dict(name="M2", planned_on=days(90)), get(Milestone),
        [text("name", required=True), day("planned_on", -3650, 3650), day("forecast_on", -3650, 3650, required=False)]),
    Svc(delivery.update_milestone, "fr", M1, lambda s: {}, get(Milestone, lambda s: s.signed["m1"]),
        [text("name", required=True), day("planned_on", -3650, 3650, required=False, also=[("", REFUSE)])]),
    Svc(delivery.forecast_milestone, "fr", M1, lambda s: {}, get(Milestone, lambda s: s.signed["m1"]),
        [day("forecast_on", -3650, 3650)]),
    Svc(delivery.accept_milestone, "fr", M1, lambda s: dict(kind="preliminary"), get(Acceptance),
        [choice("kind", [("preliminary", "preliminary"), ("FINAL", "final")]),
         day("accepted_on", -200, 0, refuse=(1, -201), required=False), text("certificate_ref", 500)]),
    Svc(delivery.record_cost, "fr", lambda s: (s.signed["contract"],),
        lambda s: dict(spent_on=days(-1), category="labour", amount="100"), get(CostEntry),
        [day("spent_on", -3650, 0, refuse=(1,)), choice("category", [("labour", "labour"), (" Hardware ", "hardware"),
                                                                     ("TRAVEL", "travel")]),
         money("amount"), text("description", 1000)]),
    Svc(delivery.update_cost, "fr", lambda s: (s.cost,), lambda s: {}, get(CostEntry, lambda s: s.cost),
        [day("spent_on", -3650, 0, refuse=(1,), required=False, also=[("", REFUSE)]),
         choice("category", [("other", "other"), ("Subcontract", "subcontract")], required=False, also=[("", REFUSE)]),
         money("amount", required=False, also=[("", REFUSE)]), text("description", 1000)]),
]

TAX_RATES = [("6%", D("0.060000")), ("13", D("0.130000")), ("0.09", D("0.090000"))] + [
    (v, REFUSE) for v in ("NaN", "100%", "-1", "1_0", [], True, "1e400", "1E+999999999999", "=1+1", "6%%", "¥6")]
BILLING = [
    Svc(billing.issue_invoice, "finance", lambda s: (s.signed["advance"],), lambda s: dict(amount="100"), get(Invoice),
        [money("amount", hi="150000"), text("number", 64, empty=ANY), day("issued_on", -200, 0, refuse=(1, -201),
                                                                            required=False),
         fixed("tax_rate", TAX_RATES + [("", D("0.060000"))])]),
    Svc(billing.update_invoice, "finance", lambda s: (s.invoice,), lambda s: {}, get(Invoice, lambda s: s.invoice),
        [day("due_on", -20, 3650, refuse=(-21,), required=False, also=[("", REFUSE)]), fixed("tax_rate", TAX_RATES),
         money("amount", hi="250000", required=False, also=[("", REFUSE)])]),
    Svc(billing.record_payment, "finance", lambda s: (),
        lambda s: dict(account_id=s.signed["account"], amount="100", allocate_to=[]), get(Payment),
        [money("amount"), day("received_on", -3650, 0, refuse=(1,), required=False), text("reference"),
         fixed("allocate_to", [("abc", REFUSE), (5, REFUSE), ({"a": 1}, REFUSE), ([None], REFUSE),
                               ([(Lazy(lambda s: s.invoice), "NaN")], REFUSE), ([(Lazy(lambda s: s.invoice),)], REFUSE),
                               ([(Lazy(lambda s: s.invoice), "1", "x")], REFUSE), ([], D("100.00")),
                               ([(Lazy(lambda s: s.invoice), "60")], D("40.00"))], stored="unapplied")]),
    Svc(billing.allocate_payment, "finance", lambda s: (s.payment, s.invoice), lambda s: dict(amount="10"),
        # an empty amount applies as much as possible (test_billing proves what it applies)
        get(Allocation), [money("amount", hi="1000", required=False), day("allocated_on", -30, 0, refuse=(1, -31), required=False)]),
    Svc(billing.request_write_off, "finance", lambda s: (s.invoice,), lambda s: dict(amount="10", reason="r"),
        get(GateDecision), [money("amount", hi="100000"), text("reason", 4000, required=True, stored="rationale")]),
    Svc(billing.decide_write_off, "leader", lambda s: (s.invoice2,), lambda s: REVIEW, get(GateDecision), REVIEWED),
]

CLOSURE = [
    Svc(closure.record_final_accounts, "finance", lambda s: (s.signed["contract"],), lambda s: {}, get(Baseline),
        [money("revenue", zero=True, required=False), money("cost", zero=True, required=False),
         text("note", 500, empty=ANY)]),
    Svc(closure.request_closure, "fr", lambda s: (s.closable["contract"],),
        lambda s: dict(went_well="w", went_badly="b"),
        get(ClosureReview), [text("went_well", 4000, required=True), text("went_badly", 4000, required=True),
                             text("lessons", 4000, empty=ANY),
                             day("closed_on", -200, 0, refuse=(1,), required=False)]),
]

TAKEN = set(ROLE_USERS) | {"ar2", "zed"}


def _login(t: str) -> bool:
    """Logins are folded (NFKC, lower case) and only Latin a-z, digits, '.', '_' and '-' (issue 11)."""
    return users.LOGIN.fullmatch(users.fold(t)) is not None and users.fold(t) not in TAKEN


def _verifies(ctx, row, value):
    return users._verify(row.password_hash, value)


ROLES = [(["ar"], "ar"), (["sr", "ar", "sr"], "ar,sr"), (("leader",), "leader"), (["nope"], REFUSE), ([], REFUSE),
         ("admin", REFUSE), (None, REFUSE), (5, REFUSE), ([""], REFUSE), (["ar\x00"], REFUSE), ([["ar"]], REFUSE)]
# Argon2 takes a fifth of a second a hash: one accepted password per service (verified once), the rest refused.
PASSWORDS = [("short", REFUSE), ("", REFUSE), ("1234567", REFUSE), (12345678, REFUSE), (["x"] * 8, REFUSE),
             (True, REFUSE)]
USER_FIELDS = [text("name", empty=ANY), fixed("email", USER_EMAILS),
               fixed("roles", ROLES), fixed("password", PASSWORDS + [("密码 correct horse", True)], stored=_verifies)]
USERS = [
    Svc(users.create_user, "admin", lambda s: (), lambda s: dict(login="newbie", roles=["ar"]), get(User),
        [text("login", 64, required=True, extra=_login, then=users.fold)] + USER_FIELDS),
    Svc(users.update_user, "admin", lambda s: (s.user,), lambda s: {}, get(User, lambda s: s.user),
        [text("name", required=True), fixed("roles", [r for r in ROLES if r[0] is not None]),
         fixed("active", [(True, True), (False, False), ("no", REFUSE), ("yes", REFUSE), (1, REFUSE), (0, REFUSE),
                          ([], REFUSE)]),
         fixed("password", PASSWORDS[2:] + [("p" * 10_000, "$argon2id$")],
               stored=lambda ctx, row, _v: row.password_hash[:10])]),
]


def test_contract_forms(stage):
    assert run_fields(stage, CONTRACTS) > 0


def test_delivery_forms(stage):
    assert run_fields(stage, DELIVERY) > 0


def test_billing_and_closure_forms(stage):
    assert run_fields(stage, BILLING + CLOSURE) > 0


def test_user_forms(stage):
    assert run_fields(stage, USERS) > 0


# -- lead import: one bad cell per column ----------------------------------------------------------------

def _cells(strategy) -> st.SearchStrategy[str]:
    """The strings of `strategy` (a file's cells are text)."""
    return strategy.filter(lambda v: isinstance(v, str))


ENUM_CELLS = st.sampled_from(["bogus", "=1+1", "🎉", "a" * 10_000, "new\x00", "\u202eurgent", "go go"])
# column -> cells it must refuse (the row is reported naming the column)
IMPORT_BAD = {
    "company": text_hostile(200, required=True) | st.sampled_from(["😀", "!!!"]),
    "contact": text_hostile(200), "region": text_hostile(64), "industry": text_hostile(64),
    "need_text": text_hostile(2000, multiline=True),
    "phone": st.sampled_from([p for p, e in PHONES if e is REFUSE and isinstance(p, str)]),
    "email": st.sampled_from([m for m, e in EMAILS if e is REFUSE and isinstance(m, str)]),
    "source": ENUM_CELLS, "authority": ENUM_CELLS, "need": ENUM_CELLS,
    "budget": _cells(money_hostile(allow_zero=True, required=False)).filter(lambda v: v.strip() not in ("0", "-0")),
    "timeline_months": _cells(whole_hostile(0, 120)),
    "owner": st.sampled_from(["nobody", "marketing", "ar\x00", "a" * 65, "\u202ear", "ar ar"]),
}


def _row(n: int) -> dict:
    return {"company": f"Import {n} Co", "phone": f"1390000{n:04d}", "source": "website", "owner": "ar"}


def _write_csv(path, columns: dict[str, str], rows: list[dict]) -> None:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(columns.values())
    out.writerows([[r.get(c, "") for c in columns] for r in rows])
    path.write_bytes(buf.getvalue().encode("utf-8"))


def _import_bad_rows(stage, path, labels: dict[str, str], bad: dict[str, str]) -> None:
    """One row per column, each with that column's cell bad: every row is refused naming its column, and
    nothing is written."""
    rows = [{**_row(n), col: value} for n, (col, value) in enumerate(bad.items())]
    _write_csv(path, labels, rows)
    with unit_of_work(stage.world.users["marketing"], "import", url=stage.world.url) as ctx:
        report = import_leads(ctx, path)
    got = {(row, col) for row, col, _ in report.rejected}
    assert got == {(n + 2, col) for n, col in enumerate(bad)}, (report.summary(), bad)
    for _, col, message in report.rejected:
        assert col in message, message
    assert (report.total, report.created, report.merged) == (len(bad), 0, 0)
    assert export_checksum(stage.world.url) == stage.checksum, "a refused import row changed the database"


def test_import_one_bad_cell_per_column(stage, tmp_path):
    path = tmp_path / "leads.csv"
    if stage.backend == "postgresql":
        worst = {"company": "x" * 201, "contact": "a\x00b", "region": "ﷺ" * 65, "industry": "\u202eevil",
                 "need_text": "y" * 10_000, "phone": "1" * 21, "email": "a@b.c\x00", "source": "=1+1",
                 "authority": "🎉", "need": "bogus", "budget": "1e400", "timeline_months": "Infinity", "owner": "nobody"}
        return _import_bad_rows(stage, path, {c: COLUMNS[c][0] for c in COLUMNS}, worst)
    # any of each column's header labels (English, Chinese, aliases), in any order
    labels = st.fixed_dictionaries({c: st.sampled_from(COLUMNS[c]) for c in COLUMNS}).flatmap(
        lambda d: st.permutations(list(d.items())).map(dict))
    _hypothesis(st.tuples(labels, st.fixed_dictionaries(IMPORT_BAD)),
                lambda pair: _import_bad_rows(stage, path, *pair), examples=15)


def test_import_keeps_odd_but_valid_text_as_typed(stage, tmp_path):
    """Emoji, right-to-left, CJK, full-width and formula-looking text is stored as typed (NFC, trimmed) and
    neutralised when exported; a formula is never run."""
    path = tmp_path / "odd.csv"
    odd = ["😀 Smile Co", "שלום בע\"מ", "مرحبا بالعالم", "华东电网 e\u0301", "ＡＢＣ 科技", "=1+1 Acme", "+cmd|' /C calc'!A0",
           "@SUM(A1) Ltd", "-2+3 Co"]
    rows = [{**_row(n), "company": c, "contact": c, "need_text": f" {c}\n第二行\t ", "region": c[:64]}
            for n, c in enumerate(odd)]
    _write_csv(path, {c: COLUMNS[c][1] for c in ("company", "contact", "phone", "source", "region", "need_text",
                                                 "owner")}, rows)

    def run(ctx):
        report = import_leads(ctx, path)
        stored = [(lead.company, lead.contact, lead.need_text, lead.region) for lead in
                  ctx.session.exec(select(Lead).where(Lead.company.in_([unicodedata.normalize("NFC", c) for c in odd]))
                                   .order_by(Lead.id)).all()]
        return report, stored, to_csv(*export_rows(ctx, "leads"))
    try:
        with unit_of_work(SYSTEM, "import", url=stage.world.url) as ctx:
            raise _Undo(run(ctx))
    except _Undo as undo:
        report, stored, exported = undo.args[0]
    assert (report.created, report.rejected) == (len(odd), [])
    nfc = [unicodedata.normalize("NFC", c) for c in odd]
    assert stored == [(c, c, f"{c}\n第二行", c[:64]) for c in nfc]
    for c in nfc:
        if c.startswith(("=", "+", "-", "@")):
            assert neutralise(c) in exported and f",{c}," not in exported
    assert export_checksum(stage.world.url) == stage.checksum


@pytest.mark.parametrize("bad_id", ["5", 5.0, 2**40, -1, 0, True, None, [1], "1; DROP TABLE invoice"])
def test_a_record_id_that_cannot_exist_is_not_found_and_changes_nothing(stage, bad_id):
    """Ids come from pickers, sheet cells and scripts: one that is no whole number in the key column's range
    is 'not found', never a driver crash (DataError on PostgreSQL, OverflowError on SQLite)."""
    from core.errors import NotFound
    do = stage.world.do
    calls = [lambda: do("finance", billing.allocate_payment, bad_id, stage.invoice, "1"),
             lambda: do("finance", billing.allocate_payment, stage.payment, bad_id, "1"),
             lambda: do("marketing", leads.qualify_lead, bad_id)]
    for call in calls:
        with pytest.raises(NotFound, match="not found"):
            call()
    assert export_checksum(stage.world.url) == stage.checksum
