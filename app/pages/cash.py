"""Invoicing and cash (开票与回款): terms to invoice, invoices (due dates editable), payments and their
allocation, AR ageing (账龄), dunning (催款), customer statements and write-offs. Reads through
core.queries.cash, writes through core.services.billing; an AR sees only the accounts they own."""
from datetime import date
from decimal import Decimal

import pandas as pd
import streamlit as st

from app import ui
from core import validate
from core.errors import LtcError
from core.queries import cash as q
from core.services import billing

who = ui.guard("billing.view")
ui.flash()
st.title(ui.t("page.cash"))
today = date.today()
INVOICE_LIMIT = 500   # the invoice list shows the latest due; the ageing and statements count them all




def table(df: pd.DataFrame, name: str, key: str) -> None:
    if df.empty:
        st.info(ui.t("nothing"))
        return
    st.dataframe(df, hide_index=True, column_config=ui.column_labels(df, "cash"), width="stretch")
    ui.downloads(df, name, key=key)


def forget() -> None:
    """Drop the tables kept as the person saw them, so they are read again after a change."""
    for k in [k for k in st.session_state if str(k).startswith(("cash-seen-", "cash-inv-editor-"))]:
        del st.session_state[k]



def done(result) -> None:
    if result:
        forget()
        st.rerun()


def money(v) -> str:
    return f"{Decimal(v):,.2f}"


def pick(label: str, options: dict, *, key: str, where=st):
    """A selectbox over {value: shown text} (texts made before, so they do not depend on later state)."""
    return where.selectbox(label, list(options), key=key, format_func=options.get)


def invoice_labels(df: pd.DataFrame) -> dict:
    due = ui.t("cash.due")
    return {i: f"{r['Invoice']} · {due} {r['Due on']} · {money(r['Outstanding'])}"
            for i, r in df.set_index("ID").iterrows()}


def up_to(text: str, limit: Decimal, field: str) -> Decimal | None:
    """A typed amount, or when left empty the most that can be applied (limit); None after showing why not."""
    if not str(text or "").strip():
        return limit
    try:
        return validate.amount(field, text)
    except LtcError as exc:
        st.error(str(exc))
        return None


customers = ui.read(q.customers)
names = {c["id"]: c["name"] for c in customers}
if who.roles & q.SEES_ALL:
    st.caption(ui.t("cash.scope.all"))
else:
    st.caption(ui.t("cash.scope.mine", n=len(customers)))


# -- to invoice ------------------------------------------------------------------------------------
def to_invoice_tab():
    st.subheader(ui.t("cash.to_invoice"))
    todo = ui.read(q.to_invoice)
    table(todo, "to-invoice", "cash-todo-dl")
    if ui.can("invoice.issue") and not todo.empty:
        terms = todo.set_index("ID")
        tid = int(pick(ui.t("cash.issue.term"), {i: f"{r['Contract']} · {r['Customer']} · {r['Term']} · "
                                                    f"{money(r['Remaining'])}" for i, r in terms.iterrows()},
                       key="cash-issue-term"))
        with st.form("cash-issue"):
            st.markdown(f"**{ui.t('cash.issue')}**")
            f1, f2 = st.columns(2)
            amount = f1.text_input(ui.t("cash.issue.amount"), value=str(terms.at[tid, "Remaining"]),
                                   key=f"cash-issue-amount-{tid}")
            issued = f2.date_input(ui.t("cash.issue.issued_on"), value=today, max_value=today, key="cash-issue-on")
            f3, f4 = st.columns(2)
            number = f3.text_input(ui.t("cash.issue.number"), key="cash-issue-number",
                                   placeholder=ui.t("cash.issue.number_auto"))
            rate = f4.text_input(ui.t("cash.issue.tax_rate"), key="cash-issue-tax",
                                 placeholder=ui.t("cash.issue.tax_default"))
            if st.form_submit_button(ui.t("cash.issue.submit")):
                done(ui.act(billing.issue_invoice, tid, amount=amount, number=number or None, issued_on=issued,
                            tax_rate=rate or None, success=ui.t("cash.issue.done", amount=amount)))


