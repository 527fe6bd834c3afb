"""The To invoice and Invoices tabs of the invoicing and cash page: issuing an invoice on a released term
(?term=<id>), the invoice list with due dates editable, and one invoice in full (?invoice=<id>): its details,
payments applied, write-off requests, history and the actions core offers on it."""
from __future__ import annotations

from datetime import date

import streamlit as st

from app import fmt, forms, records, tables, ui
from app.views.cash_common import disabled_reason, done, forget, invoice_labels, offers, typed
from core.errors import LtcError
from core.queries import cash as q
from core.services import billing

INVOICE_LIMIT = 500   # the invoice list shows the latest due; the ageing and statements count them all
EARLIEST = date(2000, 1, 1)


# -- to invoice ------------------------------------------------------------------------------------
def to_invoice_tab() -> None:
    st.subheader(ui.t("cash.to_invoice"))
    todo = ui.read(q.to_invoice)
    tables.table(todo, "cash", key="cash-todo", opens="term", download="to-invoice")
    if not ui.can("invoice.issue") or todo.empty:
        return
    terms = todo.set_index("ID")
    options = {int(i): f"{r['Contract']} · {r['Customer']} · {r['Term']} · {fmt.money(r['Remaining'])}"
               for i, r in terms.iterrows()}
    tid = records.picker("term", options, label=ui.t("cash.issue.term"), key="cash-issue-term")
    if tid is None:
        st.caption(ui.t("cash.issue.choose"))
        ui.flash("cash-issue")
        ui.flash("cash-issue-link")
        return
    why = disabled_reason(offers("term", tid), "invoice.issue")
    labels = {"amount": ui.t("cash.issue.amount"), "issued_on": ui.t("cash.issue.issued_on"),
              "number": ui.t("cash.issue.number"), "tax_rate": ui.t("cash.issue.tax_rate")}
    with forms.once_form("cash-issue", ui.t("cash.issue")) as f:
        f1, f2 = st.columns(2)
        amount = f1.text_input(labels["amount"], value=str(terms.at[tid, "Remaining"]), key=f.key(f"amount-{tid}"))
        issued = f2.date_input(labels["issued_on"], value=fmt.today(), min_value=EARLIEST, key=f.key("on"))
        f3, f4 = st.columns(2)
        number = f3.text_input(labels["number"], key=f.key("number"), max_chars=ui.limit("number"),
                               placeholder=ui.t("cash.issue.number_auto"))
        rate = f4.text_input(labels["tax_rate"], key=f.key("tax"), max_chars=ui.limit("tax_rate"),
                             placeholder=ui.t("cash.issue.tax_default"))
        if st.form_submit_button(ui.t("cash.issue.submit"), key=f.key("submit"), disabled=why is not None, help=why):
            def done_text(iid: int) -> str:
                number_given = ui.read(q.invoice_detail, iid)["Invoice"]
                ui.say("cash-issue-link", "link", ("invoice", iid, ui.t("cash.issue.open", number=number_given)))
                return ui.t("cash.issue.done", number=number_given, amount=typed(amount))

            if f.submit(billing.issue_invoice, tid, amount=amount, number=number or None, issued_on=issued,
                        tax_rate=rate or None, labels=labels, success=done_text):
                records.go("term", None)
                st.session_state.pop("cash-issue-term", None)
                done(True)


# -- invoices --------------------------------------------------------------------------------------
def invoices_tab(names: dict) -> None:
    st.subheader(ui.t("cash.invoices"))
    i1, i2 = st.columns(2)
    open_only = i1.toggle(ui.t("cash.invoices.open_only"), value=True, key="cash-inv-open")
    customers = {0: ui.t("all"), **names}
    acc = i2.selectbox(ui.t("cash.customer"), list(customers), key="cash-inv-customer",
                       format_func=lambda i: customers.get(i, str(i)))
    suffix = f"{int(open_only)}-{acc}"
    inv = ui.seen(f"cash-seen-inv-{suffix}", f"cash-inv-editor-{suffix}",
                  lambda: ui.read(q.invoices, open_only=open_only, account_id=acc or None, limit=INVOICE_LIMIT))
    if len(inv) >= INVOICE_LIMIT:
        st.caption(ui.t("cash.invoices.limited", n=INVOICE_LIMIT))
    # a clicked row opens the invoice; those who may change due dates switch the list into an edit table
    editing = ui.can("invoice.update") and not inv.empty and st.toggle(ui.t("cash.invoices.edit"),
                                                                        key="cash-inv-edit")
    if inv.empty:
        st.info(ui.t("nothing"))
    elif editing:
        _editor(inv, suffix)
    else:
        tables.table(inv, "cash", key=f"cash-inv-table-{suffix}", opens="invoice", download="invoices")

    options = invoice_labels(inv) if not inv.empty else {}
    wanted = st.query_params.get("invoice")
    if wanted and str(wanted).isdigit() and int(wanted) not in options:   # an address outside the list shown
        try:
            one = ui.read(q.invoice_detail, int(wanted))
            options[int(wanted)] = f"{one['Invoice']} · {one['Customer']} · {fmt.money(one['Outstanding'])}"
        except LtcError:
            pass   # the picker says the address cannot be shown, revealing nothing
    iid = records.picker("invoice", options, label=ui.t("cash.invoice.open"), key="cash-invoice")
    if iid is not None:
        invoice_view(iid)

    st.subheader(ui.t("cash.writeoff.pending"))
    pending = ui.read(q.pending_write_offs)
    tables.table(pending, "cash", key="cash-writeoff-pending", opens="invoice", id_col="Invoice ID",
                 download="write-offs-pending")


