"""The demo story: about 18 months of a project-selling company, up to today, told through the services.

Every record is made by the same service calls a person would make (so every gate and rule is exercised),
with a simulated clock so audit times and business dates fall where the story puts them. Same seed, same
data. `scale` multiplies every volume (for benchmarks).
"""
from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import func, text
from sqlmodel import SQLModel, select

from core import clock as company_clock
from core.context import SYSTEM, Actor, Context, unit_of_work
from core.enums import Decision, Stance
from core.errors import LtcError
from core.calculations import active_terms, receivables, released_not_invoiced
from core.enums import ContractStatus, InvoiceKind, InvoiceStatus, MilestoneStatus, Stage
from core.models import Allocation, Contract, Invoice, Lead, Payment, PaymentTerm, Setting, User
from core.queries.overview import chain_counts
from core.services.billing import outstanding
from core.services import (bids, billing, closure, contracts, daily, delegations, delivery, leads, opportunities,
                           teams, users)

DEMO_PASSWORD = "demo-pass-2026"   # demo only: listed in the README
DEMO_USERS = [  # login, name, roles
    ("admin", "Admin 管理员", ["admin"]),
    ("marketing", "Mia Wang 王敏", ["marketing"]),
    ("ar", "Alex Chen 陈亮", ["ar"]),
    ("ar2", "Bella Li 李蓓", ["ar"]),
    ("sr", "Sam Zhou 周森", ["sr"]),
    ("fr", "Fay Zhao 赵菲", ["fr"]),
    ("legal", "Leo Sun 孙磊", ["legal"]),
    ("finance", "Fiona Xu 徐芳", ["finance"]),
    ("leader", "Lin Huang 黄琳", ["leader"]),
    ("mgr-east", "Eric Wu 吴恺", ["manager"]),
    ("mgr-north", "Nora Guo 郭楠", ["manager"]),
]
DEMO_TEAMS = [  # name, manager, members: each sales manager sees their team's deals and cash (data scope `team`)
    ("East Sales 华东销售", "mgr-east", ["ar"]),
    ("North Sales 华北销售", "mgr-north", ["ar2"]),
]
COMPANIES = [
    "华东电网", "Shanghai Metro", "江苏钢铁", "Zhejiang Pharma", "北方能源", "Pearl River Logistics", "深圳智造",
    "Chengdu Health", "武汉光谷银行", "Xi'an Aero Parts", "青岛港务", "Hangzhou Retail Group", "南京市政",
    "Tianjin Chemicals", "厦门航空服务", "Suzhou Semicon", "合肥新能源", "Dalian Shipyard", "长沙医疗",
    "Kunming Tea", "广州城建", "Ningbo Ports", "重庆汽车", "Jinan Water", "沈阳重工", "Fuzhou Textiles", "郑州粮储",
    "Harbin Cold Chain",
]
SUFFIXES = ["有限公司", "Co., Ltd.", "集团", "Inc.", ""]
REGIONS = ["East", "North", "South", "West", "Central"]
INDUSTRIES = ["Energy", "Manufacturing", "Finance", "Government", "Healthcare", "Retail", "Transport"]
SOURCES = ["website", "exhibition", "referral", "partner", "cold_call", "tender_notice", "campaign"]
NEEDS = ["ERP rollout 企业资源计划", "Smart grid monitoring 智能电网监控", "Data platform 数据中台",
         "MES for two plants 工厂MES", "Customer portal 客户门户", "Cloud migration 上云迁移",
         "Video analytics 视频分析"]
LOSS_REASONS = ["Price 15% above the winner 价格高于中标方15%", "Weaker local references 本地案例不足",
                "Customer chose incumbent 客户选择原供应商"]
COMPETITORS = ["Huawei", "Inspur 浪潮", "Neusoft 东软", "Accenture", "Digital China 神州数码"]