# -- invoices --------------------------------------------------------------------------------------
def invoices_tab():
    st.subheader(ui.t("cash.invoices"))
    i1, i2 = st.columns(2)
    open_only = i1.toggle(ui.t("cash.invoices.open_only"), value=True, key="cash-inv-open")
    acc = pick(ui.t("cash.customer"), {0: ui.t("all"), **names}, key="cash-inv-customer", where=i2)
    suffix = f"{int(open_only)}-{acc}"
    inv = ui.seen(f"cash-seen-inv-{suffix}", f"cash-inv-editor-{suffix}",
               lambda: ui.read(q.invoices, open_only=open_only, account_id=acc or None, limit=INVOICE_LIMIT))
    if len(inv) >= INVOICE_LIMIT:
        st.caption(ui.t("cash.invoices.limited", n=INVOICE_LIMIT))
    if inv.empty:
        st.info(ui.t("nothing"))
    elif ui.can("invoice.update"):
        cfg = ui.column_labels(inv, "cash", **{"Due on": st.column_config.DateColumn(format="YYYY-MM-DD", required=True)})
        edited = st.data_editor(inv, key=f"cash-inv-editor-{suffix}", hide_index=True, column_config=cfg,
                                disabled=[c for c in inv.columns if c != "Due on"], width="stretch")

        def save(ctx, invoice_id, version, changes):
            return billing.update_invoice(ctx, invoice_id, version=version, due_on=changes.get("Due on"))

        b1, b2 = st.columns(2)
        if b1.button(ui.t("save"), key="cash-inv-save"):
            if ui.save_edits(inv, edited, save):
                done(True)
        if b2.button(ui.t("cash.reload"), key="cash-inv-reload"):
            done(True)
    else:
        st.dataframe(inv, hide_index=True, column_config=ui.column_labels(inv, "cash"), width="stretch")
    if not inv.empty:
        ui.downloads(inv, "invoices", key="cash-inv-dl")

    owed = inv[inv["Outstanding"] > 0] if not inv.empty else inv
    if ui.can("writeoff.request") and not owed.empty:
        labels = {r["ID"]: f"{r['Invoice']} · {r['Customer']} · {money(r['Outstanding'])}" for _, r in owed.iterrows()}
        with st.form("cash-writeoff"):
            st.markdown(f"**{ui.t('cash.writeoff.request')}**")
            w_inv = pick(ui.t("cash.writeoff.invoice"), labels, key="cash-writeoff-invoice")
            w_amount = st.text_input(ui.t("cash.writeoff.amount"), key="cash-writeoff-amount")
            w_reason = st.text_area(ui.t("cash.writeoff.reason"), key="cash-writeoff-reason")
            if st.form_submit_button(ui.t("cash.writeoff.submit")):
                done(ui.act(billing.request_write_off, int(w_inv), amount=w_amount, reason=w_reason,
                            success=ui.t("cash.writeoff.requested")))

    st.subheader(ui.t("cash.writeoff.pending"))
    pending = ui.read(q.pending_write_offs)
    table(pending, "write-offs-pending", "cash-writeoff-dl")
    if ui.can("writeoff.decide") and not pending.empty:
        reqs = {r["Invoice ID"]: f"{r['Invoice']} · {r['Customer']} · {money(r['Amount'])}"
                for _, r in pending.iterrows()}
        with st.form("cash-decide"):
            st.markdown(f"**{ui.t('cash.writeoff.decide')}**")
            d_inv = pick(ui.t("cash.writeoff.invoice"), reqs, key="cash-decide-invoice")
            decisions = {"approve": ui.t("cash.decision.approve"), "reject": ui.t("cash.decision.reject")}
            decision = st.radio(ui.t("cash.writeoff.decision"), list(decisions), key="cash-decide-decision",
                                horizontal=True, format_func=decisions.get)
            rationale = st.text_area(ui.t("cash.writeoff.rationale"), key="cash-decide-rationale")
            if st.form_submit_button(ui.t("cash.writeoff.decide_submit")):
                done(ui.act(billing.decide_write_off, int(d_inv), decision, rationale=rationale,
                            success=ui.t("cash.writeoff.decided")))


