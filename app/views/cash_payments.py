"""The Payments tab of the invoicing and cash page: recording a payment (once per form shown, however often the
submit arrives), the payments received, and one payment in full (?payment=<id>): its allocations, history and
applying its unapplied cash."""
from __future__ import annotations

from datetime import date

import streamlit as st

from app import fmt, forms, records, tables, ui
from app.views.cash_common import choose, done, invoice_labels, offers, typed
from core.errors import LtcError
from core.queries import cash as q
from core.services import billing

EARLIEST = date(2000, 1, 1)


def payments_tab(names: dict) -> None:
    if ui.can("payment.record") and names:
        st.subheader(ui.t("cash.payment.record"))
        record_form(names)

    st.subheader(ui.t("cash.payments"))
    pays = ui.read(q.payments)
    tables.table(pays, "cash", key="cash-payments", opens="payment", download="payments")
    options = {int(i): f"{r['Customer']} · {fmt.day(r['Received on'])} · {fmt.text(r['Reference'])} · "
                       f"{fmt.money(r['Amount'])}" for i, r in pays.set_index("ID").iterrows()}
    wanted = st.query_params.get("payment")
    if wanted and str(wanted).isdigit() and int(wanted) not in options:   # an older one, by its address
        try:
            one = ui.read(q.payment_result, int(wanted))
            options[int(wanted)] = f"{one['customer']} · {fmt.day(one['received_on'])} · {fmt.money(one['amount'])}"
        except LtcError:
            pass
    pid = records.picker("payment", options, label=ui.t("cash.payment.open"), key="cash-payment")
    if pid is not None:
        payment_view(pid)


PAY_FOR = "cash-pay-for"   # (customer, invoice) a "Record a payment" button on an invoice chose for the form


def pay_for(account_id: int, invoice_id: int) -> None:
    """Open the payment form for one invoice: its customer chosen and the payment applied to it."""
    st.session_state[PAY_FOR] = (account_id, invoice_id)
    st.session_state["cash-tab"] = ui.t("cash.tab.payments")


def record_form(names: dict) -> None:
    once = forms.Once("cash-pay")          # the customer belongs to the form: a new form chooses none
    chosen = st.session_state.pop(PAY_FOR, None)
    if chosen and chosen[0] in names:
        st.session_state[once.key("customer")], st.session_state[once.key("invoice")] = chosen
    acc = choose(ui.t("cash.customer"), names, key=once.key("customer"))
    if acc is None:
        st.caption(ui.t("cash.payment.choose_customer"))
        ui.flash("cash-pay")
        return
    open_inv = ui.read(q.invoices, open_only=True, account_id=int(acc), limit=0)
    labels = {"amount": ui.t("cash.payment.amount"), "received_on": ui.t("cash.payment.received_on"),
              "reference": ui.t("cash.payment.reference"), "apply_amount": ui.t("cash.payment.apply_amount")}
    targets = {0: ui.t("cash.payment.oldest_first"), **invoice_labels(open_inv)}
    with forms.once_form("cash-pay") as f:
        p1, p2, p3 = st.columns(3)
        amount = p1.text_input(labels["amount"], key=f.key("amount"), max_chars=ui.limit("amount"))
        on = p2.date_input(labels["received_on"], value=fmt.today(), min_value=EARLIEST, key=f.key("on"))
        ref = p3.text_input(labels["reference"], key=f.key("reference"), max_chars=ui.limit("reference"))
        to = st.selectbox(ui.t("cash.payment.apply_to"), list(targets), key=f.key("invoice"),
                          format_func=lambda i: targets.get(i, str(i)))
        part = st.text_input(labels["apply_amount"], key=f.key("part"), max_chars=ui.limit("amount"),
                             placeholder=ui.t("cash.payment.apply_amount_hint"))
        if st.form_submit_button(ui.t("cash.payment.submit"), key=f.key("submit")):
            # the amount applied left empty: that invoice first, the rest oldest due first (core decides)
            allocate_to = [(int(to), part)] if to and part else None
            pid = f.submit(billing.record_payment, account_id=int(acc), amount=amount, received_on=on,
                           reference=ref, allocate_to=allocate_to, for_invoice=int(to) if to and not part else None,
                           labels={**labels, "allocate_to 1": labels["apply_amount"],
                                   "for_invoice": ui.t("cash.payment.apply_to")},
                           success=ui.t("cash.payment.done", amount=typed(amount)))
            if pid:
                records.go("payment", int(pid))
                done(pid)


