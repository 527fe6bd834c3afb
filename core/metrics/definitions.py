"""What each metric means: formula and which records count (English and Chinese). The same text is in
docs/metrics.md and the page's help tooltips."""

DEFINITIONS: dict[str, dict[str, str]] = {
    "as_of": {
        "en": "Every metric is computed as of a day: records dated after it (signings, acceptances, invoices, "
              "payments, allocations, write-off approvals) do not count. The period runs from its first day to "
              "its last day or as_of, whichever is earlier (default: the 12 months up to as_of).",
        "zh": "所有指标按截止日计算：截止日之后的签约、验收、开票、回款、核销、坏账审批均不计入。期间为起始日至结束日"
              "与截止日中较早者（默认截止日前12个月）。"},
    "funnel": {
        "en": "Counts of the period's cohort: leads captured in the period (merged leads excluded); of them "
              "qualified (current status qualified or converted); opportunities created in the period; of them with an "
              "ATI go; with a bid submitted; won (bid won, or contract signed without a tender); with a contract "
              "signed. Conversion = count ÷ the previous step's count.",
        "zh": "期间内的同批次：期间内录入的线索（不含已合并）；其中已合格（合格或已转化）；期间内创建的机会点；其中"
              "立项决策通过；已投标；已中标（中标或未经招标直接签约）；已签约。转化率 = 本步数量 ÷ 上一步数量。"},
    "win_rate_count": {
        "en": "Won opportunities ÷ (won + lost), opportunities created by as_of, by their stage on as_of (from the "
              "stage history; no history: the stage now); killed ones do not count.",
        "zh": "赢单机会点数 ÷（赢单 + 丢单），截止日前创建的机会点，按截止日当天所处阶段（据阶段变更记录；"
              "无记录则按当前阶段）；立项否决的不计。"},
    "win_rate_value": {
        "en": "Amount of won opportunities ÷ amount of won + lost opportunities.",
        "zh": "赢单金额 ÷（赢单金额 + 丢单金额）。"},
    "bid_hit_rate": {
        "en": "Bids won ÷ bids with a result (won or lost) by as_of.",
        "zh": "中标数 ÷ 截止日前已有结果（中标或未中标）的投标数。"},
    "weighted_pipeline": {
        "en": "Σ over open stages (initiation, guidance, bidding, negotiation, on hold; the stage on as_of) of the "
              "stage's total opportunity amount (as now) × the stage probability of config/pipeline.toml.",
        "zh": "各未关闭阶段（立项、引导、投标、谈判、搁置）机会点金额合计 × config/pipeline.toml 中该阶段概率，"
              "再求和。"},
    "bookings": {
        "en": "Amount of contracts signed in the month (signed_on), at their current amount (after change orders).",
        "zh": "当月签约（签约日）的合同金额，按变更后的当前金额。"},
    "accepted": {
        "en": "Amount of payment terms triggered by final acceptance that were released in the month.",
        "zh": "当月因终验而释放的付款条款金额。"},
    "invoiced": {
        "en": "Amount of invoices issued in the month (issued_on), less the credit notes issued in it; a voided "
              "invoice counts nothing.",
        "zh": "当月开具（开票日）的发票金额，减去当月开具的红字发票；已作废的发票不计。"},
    "collected": {
        "en": "Amount of payments received in the month (received_on), including any part left unapplied.",
        "zh": "当月收到（到账日）的回款金额，含未核销部分。"},
    "outstanding": {
        "en": "Per invoice issued by as_of: amount − allocations made by as_of − write-offs approved by as_of − "
              "credit notes issued by as_of (a credit on a paid amount takes that cash back, as unapplied cash, on "
              "its day). Unapplied cash (an overpayment) is not netted.",
        "zh": "截止日前开具的每张发票：金额 − 截止日前核销的回款 − 截止日前批准的坏账 − 截止日前开具的红字发票"
              "（冲减已回款部分时，该款项于当日转为未核销款）。未核销的多付款不冲抵。"},
    "ageing": {
        "en": "Outstanding by days past due (as_of − due_on) in the buckets of config/finance.toml "
              "ageing_buckets; not yet due is 'current'. The buckets add up to the total outstanding.",
        "zh": "按逾期天数（截止日 − 到期日）分入 config/finance.toml 的账龄区间；未到期为“当前”。"
              "各区间之和等于应收总额。"},
    "overdue_share": {
        "en": "Outstanding past due ÷ total outstanding.",
        "zh": "逾期应收 ÷ 应收总额。"},
    "dso": {
        "en": "DSO = receivables at the period's end ÷ invoiced in the period × days in the period.",
        "zh": "应收账款周转天数 = 期末应收 ÷ 期间开票额 × 期间天数。"},
    "cei": {
        "en": "CEI = (receivables at the start + invoiced in the period − receivables at the end) ÷ "
              "(receivables at the start + invoiced in the period − current (not yet due) receivables at the end), "
              "as a ratio (1 = everything collectable was collected).",
        "zh": "回款效率指数 =（期初应收 + 期间开票 − 期末应收）÷（期初应收 + 期间开票 − 期末未到期应收），"
              "以比率表示。"},
    "unbilled": {
        "en": "Released payment terms (released by as_of) less what was invoiced on them by as_of.",
        "zh": "截止日前已释放的付款条款金额 − 截止日前已就其开票的金额。"},
    "acceptance_to_invoice_days": {
        "en": "Average days from the release of an acceptance-triggered term to each invoice on it, for invoices "
              "issued in the period.",
        "zh": "期间内开具的发票中，由验收触发的条款自释放日至开票日的平均天数。"},
    "overdue_customers": {
        "en": "Customers ranked by outstanding past due as of as_of; drill down to their invoices.",
        "zh": "按截止日逾期应收金额排序的客户，可下钻到发票。"},
    "payment_delay": {
        "en": "A customer's historical delay: the average, in whole days, of (day of the last allocation − due "
              "date) over their invoices fully paid by as_of (negative for an early payer; 0 with no history).",
        "zh": "客户历史平均延迟：截止日前已全额回款的发票，(最后一笔核销日 − 到期日) 的平均天数（取整；提前付款为负；"
              "无记录为0）。"},
    "forecast_contracted": {
        "en": "Next 12 months from as_of's month. Per active payment term of a signed contract, what is not yet "
              "invoiced, at: its release day, or its trigger's day (signing; the milestone's forecast, else "
              "planned, day; the warranty end, else the last milestone + warranty months) + the term's due days "
              "+ the customer's delay. Days already past go into as_of's month; beyond 12 months drop out.",
        "zh": "自截止日所在月起12个月。已签合同的有效付款条款中尚未开票的金额，按：释放日，或触发日（签约；"
              "里程碑预测日，"
              "否则计划日；质保到期日，否则最后里程碑 + 质保月数）+ 账期天数 + 客户历史延迟，计入对应月份；"
              "已过去的日期计入截止日所在月。"},
    "forecast_receivables": {
        "en": "Open invoices as of as_of (outstanding) at their due date + the customer's delay; overdue ones in "
              "as_of's month.",
        "zh": "截止日的未收发票余额，按到期日 + 客户历史延迟计入月份；已逾期的计入截止日所在月。"},
    "forecast_pipeline": {
        "en": "Open opportunities (not signed) with an expected close date: amount × stage probability, in the "
              "month of expected_close (past dates: as_of's month). Kept apart from the contracted layer.",
        "zh": "未签约的在途机会点（有预计成交日）：金额 × 阶段概率，计入预计成交月（已过去的计入截止日所在月），"
              "与合同层分开显示。"},
    "plan_attainment": {
        "en": "Collection-plan attainment: of the invoices due in the period (issued by as_of), the amount "
              "allocated from payments by as_of ÷ their amount.",
        "zh": "回款计划达成率：期间内到期（截止日前开具）的发票，截止日前已核销的回款 ÷ 其金额。"},
    "contract_to_cash_days": {
        "en": "Median days from a contract's signing to its first cash (first allocation), over contracts whose "
              "first cash came in the period.",
        "zh": "合同到回款天数：首笔回款（首次核销）落在期间内的合同，自签约日至首笔回款的天数中位数。"},
    "stage_days": {
        "en": "Days in each opportunity stage, from the stage history (StageChange): entry to the next change, or "
              "to as_of for the current stage; a stage entered at creation counts from the creation day. Won, "
              "lost and killed are not timed. Median and worst per stage; the longest median is the bottleneck.",
        "zh": "机会点各阶段停留天数（阶段变更记录）：自进入至下一次变更，当前阶段计至截止日；"
              "创建即所在的阶段自创建日起算。"
              "赢单、丢单、否决不计。按阶段给出中位数和最长值，中位数最长者为瓶颈。"},
    "gate_wait_days": {
        "en": "Per gate kind (ATI, ATB, ATC, change order, write-off, closure): days from the request to the "
              "decision, for decisions made by as_of (median, worst); requests still pending are counted apart.",
        "zh": "各类决策关口（立项、投标、合同、变更、坏账、关闭）自申请至决策的天数（截止日前已决策；中位数、最长值），"
              "待决数量另计。"},
    "holds_past_review": {
        "en": "Opportunities on hold whose review date is before as_of, with the days past it and the owner (AR).",
        "zh": "处于搁置且复审日早于截止日的机会点，含逾期天数和负责人（客户经理）。"},
    "stuck": {
        "en": "Open opportunities ranked by days in their current stage (as_of − stage_since), top 20, with owner.",
        "zh": "在途机会点按当前阶段停留天数（截止日 − 进入阶段日）排序，前20名，含负责人。"},
    "four_calculations": {
        "en": "Per contract signed by as_of: revenue, cost and margin at estimate (newest estimate of the "
              "opportunity), budget (newest budget), actual (invoiced and costs spent by as_of) and final accounts.",
        "zh": "截止日前签约的每个合同：概算（机会点最新概算）、预算（最新预算）、实际（截止日前开票与成本）、"
              "决算的收入、成本与毛利。"},
    "estimate_accuracy": {
        "en": "Final margin (or, before final accounts, actual margin) ÷ estimate margin.",
        "zh": "概算准确度 = 决算毛利（未决算时用实际毛利）÷ 概算毛利。"},
    "budget_execution": {
        "en": "Actual cost by as_of ÷ budget cost.",
        "zh": "预算执行率 = 截止日前实际成本 ÷ 预算成本。"},
}