# -- payments --------------------------------------------------------------------------------------
def payments_tab():
    last = st.session_state.get("cash-last-payment")
    if last:
        try:
            res = ui.read(q.payment_result, int(last))
        except LtcError:
            res = None
        if res:
            st.subheader(ui.t("cash.payment.result", amount=money(res["amount"]), customer=res["customer"]))
            table(res["allocations"], f"payment-{res['payment']}-allocations", "cash-last-dl")
            if res["unapplied"] > 0:
                st.warning(ui.t("cash.payment.unapplied", amount=money(res["unapplied"])))
            else:
                st.caption(ui.t("cash.payment.fully_applied"))

    if ui.can("payment.record") and names:
        st.subheader(ui.t("cash.payment.record"))
        p_acc = pick(ui.t("cash.customer"), names, key="cash-pay-customer")
        open_inv = ui.read(q.invoices, open_only=True, account_id=int(p_acc), limit=0)
        by_inv = open_inv.set_index("ID")
        with st.form("cash-pay"):
            p1, p2, p3 = st.columns(3)
            p_amount = p1.text_input(ui.t("cash.payment.amount"), key="cash-pay-amount")
            p_on = p2.date_input(ui.t("cash.payment.received_on"), value=today, max_value=today, key="cash-pay-on")
            p_ref = p3.text_input(ui.t("cash.payment.reference"), key="cash-pay-reference")
            p_to = pick(ui.t("cash.payment.apply_to"),
                        {0: ui.t("cash.payment.oldest_first"), **invoice_labels(open_inv)}, key="cash-pay-invoice")
            p_part = st.text_input(ui.t("cash.payment.apply_amount"), key="cash-pay-part",
                                   placeholder=ui.t("cash.payment.apply_amount_hint"))
            if st.form_submit_button(ui.t("cash.payment.submit")):
                allocate_to = None
                if p_to:
                    try:
                        paid = validate.amount("amount", p_amount)
                    except LtcError as exc:
                        st.error(str(exc))
                        paid = None
                    part = up_to(p_part, min(paid, Decimal(by_inv.at[p_to, "Outstanding"])), "apply_amount") \
                        if paid is not None else None
                    allocate_to = [(int(p_to), part)] if part is not None else False
                if allocate_to is not False:
                    pid = ui.act(billing.record_payment, account_id=int(p_acc), amount=p_amount, received_on=p_on,
                                 reference=p_ref, allocate_to=allocate_to,
                                 success=ui.t("cash.payment.done", amount=p_amount))
                    if pid:
                        st.session_state["cash-last-payment"] = int(pid)
                    done(pid)

    st.subheader(ui.t("cash.payments"))
    pays = ui.read(q.payments)
    table(pays, "payments", "cash-pay-dl")

    unapplied = ui.read(q.payments, unapplied_only=True)
    if ui.can("payment.allocate") and not unapplied.empty:
        st.subheader(ui.t("cash.apply"))
        by_pay = unapplied.set_index("ID")
        a_pay = int(pick(ui.t("cash.apply.payment"), {
            i: f"{r['Customer']} · {r['Received on']} · {r['Reference']} · {ui.t('cash.col.unapplied')} "
               f"{money(r['Unapplied'])}" for i, r in by_pay.iterrows()}, key="cash-apply-payment"))
        pay_acc = ui.read(q.payment_result, a_pay)
        targets = ui.read(q.invoices, open_only=True, limit=0, account_id=pay_acc["account_id"])
        if targets.empty:
            st.caption(ui.t("cash.apply.nothing_open"))
        else:
            by_t = targets.set_index("ID")
            with st.form("cash-apply"):
                a_inv = pick(ui.t("cash.apply.invoice"), invoice_labels(targets), key="cash-apply-invoice")
                a1, a2 = st.columns(2)
                a_amount = a1.text_input(ui.t("cash.apply.amount"), key="cash-apply-amount",
                                         placeholder=ui.t("cash.payment.apply_amount_hint"))
                a_on = a2.date_input(ui.t("cash.apply.on"), value=today, max_value=today, key="cash-apply-on")
                if st.form_submit_button(ui.t("cash.apply.submit")):
                    limit = min(Decimal(by_pay.at[a_pay, "Unapplied"]), Decimal(by_t.at[a_inv, "Outstanding"]))
                    part = up_to(a_amount, limit, "amount")
                    if part is not None:
                        if ui.act(billing.allocate_payment, a_pay, int(a_inv), part, allocated_on=a_on,
                                  success=ui.t("cash.apply.done", amount=money(part))):
                            st.session_state["cash-last-payment"] = a_pay
                            done(True)