def payment_view(pid: int) -> None:
    """One payment as allocated, with applying what is left of it when core offers that."""
    try:
        res = ui.read(q.payment_result, int(pid))
    except LtcError:
        st.warning(ui.t("record.not_visible", kind=ui.t("record.kind.payment"), id=pid))
        return
    st.markdown(f"#### {ui.t('cash.payment.result', amount=fmt.money(res['amount']), customer=res['customer'])}")
    st.caption(ui.t("cash.payment.facts", on=fmt.day(res["received_on"]), reference=fmt.text(res["reference"])))
    tables.table(res["allocations"], "cash", key=f"cash-payment-alloc-{pid}", opens="invoice", id_col="Invoice ID")
    if res["unapplied"] > 0:
        st.warning(ui.t("cash.payment.unapplied", amount=fmt.money(res["unapplied"])))
    else:
        st.caption(ui.t("cash.payment.fully_applied"))
    records.history("payments", pid, key=f"cash-payment-history-{pid}")
    offered = offers("payment", pid)
    if ui.can("payment.allocate"):
        enabled, _ = forms.offered(offered, "payment.allocate")
        if enabled:
            apply_form(pid, res)
        else:
            ui.flash("cash-apply")
    if ui.can("payment.refund"):
        enabled, _ = forms.offered(offered, "payment.refund")
        if enabled:
            refund_form(pid)
        else:
            ui.flash("cash-refund")


def refund_form(pid: int) -> None:
    """Pay unapplied cash back to the customer (all of it when no amount is given)."""
    labels = {"amount": ui.t("cash.refund.amount"), "refunded_on": ui.t("cash.refund.on"),
              "reference": ui.t("cash.refund.reference")}
    with forms.once_form("cash-refund", ui.t("cash.refund")) as f:
        r1, r2, r3 = st.columns(3)
        amount = r1.text_input(labels["amount"], key=f.key("amount"), max_chars=ui.limit("amount"),
                               placeholder=ui.t("cash.refund.all"))
        on = r2.date_input(labels["refunded_on"], value=fmt.today(), min_value=EARLIEST, key=f.key("on"))
        reference = r3.text_input(labels["reference"], key=f.key("reference"), max_chars=ui.limit("reference"))
        if st.form_submit_button(ui.t("cash.refund.submit"), key=f.key("submit")):
            if f.submit(billing.refund_unapplied, pid, amount=amount or None, refunded_on=on, reference=reference,
                        labels=labels, success=ui.t("cash.refund.done")):
                done(True)


def apply_form(pid: int, res: dict) -> None:
    st.markdown(f"**{ui.t('cash.apply')}**")
    targets = ui.read(q.invoices, open_only=True, limit=0, account_id=res["account_id"])
    if targets.empty:
        st.caption(ui.t("cash.apply.nothing_open"))
        ui.flash("cash-apply")
        return
    by_t = targets.set_index("ID")
    labels = {"amount": ui.t("cash.apply.amount"), "allocated_on": ui.t("cash.apply.on")}
    with forms.once_form("cash-apply") as f:
        inv = choose(ui.t("cash.apply.invoice"), invoice_labels(targets), key=f.key("invoice"))
        a1, a2 = st.columns(2)
        amount = a1.text_input(labels["amount"], key=f.key("amount"), max_chars=ui.limit("amount"),
                               placeholder=ui.t("cash.payment.apply_amount_hint"))
        on = a2.date_input(labels["allocated_on"], value=fmt.today(), min_value=EARLIEST, key=f.key("on"))
        if st.form_submit_button(ui.t("cash.apply.submit"), key=f.key("submit")):
            if inv is None:
                ui.say("cash-apply", "error", ui.t("cash.apply.choose_invoice"))
                return
            if f.submit(billing.allocate_payment, pid, int(inv), amount or None, allocated_on=on, labels=labels,
                        success=ui.t("cash.apply.done", number=by_t.at[inv, "Invoice"])):
                done(True)