class SimClock:
    """The story's clock: every action happens at the moment the story says."""

    def __init__(self, start: date):
        self.at = datetime.combine(start, time(9, 0), tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.at

    def set(self, day: date) -> None:
        self.at = datetime.combine(day, time(9, 0), tzinfo=timezone.utc) + timedelta(minutes=self.at.minute + 1)


INCOMPLETE = "demo.incomplete"   # a Setting present while a demo load runs: one that stopped leaves it behind


def demo_incomplete(url: str | None = None) -> str | None:
    """How far a demo load got that did not finish (None when none is pending): the demo commits deal by deal
    for progress and flat memory, so a failure leaves a database half filled, and it must not be served."""
    with unit_of_work(SYSTEM, "cli", url=url) as ctx:
        row = ctx.session.get(Setting, INCOMPLETE)
        return row.value if row is not None else None


def _mark(ctx: Context, done: str | None) -> None:
    row = ctx.session.get(Setting, INCOMPLETE)
    if done is None:
        if row is not None:
            ctx.session.delete(row)
        return
    row = row or Setting(key=INCOMPLETE)
    row.value, row.updated_at = done, ctx.now()
    ctx.session.add(row)


def database_is_empty(url: str | None = None) -> bool:
    with unit_of_work(SYSTEM, "cli", url=url) as ctx:
        return ctx.session.exec(select(func.count()).select_from(User)).one() == 0


def _wipe(url: str | None) -> None:
    with unit_of_work(SYSTEM, "cli", url=url) as ctx:
        conn = ctx.session.connection()
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(SQLModel.metadata.sorted_tables):
                conn.execute(table.delete())
            conn.execute(text("DELETE FROM sqlite_sequence")) if _has_sqlite_sequence(conn) else None


def _has_sqlite_sequence(conn) -> bool:
    return bool(conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first())


class Story:
    def __init__(self, ctx: Context, clock: SimClock, rng: random.Random, today: date, scale: float):
        self.ctx, self.clock, self.rng, self.today, self.scale = ctx, clock, rng, today, scale
        self.actors: dict[str, Actor] = {}

    def n(self, base: int) -> int:
        return max(1, round(base * self.scale))

    def as_(self, login: str, day: date) -> Context:
        """The shared session, acting as `login` on `day`."""
        self.clock.set(min(day, self.today))
        return dataclasses.replace(self.ctx, actor=self.actors[login])

    def money(self, lo: int, hi: int, step: int = 10_000) -> Decimal:
        return Decimal(self.rng.randrange(lo // step, hi // step + 1) * step)


def load_demo(*, seed: int = 1, scale: float = 1.0, reset: bool = False, url: str | None = None,
              today: date | None = None, progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    if not database_is_empty(url):
        if not reset:
            stopped = demo_incomplete(url)
            if stopped:
                raise LtcError("demo: an earlier demo load stopped after {done}; run ltc demo --reset to load it "
                               "again", done=stopped)
            raise LtcError("demo: the database already holds data; use --reset to wipe it first")
        _wipe(url)
    today = today or company_clock.today()
    start = today - timedelta(days=540)
    clock = SimClock(start)
    rng = random.Random(seed)
    with unit_of_work(SYSTEM, "cli", url=url, clock=clock) as ctx:
        _mark(ctx, "users, leads and opportunities")
        story = Story(ctx, clock, rng, today, scale)
        _users(story)
        lead_ids = _leads(story, start)
        opp_ids = _opportunities(story, lead_ids)
    # each deal in its own transaction, so a long demo shows progress and memory stays flat; the mark says
    # how far it got until the finale removes it
    deals = _plan_deals(rng, opp_ids, scale)
    for i, (opp_id, plan) in enumerate(deals, 1):
        with unit_of_work(SYSTEM, "cli", url=url, clock=clock) as ctx:
            story.ctx = ctx
            _deal(story, opp_id, plan)
            _mark(ctx, f"{i} of {len(deals)} deals")
        if progress and (i % 10 == 0 or i == len(deals)):
            progress(i, len(deals))
    with unit_of_work(SYSTEM, "cli", url=url, clock=clock) as ctx:
        story.ctx = ctx
        _finale(story)
        _mark(ctx, None)
    with unit_of_work(SYSTEM, "cli", url=url) as ctx:
        return chain_counts(ctx)


def _users(s: Story) -> None:
    # every demo user has the one demo password: hash it once (argon2 takes 0.15 s a hash, on purpose)
    digest = users.hash_password(DEMO_PASSWORD)
    for login, name, roles in DEMO_USERS:
        user_id = users.create_user(s.ctx, login, name=name, email=f"{login}@demo.ltc.example", roles=roles)
        s.ctx.session.get(User, user_id).password_hash = digest
    s.ctx.session.flush()
    for login, *_ in DEMO_USERS:
        s.actors[login] = users.actor(s.ctx, login)
    for name, manager, _ in DEMO_TEAMS:
        teams.create_team(s.ctx, name, manager_login=manager)
    for name, _, members in DEMO_TEAMS:
        for login in members:
            teams.set_teams(s.ctx, s.actors[login].id, [name])


def _company(s: Story, i: int) -> str:
    base = COMPANIES[i % len(COMPANIES)]
    batch = i // len(COMPANIES)
    suffix = SUFFIXES[i % len(SUFFIXES)]
    return f"{base}{' ' + str(batch + 1) if batch else ''} {suffix}".strip()


def _leads(s: Story, start: date) -> list[int]:
    """About 200 leads over 18 months; a few duplicates merged, some disqualified."""
    rng, total = s.rng, s.n(200)
    ids: list[int] = []
    for i in range(total):
        day = start + timedelta(days=int(i * 520 / total))
        ctx = s.as_("marketing", day)
        company = _company(s, i)
        lead_id = leads.capture_lead(
            ctx, company=company, contact=rng.choice(["张伟", "李娜", "John Smith", "王芳", "Emily Zhang"]),
            phone=f"13{rng.randrange(100000000, 999999999)}", email=f"contact{i}@example.cn",
            source=rng.choice(SOURCES), region=rng.choice(REGIONS), industry=rng.choice(INDUSTRIES),
            need_text=rng.choice(NEEDS), budget=s.money(50_000, 3_000_000),
            authority=rng.choice(["decision_maker", "influencer", "user", "unknown"]),
            need=rng.choice(["urgent", "clear", "vague"]), timeline_months=rng.choice([2, 4, 6, 9, 12, 18]))
        ids.append(lead_id)
        if i % 25 == 7:   # the same company comes in again from an exhibition: caught and merged
            lead = s.ctx.session.get(Lead, lead_id)
            dup = leads.capture_lead(ctx, company=company, contact=lead.contact, phone=lead.phone, email="",
                                     source="exhibition", allow_duplicate=True)
            leads.merge_leads(ctx, lead_id, dup)
    return ids


def _opportunities(s: Story, lead_ids: list[int]) -> list[int]:
    """60 leads qualified and converted; about 40 disqualified with a reason; the rest still in triage."""
    rng = s.rng
    n_opp, n_disq = s.n(60), s.n(40)
    opp_ids: list[int] = []
    for k, lead_id in enumerate(lead_ids):
        lead = s.ctx.session.get(Lead, lead_id)
        day = lead.captured_on.date() + timedelta(days=rng.randrange(3, 15))
        owner = s.ctx.session.get(User, lead.owner_id).login if lead.owner_id else "ar"
        if len(opp_ids) < n_opp and k % 10 < 3:        # spread over the whole 18 months
            leads.qualify_lead(s.as_(owner, day), lead_id)
            opp_ids.append(leads.convert_lead(s.as_(owner, day + timedelta(days=2)), lead_id,
                                              amount=s.money(300_000, 4_000_000),
                                              expected_close=day + timedelta(days=rng.randrange(90, 300))))
        elif k % 10 in (3, 4) and n_disq > 0:
            n_disq -= 1
            leads.disqualify_lead(s.as_(owner, day), lead_id,
                                  reason=rng.choice(["No budget this year 今年无预算", "Student project 学生项目",
                                                     "Competitor's partner 竞争对手伙伴"]))
    return opp_ids


def _plan_deals(rng: random.Random, opp_ids: list[int], scale: float) -> list[tuple[int, str]]:
    """How far each opportunity gets: 15 signed contracts, 25 bids (some lost), holds, kills, stuck deals.
    The long journeys (to a contract or a bid result) go to opportunities spread over the older 75%, so
    signings fall all through the 18 months; the newest opportunities are the ones still early or stuck."""
    def n(base):
        return max(1, round(base * scale))
    long_plans = ["contract"] * n(13) + ["direct_contract"] * n(2) + ["lost"] * n(6) + ["bid_open"] * n(4)
    short_plans = ["kill"] * n(3) + ["hold"] * n(3) + ["ati_pending"] * n(3) + ["guidance"] * n(6)
    old_enough = max(len(long_plans), int(len(opp_ids) * 0.75))
    slots = sorted(rng.sample(range(min(old_enough, len(opp_ids))), min(len(long_plans), len(opp_ids))))
    rng.shuffle(long_plans)
    plans: list[str | None] = [None] * len(opp_ids)
    for slot, plan in zip(slots, long_plans):
        plans[slot] = plan
    rest = iter(short_plans)
    plans = [p if p is not None else next(rest, "initiation") for p in plans]
    return list(zip(opp_ids, plans))


def _deal(s: Story, opp_id: int, plan: str) -> None:
    rng = s.rng
    opp_ctx = s.ctx
    from core.models import Opportunity
    opp = opp_ctx.session.get(Opportunity, opp_id)
    day = opp.created_at.date() + timedelta(days=5)
    ar = s.ctx.session.get(User, opp.ar_id).login if opp.ar_id else "ar"
    if plan == "initiation":
        return
    opportunities.set_team(s.as_(ar, day), opp_id, ar_login=ar, sr_login="sr", fr_login="fr")
    revenue = opp.amount
    opportunities.set_estimate(s.as_("sr", day), opp_id, revenue=revenue,
                               cost=(revenue * Decimal(rng.choice(["0.55", "0.62", "0.70"]))).quantize(Decimal("1")),
                               note="概算 before bidding")
    opportunities.set_guidance(s.as_(ar, day), opp_id,
                               pain_points="Manual reconciliation, slow month-end 手工对账,月结慢",
                               value_proposition="One platform, month-end in 2 days 一体化平台,两天月结")
    opportunities.add_stakeholder(s.as_(ar, day), opp_id, name="刘总", title="CIO", chain_role="decision maker",
                                  stance=Stance.SUPPORTER)
    opportunities.add_stakeholder(s.as_(ar, day), opp_id, name="Karen Wu", title="Procurement",
                                  chain_role="evaluator", stance=rng.choice([Stance.NEUTRAL, Stance.OPPONENT]))
    day += timedelta(days=rng.randrange(5, 20))
    opportunities.request_ati(s.as_(ar, day), opp_id)
    if plan == "ati_pending":
        return   # stuck: waiting on leadership
    day += timedelta(days=rng.randrange(2, 10))
    leader = s.as_("leader", day)
    if plan == "kill":
        opportunities.decide_ati(leader, opp_id, Decision.KILL, rationale="Outside our core business 非核心业务")
        return
    if plan == "hold":
        review = min(day + timedelta(days=45), s.today - timedelta(days=10)) if rng.random() < 0.6 else \
            s.today + timedelta(days=20)
        if review <= day:
            review = day + timedelta(days=30)
        opportunities.decide_ati(leader, opp_id, Decision.HOLD, rationale="Customer budget not approved yet 预算未批",
                                 review_date=review)
        return
    opportunities.decide_ati(leader, opp_id, Decision.GO, rationale="Strategic account, fits our ERP line 战略客户")
    if plan == "guidance":
        return
    if plan == "direct_contract":
        opportunities.advance_stage(s.as_(ar, day + timedelta(days=10)), opp_id, "negotiation")
        _contract(s, opp_id, ar, day + timedelta(days=30), opp.amount)
        return
    day += timedelta(days=rng.randrange(10, 30))
    bid_id = bids.create_bid(s.as_("sr", day), opp_id, title=f"Tender response {opp.name}"[:200],
                             deadline=day + timedelta(days=rng.randrange(14, 30)),
                             bid_bond=(opp.amount * Decimal("0.02")).quantize(Decimal("1")),
                             competitors=", ".join(rng.sample(COMPETITORS, 2)))
    floor = (opp.amount * Decimal("0.85")).quantize(Decimal("1"))
    bids.request_atb(s.as_("sr", day), bid_id, proposed_price=opp.amount, proposed_floor=floor)
    day += timedelta(days=2)
    if rng.random() < 0.2:   # leadership sends the price back once: the floor was too low
        bids.decide_atb(s.as_("leader", day), bid_id, Decision.REJECT,
                        rationale="Floor below our 30% margin line 底价低于毛利红线")
        floor = (opp.amount * Decimal("0.90")).quantize(Decimal("1"))
        bids.request_atb(s.as_("sr", day), bid_id, proposed_price=opp.amount, proposed_floor=floor)
        day += timedelta(days=2)
    bids.decide_atb(s.as_("leader", day), bid_id, Decision.APPROVE, price_floor=floor,
                    rationale="Margin above 30% at the floor 底价毛利30%以上")
    if plan == "bid_open" and rng.random() < 0.5:
        return   # approved, not yet submitted
    quote = (opp.amount * Decimal(rng.choice(["0.92", "0.95", "1.00"]))).quantize(Decimal("1"))
    day += timedelta(days=rng.randrange(3, 10))
    bids.submit_bid(s.as_("sr", day), bid_id, quoted_price=quote, submitted_on=day)
    if plan == "bid_open":
        return
    day += timedelta(days=rng.randrange(10, 25))
    if plan == "lost":
        bids.record_result(s.as_(ar, day), bid_id, won=False, result_on=day, loss_reason=rng.choice(LOSS_REASONS),
                           winner=rng.choice(COMPETITORS))
        return
    bids.record_result(s.as_(ar, day), bid_id, won=True, result_on=day)
    _contract(s, opp_id, ar, day + timedelta(days=rng.randrange(7, 20)), quote)


def _contract(s: Story, opp_id: int, ar: str, day: date, amount: Decimal) -> None:
    """Draft, ATC, sign, deliver, invoice and collect, as far as the calendar has got."""
    rng, today = s.rng, s.today
    if day >= today - timedelta(days=5):
        day = today - timedelta(days=30)
    contract_no = f"HT-{day:%Y}-{opp_id:04d}"
    cid = contracts.draft_contract(s.as_(ar, day), opp_id, number=contract_no, name=f"Contract {contract_no}",
                                   amount=amount, scope="Software, implementation and one year of support",
                                   warranty_months=rng.choice([6, 12]))
    m1 = delivery.plan_milestone(s.as_("fr", day), cid, name="Blueprint signed off 蓝图确认",
                                 planned_on=day + timedelta(days=60))
    m2 = delivery.plan_milestone(s.as_("fr", day), cid, name="Go-live 系统上线",
                                 planned_on=day + timedelta(days=150))
    terms = [
        {"name": "Advance 预付款 30%", "percent": "0.30", "trigger": "signing", "due_days": 30},
        {"name": "Blueprint 蓝图 30%", "percent": "0.30", "trigger": "acceptance", "milestone_id": m1, "due_days": 30},
        {"name": "Final acceptance 终验 30%", "percent": "0.30", "trigger": "acceptance", "milestone_id": m2,
         "due_days": 45},
        {"name": "Retention 质保金 10%", "percent": "0.10", "trigger": "warranty", "due_days": 30},
    ]
    contracts.set_payment_terms(s.as_(ar, day), cid, terms)
    contracts.request_atc(s.as_(ar, day), cid)
    day += timedelta(days=3)
    contracts.review_atc_legal(s.as_("legal", day), cid, Decision.APPROVE,
                               rationale="Liability capped at 100% 责任上限")
    contracts.review_atc_finance(s.as_("finance", day), cid, Decision.APPROVE,
                                 rationale="Payment plan acceptable 付款计划可接受")
    if "leader" in contracts.atc_path(s.ctx, s.ctx.session.get(Contract, cid)):   # the path asks (approvals.toml)
        contracts.review_atc_leader(s.as_("leader", day + timedelta(days=1)), cid, Decision.APPROVE,
                                    rationale="Strategic account 战略客户")
    day += timedelta(days=2)
    contracts.sign_contract(s.as_(ar, day), cid, signed_on=day)
    # delivery, billing and cash, only as far as today
    _bill_released(s, cid, day)
    for mid, lateness in ((m1, rng.choice([0, 10, 30])), (m2, rng.choice([0, 20, 60, 120]))):
        from core.models import Milestone
        ms = s.ctx.session.get(Milestone, mid)
        forecast = ms.planned_on + timedelta(days=lateness)
        if lateness:
            delivery.update_milestone(s.as_("fr", min(day + timedelta(days=20), today)), mid, forecast_on=forecast)
        for month in range(1, 6):
            spent = day + timedelta(days=30 * month)
            if spent < today:
                delivery.record_cost(s.as_("fr", spent), cid, spent_on=spent, category=rng.choice(
                    ["labour", "hardware", "subcontract", "travel"]), amount=s.money(20_000, 120_000, 1_000))
        if forecast >= today - timedelta(days=3):
            return
        delivery.accept_milestone(s.as_("fr", forecast), mid, kind="final", accepted_on=forecast,
                                  certificate_ref=f"CERT-{cid}-{mid}")
        _bill_released(s, cid, forecast)


def _bill_released(s: Story, cid: int, day: date) -> None:
    """Finance invoices what was released, a few days later; customers pay, some late, some not yet."""
    rng, today = s.rng, s.today
    terms = s.ctx.session.exec(select(PaymentTerm).where(PaymentTerm.contract_id == cid,
                                                         PaymentTerm.active == True,  # noqa: E712
                                                         PaymentTerm.released_on != None)).all()  # noqa: E711
    for term in terms:
        invoiced = s.ctx.session.exec(select(func.count()).select_from(Invoice).where(Invoice.term_id == term.id)).one()
        if invoiced:
            continue
        issued = term.released_on + timedelta(days=rng.randrange(2, 20))
        if issued >= today:
            continue
        inv_id = billing.issue_invoice(s.as_("finance", issued), term.id, amount=term.amount, issued_on=issued)
        inv = s.ctx.session.get(Invoice, inv_id)
        behaviour = rng.random()
        if behaviour < 0.15:
            continue                       # overdue, not paid at all
        delay = rng.choice([-5, 0, 10, 20, 45])
        paid_on = inv.due_on + timedelta(days=delay)
        if paid_on >= today:
            continue
        amount = inv.amount if behaviour > 0.25 else (inv.amount / 2).quantize(Decimal("0.01"))  # a partial payment
        billing.record_payment(s.as_("finance", paid_on), account_id=inv.account_id, amount=amount,
                               received_on=paid_on, reference=f"BANK-{inv.number}")


def _finale(s: Story) -> None:
    """The endings every demo needs: a closed project, a change order, a write-off, unapplied cash."""
    session, today = s.ctx.session, s.today
    signed = session.exec(select(Contract).where(Contract.status == ContractStatus.SIGNED)
                          .order_by(Contract.signed_on, Contract.id)).all()
    closing_day = today - timedelta(days=7)   # _close's day: every milestone finally accepted by then
    done = [c for c in signed if all(m.status == MilestoneStatus.ACCEPTED and m.accepted_on <= closing_day
                                     for m in delivery.milestones(s.ctx, c.id))]
    if done:
        _close(s, done[0])
    open_work = [c for c in signed if c not in done[:1] and any(
        t.released_on is None for t in active_terms(session, c.id))]
    if open_work:
        _change_order(s, open_work[-1])
    overdue = session.exec(select(Invoice).where(Invoice.status.in_([InvoiceStatus.ISSUED, InvoiceStatus.PARTLY_PAID]),
                                                 Invoice.due_on < today - timedelta(days=90))
                           .order_by(Invoice.due_on, Invoice.id)).all()
    if overdue:
        inv = overdue[0]
        part = (outstanding(inv) * Decimal("0.10")).quantize(Decimal("0.01"))
        billing.request_write_off(s.as_("finance", today - timedelta(days=3)), inv.id, amount=part,
                                  reason="Penalty for late go-live agreed with the customer 延期罚款")
        billing.decide_write_off(s.as_("leader", today - timedelta(days=1)), inv.id, Decision.APPROVE,
                                 rationale="Keeps the account; penalty is in the contract 合同约定")
    _work_waiting(s, signed)
    _corrections(s)
    if len(overdue) > 1:   # a customer pays more than it owes: kept as unapplied cash
        inv = overdue[-1]
        billing.record_payment(s.as_("finance", today - timedelta(days=2)), account_id=inv.account_id,
                               amount=outstanding(inv) + Decimal("5000"), reference=f"BANK-{inv.number}-ALL",
                               received_on=today - timedelta(days=2))
    daily.run_daily(s.as_("finance", today))   # as the nightly `ltc daily`: retention whose warranty ended is released


def _corrections(s: Story) -> None:
    """An invoice issued to the wrong entity, voided and issued again; a concession credited on a paid invoice
    (红字发票), its cash refunded to the customer. Both on signed contracts, in the last week."""
    session, today = s.ctx.session, s.today
    signed = select(Contract.id).where(Contract.status == ContractStatus.SIGNED)
    unpaid = session.exec(select(Invoice).where(Invoice.status == InvoiceStatus.ISSUED, Invoice.paid_amount == 0,
                                                Invoice.kind == InvoiceKind.INVOICE, Invoice.contract_id.in_(signed))
                          .order_by(Invoice.issued_on.desc(), Invoice.id.desc())).first()
    if unpaid is None:   # every invoice paid: the mistake is made on a released term still to invoice
        day = today - timedelta(days=6)
        term = next((t for t in session.exec(select(PaymentTerm).where(
            PaymentTerm.contract_id.in_(signed), PaymentTerm.active == True,  # noqa: E712
            PaymentTerm.released_on <= day).order_by(PaymentTerm.released_on.desc(), PaymentTerm.id)).all()
            if released_not_invoiced(session, t.id) > 0), None)
        if term is not None:
            unpaid = session.get(Invoice, billing.issue_invoice(
                s.as_("finance", day), term.id, amount=released_not_invoiced(session, term.id), issued_on=day))
    if unpaid is not None:
        day = max(unpaid.issued_on, today - timedelta(days=6))
        amount, term_id = unpaid.amount, unpaid.term_id
        billing.void_invoice(s.as_("finance", day), unpaid.id, reason="Issued to the wrong legal entity 开票抬头错误")
        billing.issue_invoice(s.as_("finance", day), term_id, amount=amount, issued_on=day)
    paid = session.exec(select(Invoice).where(Invoice.status == InvoiceStatus.PAID, Invoice.contract_id.in_(signed))
                        .order_by(Invoice.issued_on.desc(), Invoice.id.desc())).first()
    if paid is not None:
        day = max(paid.issued_on, today - timedelta(days=4))
        part = (paid.amount * Decimal("0.02")).quantize(Decimal("0.01"))
        note = billing.issue_credit_note(s.as_("finance", day), paid.id, amount=part, issued_on=day,
                                         reason="Service-level penalty agreed 服务水平扣款")
        number = session.get(Invoice, note).number
        for back in session.exec(select(Allocation).where(Allocation.invoice_id == paid.id,
                                                          Allocation.amount < 0)).all():
            payment = session.get(Payment, back.payment_id)
            on = max(day, payment.received_on)
            billing.refund_unapplied(s.as_("finance", on), payment.id, amount=-back.amount, refunded_on=on,
                                     reference=f"REFUND-{number}-{payment.id}")


def _close(s: Story, contract: Contract) -> None:
    """Finish the oldest delivered project a week ago: release the retention if its warranty had ended by then
    (else it is held, the one thing a project closes with), invoice and collect everything else, final accounts,
    review, close. All on one day, so every seed and every date tells it."""
    session, day = s.ctx.session, s.today - timedelta(days=7)   # the closing_day _finale chose the project by
    if contract.warranty_ends_on and contract.warranty_ends_on <= day:
        delivery.release_warranty_terms(s.as_("finance", day), contract.id, as_of=day)
    for term in active_terms(session, contract.id):
        left = released_not_invoiced(session, term.id)
        if left > 0:
            billing.issue_invoice(s.as_("finance", day), term.id, amount=left, issued_on=day)
    for inv in receivables(session, contract.id):
        billing.record_payment(s.as_("finance", day), account_id=inv.account_id, amount=outstanding(inv),
                               received_on=day, reference=f"BANK-{inv.number}-FINAL",
                               allocate_to=[(inv.id, outstanding(inv))])
    closure.record_final_accounts(s.as_("finance", day), contract.id, note="决算 agreed with the customer")
    closure.request_closure(s.as_("fr", day), contract.id,
                            went_well="Iron triangle met weekly; acceptance on time 铁三角周会,验收准时",
                            went_badly="Hardware cost 12% over budget 硬件成本超预算12%",
                            lessons="Fix hardware prices with the supplier at ATB 投标时锁定硬件价格", closed_on=day)
    closure.decide_closure(s.as_("leader", day), contract.id, "approve",
                           rationale="决算 and 复盘 reviewed; nothing left to bill but the retention")


def _change_order(s: Story, contract: Contract) -> None:
    """The customer adds a second site: +10%, spread over the terms not yet released."""
    session, today = s.ctx.session, s.today
    terms = active_terms(session, contract.id)
    released = sum((t.amount for t in terms if t.released_on), Decimal("0"))
    open_terms = [t for t in terms if t.released_on is None]
    new_amount = (contract.amount * Decimal("1.10")).quantize(Decimal("1"))
    left = new_amount - released
    plan: list[dict] = []
    open_total = sum((t.amount for t in open_terms), Decimal("0"))
    for i, t in enumerate(open_terms):
        share = left - sum((p["amount"] for p in plan), Decimal("0")) if i == len(open_terms) - 1 else \
            (t.amount * left / open_total).quantize(Decimal("0.01"))
        plan.append({"name": t.name, "amount": share, "trigger": t.trigger.value, "milestone_id": t.milestone_id,
                     "due_days": t.due_days})
    day = today - timedelta(days=14)
    change_id = contracts.request_change(s.as_("fr", day), contract.id, number=f"CO-{contract.number}-01",
                                         reason="Second site added 新增第二个站点", new_amount=new_amount,
                                         new_scope=contract.scope + "; second site 第二站点", new_terms=plan)
    contracts.review_change_legal(s.as_("legal", day + timedelta(days=2)), change_id, Decision.APPROVE,
                                  rationale="Same terms as the main contract 条款同主合同")
    contracts.review_change_finance(s.as_("finance", day + timedelta(days=3)), change_id, Decision.APPROVE,
                                    rationale="Margin holds at 31% 毛利31%")


def _work_waiting(s: Story, signed: Sequence[Contract]) -> None:
    """Today's in-trays: a contract waiting for legal and finance (ATC), a bid due in five days, and a
    milestone whose forecast date has passed without acceptance."""
    from core.models import Opportunity
    session, today = s.ctx.session, s.today
    waiting = session.exec(select(Opportunity).where(Opportunity.stage == Stage.GUIDANCE)
                           .order_by(Opportunity.id)).all()
    if waiting:
        opp = waiting[0]
        ar = session.get(User, opp.ar_id).login
        day = today - timedelta(days=4)
        opportunities.advance_stage(s.as_(ar, day), opp.id, "negotiation")
        cid = contracts.draft_contract(s.as_(ar, day), opp.id, number=f"HT-{today:%Y}-{opp.id:04d}",
                                       name=f"Contract {opp.name}"[:200], amount=opp.amount,
                                       scope="Platform licence and rollout 平台许可与实施")
        contracts.set_payment_terms(s.as_(ar, day), cid, [
            {"name": "Advance 预付款 40%", "percent": "0.40", "trigger": "signing", "due_days": 30},
            {"name": "Retention 质保金 60%", "percent": "0.60", "trigger": "warranty", "due_days": 30}])
        contracts.request_atc(s.as_(ar, today - timedelta(days=2)), cid)
    if len(waiting) > 1:
        opp = waiting[1]
        day = today - timedelta(days=3)
        bid_id = bids.create_bid(s.as_("sr", day), opp.id, title=f"Tender response {opp.name}"[:200],
                                 deadline=today + timedelta(days=5), bid_bond=Decimal("20000"),
                                 competitors="Inspur 浪潮, Neusoft 东软")
        floor = (opp.amount * Decimal("0.88")).quantize(Decimal("1"))
        bids.request_atb(s.as_("sr", day), bid_id, proposed_price=opp.amount, proposed_floor=floor)
        bids.decide_atb(s.as_("leader", today - timedelta(days=1)), bid_id, Decision.APPROVE, price_floor=floor,
                        rationale="Reference customer in the region 区域标杆客户")
    open_work = [c for c in signed if c.status == ContractStatus.SIGNED
                 and (c.warranty_ends_on is None or c.warranty_ends_on > today)]
    if open_work:   # training for the customer's users, done a week ago, acceptance still to come
        delivery.plan_milestone(s.as_("fr", today - timedelta(days=40)), open_work[-1].id,
                                name="User training 用户培训", planned_on=today - timedelta(days=7))
    _approval_paths(s)


def _approval_paths(s: Story) -> None:
    """Approval paths (config/approvals.toml) and a delegate, on two group accounts of ar's (East): a 6,800,000
    contract signed after legal, finance and then a leader approved it; a 5,600,000 one whose leader step waits
    after legal and finance, while the leader is away and has named East's sales manager their delegate."""
    today = s.today
    delegations.name_delegate(s.as_("leader", today - timedelta(days=3)), "mgr-east",
                              starts_on=today - timedelta(days=2), ends_on=today + timedelta(days=5),
                              reason="Trade fair in Shenzhen 深圳展会")
    for k, (customer, amount) in enumerate((("Yangtze Grid Group 长江电网集团", Decimal("6800000")),
                                            ("East Sea Ports 东海港口集团", Decimal("5600000")))):
        day = today - timedelta(days=40 - 10 * k)
        opp_id = opportunities.create_opportunity(s.as_("ar", day), name=f"Group platform {customer}",
                                                  account_name=customer, amount=amount, region="East",
                                                  industry="Energy" if k == 0 else "Transport",
                                                  expected_close=today + timedelta(days=30))
        opportunities.set_team(s.as_("ar", day), opp_id, ar_login="ar", sr_login="sr", fr_login="fr")
        opportunities.set_estimate(s.as_("sr", day), opp_id, revenue=amount, cost=(amount * Decimal("0.6")),
                                   note="概算 group rollout")
        opportunities.set_guidance(s.as_("ar", day), opp_id, pain_points="Ten subsidiaries, ten systems 十套系统",
                                   value_proposition="One group platform 集团统一平台")
        opportunities.request_ati(s.as_("ar", day), opp_id)
        opportunities.decide_ati(s.as_("leader", day + timedelta(days=1)), opp_id, Decision.GO,
                                 rationale="Group account 集团客户")
        day += timedelta(days=5)
        opportunities.advance_stage(s.as_("ar", day), opp_id, "negotiation")
        cid = contracts.draft_contract(s.as_("ar", day), opp_id, number=f"HT-{today:%Y}-G{k + 1:03d}",
                                       name=f"Contract {customer}"[:200], amount=amount,
                                       scope="Group-wide platform 集团级平台", warranty_months=12)
        contracts.set_payment_terms(s.as_("ar", day), cid, [
            {"name": "Advance 预付款 30%", "percent": "0.30", "trigger": "signing", "due_days": 30},
            {"name": "Retention 质保金 70%", "percent": "0.70", "trigger": "warranty", "due_days": 30}])
        contracts.request_atc(s.as_("ar", day), cid)
        contracts.review_atc_legal(s.as_("legal", day + timedelta(days=1)), cid, Decision.APPROVE,
                                   rationale="Standard terms 标准条款")
        contracts.review_atc_finance(s.as_("finance", day + timedelta(days=2)), cid, Decision.APPROVE,
                                     rationale="Advance covers the first costs 预付款覆盖首期成本")
        if k == 0:   # the third step, after legal and finance: above 5,000,000 a leader approves too
            contracts.review_atc_leader(s.as_("leader", day + timedelta(days=3)), cid, Decision.APPROVE,
                                        rationale="Group account worth the exposure 集团客户，风险可控")
            contracts.sign_contract(s.as_("ar", day + timedelta(days=4)), cid, signed_on=day + timedelta(days=4))