# -- ageing ----------------------------------------------------------------------------------------
def ageing_tab():
    st.subheader(ui.t("cash.ageing"))
    as_of = st.date_input(ui.t("cash.as_of"), value=today, key="cash-ageing-asof")
    age = ui.read(q.ageing, as_of=as_of)
    total = sum((Decimal(v) for v in age["Total"]), Decimal("0.00"))
    current = sum((Decimal(v) for v in age["Current"]), Decimal("0.00"))
    unapplied = ui.read(q.payments, unapplied_only=True, limit=0)
    unapplied_total = sum((Decimal(v) for v in unapplied["Unapplied"]), Decimal("0.00"))
    m1, m2, m3 = st.columns(3)
    m1.metric(ui.t("cash.metric.outstanding"), money(total))
    m2.metric(ui.t("cash.metric.overdue"), money(total - current))
    m3.metric(ui.t("cash.metric.unapplied"), money(unapplied_total))
    table(age, f"ageing-{as_of}", "cash-ageing-dl")
    st.caption(ui.t("cash.ageing.note"))


# -- dunning ---------------------------------------------------------------------------------------
def dunning_tab():
    st.subheader(ui.t("cash.dunning"))
    dun = ui.read(q.dunning, as_of=today)
    if dun.empty:
        st.info(ui.t("nothing"))
    else:
        for level, rows in sorted(dun.groupby("Level"), key=lambda g: g[0], reverse=True):
            head = ui.t("cash.dunning.level", level=level, n=len(rows), amount=money(sum(rows["Outstanding"])))
            st.markdown(f"**{head}**")
            rows = rows.drop(columns=["Level"])
            st.dataframe(rows, hide_index=True, column_config=ui.column_labels(rows, "cash"), width="stretch")
        ui.downloads(dun, f"dunning-{today}", key="cash-dunning-dl")
    st.caption(ui.t("cash.dunning.note"))


# -- statement -------------------------------------------------------------------------------------
def statement_tab():
    st.subheader(ui.t("cash.statement"))
    if not names:
        st.info(ui.t("nothing"))
    else:
        s_acc = pick(ui.t("cash.customer"), names, key="cash-statement-customer")
        stmt = ui.read(q.statement, int(s_acc), as_of=today)
        s1, s2, s3, s4, s5 = st.columns(5)
        s1.metric(ui.t("cash.metric.invoiced"), money(stmt["invoiced"]))
        s2.metric(ui.t("cash.metric.received"), money(stmt["received"]))
        s3.metric(ui.t("cash.metric.written_off"), money(stmt["written_off"]))
        s4.metric(ui.t("cash.metric.outstanding"), money(stmt["outstanding"]))
        s5.metric(ui.t("cash.metric.unapplied"), money(stmt["unapplied"]))
        st.markdown(ui.t("cash.statement.balance", amount=money(stmt["balance"]), as_of=stmt["as_of"]))
        table(stmt["lines"], f"statement-{stmt['customer']}-{today}", "cash-statement-dl")
        st.markdown(f"**{ui.t('cash.invoices')}**")
        table(stmt["invoices"], f"statement-{stmt['customer']}-invoices", "cash-statement-inv-dl")
        st.markdown(f"**{ui.t('cash.allocations')}**")
        table(stmt["allocations"], f"statement-{stmt['customer']}-allocations", "cash-statement-alloc-dl")


# Only the open tab is drawn (its queries and downloads run); choosing another tab reruns the page.
TABS = [("cash.tab.to_invoice", to_invoice_tab), ("cash.tab.invoices", invoices_tab),
        ("cash.tab.payments", payments_tab), ("cash.tab.ageing", ageing_tab), ("cash.tab.dunning", dunning_tab),
        ("cash.tab.statement", statement_tab)]
for tab, (_, draw) in zip(st.tabs([ui.t(k) for k, _ in TABS], key="cash-tab", on_change="rerun"), TABS):
    if tab.open:
        with tab:
            draw()