def _editor(inv, suffix: str) -> None:
    view = tables.shown(inv)
    cfg = tables.config(view, "cash", money=tables.money_columns(inv),   # 1,162,285.71, not 1162285.71
                        extra={"Due on": st.column_config.DateColumn(format="YYYY-MM-DD", required=True)})
    visible = [c for c in view.columns if not tables.internal(c)]
    edited = st.data_editor(view, key=f"cash-inv-editor-{suffix}", hide_index=True, column_config=cfg,
                            column_order=visible, disabled=[c for c in view.columns if c != "Due on"],
                            width="stretch", placeholder=fmt.EMPTY)

    def save(ctx, invoice_id, version, changes):
        return billing.update_invoice(ctx, invoice_id, version=version, due_on=changes.get("Due on"))

    b1, b2 = st.columns(2)
    if b1.button(ui.t("save"), key="cash-inv-save"):
        if ui.save_edits(view, edited, save, where="cash-inv-table"):
            done(True)
    if b2.button(ui.t("cash.reload"), key="cash-inv-reload"):
        done(True)
    ui.flash("cash-inv-table")
    ui.downloads(view[visible].rename(columns=lambda c: ui.header("cash", c)), "invoices", key="cash-inv-dl")


def invoice_view(iid: int) -> None:
    """One invoice in full, with what core offers on it now."""
    try:
        d = ui.read(q.invoice_detail, iid)
    except LtcError:
        st.warning(ui.t("record.not_visible", kind=ui.t("record.kind.invoice"), id=iid))
        return
    st.markdown(f"#### {d['Invoice']} · {d['Customer']}")
    ui.tiles(((ui.t(key), fmt.money(d[field])) for key, field in (
        ("cash.col.amount", "Amount"), ("cash.col.paid", "Paid"), ("cash.col.written_off", "Written off"),
        ("cash.col.credited", "Credited"), ("cash.col.outstanding", "Outstanding"))), per_row=3)
    if d["Kind"] == "credit_note":
        st.info(ui.t("cash.credit.is_note", invoice=d["Credits"], reason=fmt.text(d["Reason"])))
    if d["Status"] == "void":
        st.info(ui.t("cash.void.is_void", on=fmt.day(d["Voided on"]), amount=fmt.money(d["Voided amount"]),
                     reason=fmt.text(d["Reason"])))
    st.caption(ui.t("cash.invoice.facts", contract=d["Contract"], term=d["Term"], issued=fmt.day(d["Issued on"]),
                    due=fmt.day(d["Due on"]), status=tables.value(d["Status"]), ar=fmt.text(d["AR"]),
                    overdue=ui.t("cash.invoice.overdue", days=fmt.number(d["Days overdue"]))
                    if d["Days overdue"] > 0 else ""))   # an invoice not yet due is not "0 days overdue"
    if d["Kind"] != "credit_note":
        st.markdown(f"**{ui.t('cash.invoice.payments')}**")
        tables.table(d["allocations"], "cash", key=f"cash-invoice-alloc-{iid}", opens="payment", id_col="Payment ID")
    if not d["credit_notes"].empty:
        st.markdown(f"**{ui.t('cash.invoice.credit_notes')}**")
        tables.table(d["credit_notes"], "cash", key=f"cash-invoice-cn-{iid}", opens="invoice")
    if not d["write_offs"].empty:
        st.markdown(f"**{ui.t('cash.invoice.write_offs')}**")
        tables.table(d["write_offs"], "cash", key=f"cash-invoice-wo-{iid}")
    if ui.can("payment.record") and d["Outstanding"] > 0:
        from app.views.cash_payments import pay_for
        st.button(ui.t("cash.invoice.pay"), key=f"cash-invoice-pay-{iid}", on_click=pay_for,
                  args=(int(d["Customer ID"]), iid), icon=":material/payments:")
    records.history("invoices", iid, key=f"cash-invoice-history-{iid}")
    offered = offers("invoice", iid)
    _corrections(iid, offered)
    if ui.can("writeoff.request") and forms.applies(offered, "writeoff.request"):
        _request_write_off(iid, offered)
    if ui.can("writeoff.decide") and forms.applies(offered, "writeoff.decide"):
        enabled, why = forms.offered(offered, "writeoff.decide")
        if enabled:
            forms.decision_form("cash-decide", billing.decide_write_off, iid, title=ui.t("cash.writeoff.decide"),
                                choices={"approve": ui.t("cash.decision.approve"),
                                         "reject": ui.t("cash.decision.reject")},
                                success=lambda _: ui.t("cash.writeoff.decided"), after=lambda: done(True))
        else:
            st.caption(f"{ui.t('cash.writeoff.decide')}: {why}")
            ui.flash("cash-decide")


def _request_write_off(iid: int, offered: dict) -> None:
    enabled, why = forms.offered(offered, "writeoff.request")
    if not enabled:   # nothing to write off (paid), or a request waits: say why instead of a dead form
        st.caption(f"{ui.t('cash.writeoff.request')}: {why}")
        ui.flash("cash-writeoff")
        return
    labels = {"amount": ui.t("cash.writeoff.amount"), "reason": ui.t("cash.writeoff.reason")}
    with forms.once_form("cash-writeoff", ui.t("cash.writeoff.request")) as f:
        amount = st.text_input(labels["amount"], key=f.key("amount"), max_chars=ui.limit("amount"))
        reason = st.text_area(labels["reason"], key=f.key("reason"), max_chars=ui.limit("rationale"))
        if st.form_submit_button(ui.t("cash.writeoff.submit"), key=f.key("submit")):
            if f.submit(billing.request_write_off, iid, amount=amount, reason=reason, labels=labels,
                        success=ui.t("cash.writeoff.requested")):
                forget()
                st.rerun()


def _corrections(iid: int, offered: dict) -> None:
    """Void an unpaid invoice, or credit part or all of it (a credit note), when core offers it now."""
    from app.views.bids_common import offered as drawn

    if drawn(offered, "invoice.void", f"cash-void-{iid}", ui.t("cash.void")):
        labels = {"reason": ui.t("cash.void.reason")}
        with forms.once_form(f"cash-void-{iid}", ui.t("cash.void")) as f:
            st.caption(ui.t("cash.void.note"))
            reason = st.text_input(labels["reason"], key=f.key("reason"), max_chars=ui.limit("note"))
            if st.form_submit_button(ui.t("cash.void.submit"), key=f.key("submit")):
                if f.submit(billing.void_invoice, iid, reason=reason, labels=labels, success=ui.t("cash.void.done")):
                    done(True)
    if drawn(offered, "invoice.credit", f"cash-credit-{iid}", ui.t("cash.credit")):
        labels = {"amount": ui.t("cash.credit.amount"), "reason": ui.t("cash.credit.reason"),
                  "issued_on": ui.t("cash.credit.issued_on")}
        with forms.once_form(f"cash-credit-{iid}", ui.t("cash.credit")) as f:
            st.caption(ui.t("cash.credit.note"))
            c1, c2 = st.columns(2)
            amount = c1.text_input(labels["amount"], key=f.key("amount"), max_chars=ui.limit("amount"),
                                   placeholder=ui.t("cash.credit.all"))
            issued = c2.date_input(labels["issued_on"], value=fmt.today(), min_value=EARLIEST, key=f.key("on"))
            reason = st.text_input(labels["reason"], key=f.key("reason"), max_chars=ui.limit("note"))
            reinvoice = st.checkbox(ui.t("cash.credit.reinvoice"), key=f.key("reinvoice"))
            if st.form_submit_button(ui.t("cash.credit.submit"), key=f.key("submit")):
                def said(note_id: int) -> str:
                    number = ui.read(q.invoice_detail, note_id)["Invoice"]
                    return ui.t("cash.credit.done", number=number)

                if f.submit(billing.issue_credit_note, iid, amount=amount or None, issued_on=issued, reason=reason,
                            reinvoice=reinvoice, labels=labels, success=said):
                    done(True)
