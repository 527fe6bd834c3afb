"""Bids and contracts (投标与合同): bids with their deadline countdown and the ATB gate; contracts with the ATC
reviews (legal and finance), the payment-terms editor, signing, change orders and the deal's timeline."""
from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from app import ui
from core.queries.contracts import (bid_detail, bid_list, contract_detail, contract_list, contract_timeline,
                                    deal_options, terms_preview)
from core.services import bids, contracts, delivery

who = ui.guard("contract.view")
st.title(ui.t("page.bids_contracts"))
ui.flash()

TRIGGERS = ["signing", "acceptance", "warranty"]
EDITABLE_CONTRACT = ("draft", "atc_pending")



def money(value) -> str:
    return "—" if value is None or (not isinstance(value, str) and pd.isna(value)) else f"{value:,.2f}"


def clean(value) -> str:
    """An editor cell as text: empty cells (None, NaN) become ''."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value).strip()


def status_label(status: str) -> str:
    return ui.t(f"bids_contracts.status.{status}")


def table(df: pd.DataFrame, key: str, styled=None) -> None:
    if df.empty:
        st.caption(ui.t("nothing"))
        return
    st.dataframe(styled if styled is not None else df, hide_index=True, width="stretch", key=key,
                 column_config=ui.column_labels(df, "bids_contracts"))


def forget(*keys: str) -> None:
    """Drop an editor's snapshot and its edits, so the next run reads the records afresh."""
    for k in keys:
        st.session_state.pop(k, None)


def review_form(key: str, fn, subject_id: int, title: str, after) -> None:
    """Approve or reject with a rationale (ATC or change-order review by legal or finance)."""
    choices = {v: decision_label(v) for v in ("approve", "reject")}
    with st.form(key):
        st.markdown(f"**{title}**")
        decision = st.radio(ui.t("bids_contracts.col.decision"), ["approve", "reject"], horizontal=True,
                            key=f"{key}-decision", format_func=choices.get)
        rationale = st.text_area(ui.t("bids_contracts.col.rationale"), key=f"{key}-rationale")
        if st.form_submit_button(ui.t("bids_contracts.review.submit"), key=f"{key}-submit"):
            if ui.act(fn, subject_id, decision, rationale=rationale,
                      success=ui.t("bids_contracts.review.done", decision=decision_label(decision))):
                after()


def decision_label(decision: str) -> str:
    return ui.t(f"bids_contracts.decision.{decision.replace(' ', '_')}")


def stage_label(stage: str) -> str:
    return ui.t(f"bids_contracts.stage.{stage}")


def deal_label(deals: list[dict]) -> dict[int, str]:
    return {o["id"]: f"{o['name']} · {stage_label(o['stage'])} (#{o['id']})" for o in deals}


deals = ui.read(deal_options) if ui.can("bid.create") or ui.can("contract.draft") else []   # where bids and drafts start
tab_bids, tab_contracts = st.tabs([ui.t("bids_contracts.tab.bids"), ui.t("bids_contracts.tab.contracts")])

# -- bids -------------------------------------------------------------------------------------------

with tab_bids:
    show_all = st.toggle(ui.t("bids_contracts.bids.all"), key="bc-bids-all")
    listing = ui.read(bid_list, open_only=not show_all)
    late = listing[listing["Overdue"]]
    if not late.empty:
        st.warning(ui.t("bids_contracts.bids.overdue", n=len(late), titles=", ".join(late["Title"].head(5))))
    editor_key, seen_key = f"bc-bids-{int(show_all)}", f"bc-bids-seen-{int(show_all)}"

    def bids_done() -> None:
        """After a bid changed: both bid tables are read afresh (their versions moved on)."""
        forget("bc-bids-0", "bc-bids-seen-0", "bc-bids-1", "bc-bids-seen-1")
        st.rerun()

    if ui.can("bid.update") and not listing.empty:
        if seen_key not in st.session_state:
            st.session_state[seen_key] = listing
        seen = st.session_state[seen_key]
        head = partial(ui.header, "bids_contracts")
        edited = st.data_editor(
            seen, key=editor_key, hide_index=True, width="stretch",
            disabled=[c for c in seen.columns if c not in ("Title", "Deadline", "Competitors")],
            column_config={**ui.column_labels(seen, "bids_contracts"),
                           "Deadline": st.column_config.DateColumn(head("Deadline"), format="YYYY-MM-DD"),
                           "Overdue": st.column_config.CheckboxColumn("⚠ " + head("Overdue"))})
        fields = {"Title": "title", "Deadline": "deadline", "Competitors": "competitors"}

        def save_bid(ctx, bid_id, version, changes):
            return bids.update_bid(ctx, bid_id, version=version,
                                   **{fields[c]: v for c, v in changes.items() if c in fields})

        b1, b2 = st.columns([1, 5])
        if b1.button(ui.t("save"), key="bc-bids-save"):
            changed = ui.changed_rows(seen, edited)
            if ui.save_edits(seen, edited, save_bid) == len(changed):
                bids_done()
        b2.button(ui.t("bids_contracts.reload"), key="bc-bids-reload", on_click=forget, args=(editor_key, seen_key))
    else:
        table(listing, "bc-bids-view", listing.style.apply(
            lambda r: ["color: #c62828" if r["Overdue"] else "" for _ in r], axis=1))

    if ui.can("bid.create"):
        with st.expander(ui.t("bids_contracts.bid.new")):
            with st.form("bc-bid-new", clear_on_submit=True):
                names = deal_label(deals)
                opp = st.selectbox(ui.t("bids_contracts.col.opportunity"), list(names), key="bc-bid-new-opp",
                                   format_func=lambda v: names[v])
                c1, c2 = st.columns(2)
                title = c1.text_input(ui.t("bids_contracts.col.title"), key="bc-bid-new-title")
                deadline = c2.date_input(ui.t("bids_contracts.col.deadline"), value=None, key="bc-bid-new-deadline")
                bond = c1.text_input(ui.t("bids_contracts.col.bond"), "0", key="bc-bid-new-bond")
                rivals = c2.text_input(ui.t("bids_contracts.col.competitors"), key="bc-bid-new-competitors")
                if st.form_submit_button(ui.t("bids_contracts.bid.create"), key="bc-bid-new-submit") and opp:
                    if ui.act(bids.create_bid, opp, title=title, deadline=deadline, bid_bond=bond, competitors=rivals,
                              success=ui.t("bids_contracts.bid.created")):
                        bids_done()

    bid_names = {int(r["ID"]): f"{r['Title']} · {status_label(r['Status'])} (#{int(r['ID'])})"
                 for _, r in listing.iterrows()}
    bid_id = st.selectbox(ui.t("bids_contracts.bid.select"), [None] + list(bid_names), key="bc-bid",
                          format_func=lambda v: "—" if v is None else bid_names[v])
    if bid_id is not None:
        b = ui.read(bid_detail, bid_id)
        m = st.columns(5)
        m[0].metric(ui.t("bids_contracts.col.status"), status_label(b["status"]))
        m[1].metric(ui.t("bids_contracts.col.deadline"), str(b["deadline"]),
                    None if b["days_left"] is None else ui.t("bids_contracts.days_left", n=b["days_left"]),
                    delta_color="inverse" if b["overdue"] else "normal")
        m[2].metric(ui.t("bids_contracts.col.bond"), money(b["bid_bond"]))
        m[3].metric(ui.t("bids_contracts.col.floor"), money(b["price_floor"]))
        m[4].metric(ui.t("bids_contracts.col.quote"), money(b["quoted_price"]))
        st.caption(f"{b['opportunity']} · {b['competitors']}")
        if b["overdue"]:
            st.error(ui.t("bids_contracts.bid.overdue", date=b["deadline"]))
        if b["status"] == "lost":
            st.caption(ui.t("bids_contracts.bid.lost", reason=b["loss_reason"], winner=b["winner"] or "—"))

        if ui.can("atb.request") and b["status"] in ("draft", "approved"):
            with st.form(f"bc-atb-request-{bid_id}"):
                st.markdown(f"**{ui.t('bids_contracts.atb.request')}**")
                c1, c2 = st.columns(2)
                price = c1.text_input(ui.t("bids_contracts.atb.price"), key=f"bc-atb-price-{bid_id}")
                floor = c2.text_input(ui.t("bids_contracts.atb.floor"), key=f"bc-atb-floor-{bid_id}")
                if st.form_submit_button(ui.t("bids_contracts.atb.request"), key=f"bc-atb-request-submit-{bid_id}"):
                    if ui.act(bids.request_atb, bid_id, proposed_price=price, proposed_floor=floor,
                              success=ui.t("bids_contracts.atb.requested")):
                        bids_done()
        if b["atb_pending"]:
            st.info(ui.t("bids_contracts.atb.pending", price=money(b["atb_pending"]["proposed_price"]),
                         floor=money(b["atb_pending"]["proposed_floor"])))
            if ui.can("atb.decide"):
                choices = {v: decision_label(v) for v in ("approve", "reject")}
                with st.form(f"bc-atb-decide-{bid_id}"):
                    st.markdown(f"**{ui.t('bids_contracts.atb.decide')}**")
                    decision = st.radio(ui.t("bids_contracts.col.decision"), ["approve", "reject"], horizontal=True,
                                        key=f"bc-atb-decision-{bid_id}",
                                        format_func=choices.get)
                    proposed = b["atb_pending"]["proposed_floor"]
                    floor = st.text_input(ui.t("bids_contracts.atb.approved_floor"),
                                          "" if proposed is None else f"{proposed:f}", key=f"bc-atb-approved-{bid_id}")
                    rationale = st.text_area(ui.t("bids_contracts.col.rationale"), key=f"bc-atb-rationale-{bid_id}")
                    if st.form_submit_button(ui.t("bids_contracts.atb.decide"), key=f"bc-atb-decide-submit-{bid_id}"):
                        if ui.act(bids.decide_atb, bid_id, decision,
                                  price_floor=floor if decision == "approve" else None,
                                  rationale=rationale, success=ui.t("bids_contracts.review.done",
                                                                    decision=decision_label(decision))):
                            bids_done()
        if ui.can("bid.submit") and b["status"] == "approved":
            with st.form(f"bc-submit-{bid_id}"):
                st.markdown(f"**{ui.t('bids_contracts.submit')}**")
                c1, c2 = st.columns(2)
                quote = c1.text_input(ui.t("bids_contracts.col.quote"), key=f"bc-submit-quote-{bid_id}")
                on = c2.date_input(ui.t("bids_contracts.submit.on"), value=None, key=f"bc-submit-on-{bid_id}")
                if st.form_submit_button(ui.t("bids_contracts.submit"), key=f"bc-submit-submit-{bid_id}"):
                    if ui.act(bids.submit_bid, bid_id, quoted_price=quote, submitted_on=on,
                              success=ui.t("bids_contracts.submit.done")):
                        bids_done()
        if ui.can("bid.result") and b["status"] == "submitted":
            with st.form(f"bc-result-{bid_id}"):
                st.markdown(f"**{ui.t('bids_contracts.result')}**")
                outcomes = {v: status_label(v) for v in ("won", "lost")}
                won = st.radio(ui.t("bids_contracts.result"), list(outcomes), horizontal=True,
                               key=f"bc-result-won-{bid_id}", format_func=outcomes.get)
                c1, c2, c3 = st.columns(3)
                on = c1.date_input(ui.t("bids_contracts.col.result_on"), value=None, key=f"bc-result-on-{bid_id}")
                reason = c2.text_input(ui.t("bids_contracts.col.loss_reason"), key=f"bc-result-reason-{bid_id}")
                winner = c3.text_input(ui.t("bids_contracts.col.winner"), key=f"bc-result-winner-{bid_id}")
                if st.form_submit_button(ui.t("bids_contracts.result.save"), key=f"bc-result-submit-{bid_id}"):
                    if ui.act(bids.record_result, bid_id, won=won == "won", result_on=on, loss_reason=reason,
                              winner=winner, success=ui.t("bids_contracts.result.done")):
                        bids_done()
        st.markdown(f"**{ui.t('bids_contracts.atb.history')}**")
        table(b["atb"], f"bc-atb-history-{bid_id}")

# -- contracts --------------------------------------------------------------------------------------


def terms_from_editor(df: pd.DataFrame, milestone_ids: dict[str, int]) -> list[dict]:
    """The editor's rows as the contract service reads a plan (fully empty rows are left out)."""
    out = []
    for _, row in df.iterrows():
        cells = {c: clean(row.get(c)) for c in ("Name", "Percent", "Amount", "Trigger", "Milestone", "Due days")}
        if not any(cells.values()):
            continue
        due = cells["Due days"]
        out.append({"name": cells["Name"], "percent": cells["Percent"] or None, "amount": cells["Amount"] or None,
                    "trigger": cells["Trigger"], "milestone_id": milestone_ids.get(cells["Milestone"]),
                    # a whole number typed in a number column reads '30.0'; anything else goes to core as typed
                    "due_days": (due[:-2] if due.endswith(".0") else due) or None})
    return out


def terms_editor(key: str, rows: list[dict], milestones: list[dict]) -> pd.DataFrame:
    head = partial(ui.header, "bids_contracts")
    frame = pd.DataFrame(rows, columns=["Name", "Percent", "Amount", "Trigger", "Milestone", "Due days"])
    return st.data_editor(
        frame, key=key, hide_index=True, width="stretch", num_rows="dynamic",
        column_config={"Name": head("Name"),
                       "Percent": st.column_config.TextColumn(head("Percent"), help=ui.t("bids_contracts.terms.help")),
                       "Amount": st.column_config.TextColumn(head("Amount")),
                       "Trigger": st.column_config.SelectboxColumn(head("Trigger"), options=TRIGGERS,
                                                                   default="signing"),
                       "Milestone": st.column_config.SelectboxColumn(head("Milestone"),
                                                                     options=[m["label"] for m in milestones]),
                       "Due days": st.column_config.NumberColumn(head("Due days"), min_value=0, max_value=365,
                                                                 step=1, default=30)})


def show_total(preview: dict) -> bool:
    """The running total against what the plan must add up to; True when it adds up."""
    if preview["error"]:
        st.warning(preview["error"])
        return False
    share = f" ({preview['share']:.2%})" if preview["share"] is not None else ""
    text = ui.t("bids_contracts.terms.total", total=money(preview["total"]), target=money(preview["target"]),
                share=share)
    if preview["difference"] == 0:
        st.success(text)
        return True
    st.warning(text + " " + ui.t("bids_contracts.terms.off", diff=money(preview["difference"])))
    return False


with tab_contracts:
    f1, f2 = st.columns([1, 3])
    statuses = {"": ui.t("all"), **{v: status_label(v) for v in ("draft", "atc_pending", "signed", "closed")}}
    status = f1.selectbox(ui.t("bids_contracts.col.status"), list(statuses), key="bc-contracts-status",
                          format_func=statuses.get)
    clist = ui.read(contract_list, status=status or None)
    table(clist, "bc-contracts")

    if ui.can("contract.draft"):
        with st.expander(ui.t("bids_contracts.draft")):
            names = deal_label(deals)
            with st.form("bc-draft", clear_on_submit=True):
                opp = st.selectbox(ui.t("bids_contracts.col.opportunity"), list(names), key="bc-draft-opp",
                                   format_func=lambda v: names[v])
                c1, c2 = st.columns(2)
                number = c1.text_input(ui.t("bids_contracts.col.number"), key="bc-draft-number")
                name = c2.text_input(ui.t("bids_contracts.col.name"), key="bc-draft-name")
                amount = c1.text_input(ui.t("bids_contracts.col.amount"), key="bc-draft-amount")
                months = c2.number_input(ui.t("bids_contracts.warranty_months"), 0, 240, 12, key="bc-draft-warranty")
                scope = st.text_area(ui.t("bids_contracts.scope"), key="bc-draft-scope")
                if st.form_submit_button(ui.t("bids_contracts.draft.submit"), key="bc-draft-submit") and opp:
                    new_id = ui.act(contracts.draft_contract, opp, number=number, name=name, amount=amount,
                                    scope=scope, warranty_months=int(months),
                                    success=ui.t("bids_contracts.draft.done", number=number))
                    if new_id:
                        st.session_state["bc-contract-next"] = new_id
                        st.rerun()

    contract_names = {int(r["ID"]): f"{r['Number']} · {r['Name']} · {status_label(r['Status'])}"
                      for _, r in clist.iterrows()}
    if st.session_state.get("bc-contract-next") in contract_names:   # open the contract just drafted
        st.session_state["bc-contract"] = st.session_state.pop("bc-contract-next")
    cid = st.selectbox(ui.t("bids_contracts.contract.select"), [None] + list(contract_names), key="bc-contract",
                       format_func=lambda v: "—" if v is None else contract_names[v])
    if cid is None:
        st.stop()

    c = ui.read(contract_detail, cid)
    # saves carry the version the person first read; "Reload" shows what others changed since
    version = st.session_state.setdefault(f"bc-seen-{cid}", c["version"])

    def fresh(record: int) -> None:
        """Forget what the person read and typed about this contract: the next run reads it afresh."""
        mine = ("bc-seen-", "bc-terms-", "bc-milestone-", "bc-atc-", "bc-sign-", "bc-edit-", "bc-change-")
        for k in [k for k in st.session_state if k.startswith(mine) and k.endswith(f"-{record}")]:
            del st.session_state[k]

    def done() -> None:
        fresh(cid)
        st.rerun()

    st.subheader(f"{c['number']} · {c['name']}")
    st.caption(f"{c['customer']} · {c['opportunity']}")
    st.button(ui.t("bids_contracts.reload"), key=f"bc-reload-{cid}", on_click=fresh, args=(cid,))
    m = st.columns(5)
    m[0].metric(ui.t("bids_contracts.col.amount"), money(c["amount"]))
    m[1].metric(ui.t("bids_contracts.col.status"), status_label(c["status"]))
    m[2].metric(ui.t("bids_contracts.col.legal"), decision_label(c["atc_state"]["legal"]))
    m[3].metric(ui.t("bids_contracts.col.finance"), decision_label(c["atc_state"]["finance"]))
    m[4].metric(ui.t("bids_contracts.col.signed_on"), str(c["signed_on"] or "—"))
    editable = c["status"] in EDITABLE_CONTRACT

    t_terms, t_atc, t_changes, t_timeline = st.tabs([
        ui.t("bids_contracts.tab.terms"), ui.t("bids_contracts.tab.atc"), ui.t("bids_contracts.tab.changes"),
        ui.t("bids_contracts.tab.timeline")])

    with t_terms:
        ms_ids = {ms["label"]: ms["id"] for ms in c["milestones"]}
        if editable and ui.can("contract.terms"):
            key, seen_key = f"bc-terms-{cid}", f"bc-terms-seen-{cid}"
            if seen_key not in st.session_state:   # the plan and the contract version the person started from
                st.session_state[seen_key] = (c["terms_input"], c["version"])
            rows, seen_version = st.session_state[seen_key]
            edited = terms_editor(key, rows, c["milestones"])
            plan = terms_from_editor(edited, ms_ids)
            show_total(ui.read(terms_preview, cid, plan))
            b1, b2 = st.columns([1, 5])
            if b1.button(ui.t("bids_contracts.terms.save"), key=f"bc-terms-save-{cid}"):
                if ui.act(contracts.set_payment_terms, cid, plan, version=seen_version, complete=True,
                          success=ui.t("bids_contracts.terms.saved")):
                    done()
            b2.button(ui.t("bids_contracts.reload"), key=f"bc-terms-reload-{cid}", on_click=forget,
                      args=(key, seen_key))
        else:
            table(c["terms"], f"bc-terms-view-{cid}")
            st.caption(ui.t("bids_contracts.terms.total", total=money(c["terms_total"]), target=money(c["amount"]),
                            share=""))
        if editable and ui.can("milestone.plan"):
            with st.form(f"bc-milestone-{cid}", clear_on_submit=True):
                st.markdown(f"**{ui.t('bids_contracts.milestone.plan')}**")
                c1, c2 = st.columns(2)
                ms_name = c1.text_input(ui.t("bids_contracts.col.name"), key=f"bc-milestone-name-{cid}")
                planned = c2.date_input(ui.t("bids_contracts.milestone.planned_on"), value=None,
                                        key=f"bc-milestone-on-{cid}")
                if st.form_submit_button(ui.t("bids_contracts.milestone.plan"), key=f"bc-milestone-submit-{cid}"):
                    if ui.act(delivery.plan_milestone, cid, name=ms_name, planned_on=planned):
                        done()

    with t_atc:
        if c["status"] == "draft" and ui.can("atc.request"):
            if st.button(ui.t("bids_contracts.atc.request"), key=f"bc-atc-request-{cid}"):
                if ui.act(contracts.request_atc, cid, success=ui.t("bids_contracts.atc.requested")):
                    done()
        if c["status"] == "atc_pending":
            if c["atc_state"]["legal"] == "pending" and ui.can("atc.review_legal"):
                review_form(f"bc-atc-legal-{cid}", contracts.review_atc_legal, cid, ui.t("bids_contracts.atc.legal"),
                            done)
            if c["atc_state"]["finance"] == "pending" and ui.can("atc.review_finance"):
                review_form(f"bc-atc-finance-{cid}", contracts.review_atc_finance, cid,
                            ui.t("bids_contracts.atc.finance"), done)
            if ui.can("contract.sign"):
                with st.form(f"bc-sign-{cid}"):
                    st.markdown(f"**{ui.t('bids_contracts.sign')}**")
                    c1, c2 = st.columns(2)
                    signed_on = c1.date_input(ui.t("bids_contracts.col.signed_on"), value=None,
                                              key=f"bc-sign-on-{cid}")
                    budget = c2.text_input(ui.t("bids_contracts.sign.budget_cost"), key=f"bc-sign-budget-{cid}")
                    if st.form_submit_button(ui.t("bids_contracts.sign"), key=f"bc-sign-submit-{cid}"):
                        if ui.act(contracts.sign_contract, cid, signed_on=signed_on, budget_cost=budget or None,
                                  success=ui.t("bids_contracts.sign.done", number=c["number"])):
                            done()
        if editable and ui.can("contract.draft"):
            with st.form(f"bc-edit-{cid}"):
                st.markdown(f"**{ui.t('bids_contracts.edit')}**")
                c1, c2 = st.columns(2)
                name = c1.text_input(ui.t("bids_contracts.col.name"), c["name"], key=f"bc-edit-name-{cid}")
                amount = c2.text_input(ui.t("bids_contracts.col.amount"), f"{c['amount']:f}",
                                       key=f"bc-edit-amount-{cid}")
                months = c1.number_input(ui.t("bids_contracts.warranty_months"), 0, 240, c["warranty_months"],
                                         key=f"bc-edit-warranty-{cid}")
                scope = st.text_area(ui.t("bids_contracts.scope"), c["scope"], key=f"bc-edit-scope-{cid}")
                if st.form_submit_button(ui.t("save"), key=f"bc-edit-submit-{cid}"):
                    if ui.act(contracts.update_contract, cid, version=version, name=name, amount=amount,
                              scope=scope, warranty_months=int(months)):
                        done()
        else:
            st.caption(c["scope"])
        st.markdown(f"**{ui.t('bids_contracts.atc.history')}**")
        table(c["atc"], f"bc-atc-history-{cid}")

    with t_changes:
        table(c["changes"], f"bc-changes-{cid}")
        pending = c["pending_change"]
        if pending:
            st.info(ui.t("bids_contracts.change.pending", number=pending["number"],
                         amount=money(pending["new_amount"]),
                         legal=decision_label(pending["review"]["legal"]),
                         finance=decision_label(pending["review"]["finance"])))
            table(pending["terms"], f"bc-change-terms-{pending['id']}")
            if pending["review"]["legal"] == "pending" and ui.can("change.review_legal"):
                review_form(f"bc-change-legal-{pending['id']}", contracts.review_change_legal, pending["id"],
                            ui.t("bids_contracts.change.legal"), done)
            if pending["review"]["finance"] == "pending" and ui.can("change.review_finance"):
                review_form(f"bc-change-finance-{pending['id']}", contracts.review_change_finance, pending["id"],
                            ui.t("bids_contracts.change.finance"), done)
        elif c["status"] == "signed" and ui.can("change.request"):
            st.markdown(f"**{ui.t('bids_contracts.change.request')}**")
            c1, c2 = st.columns(2)
            number = c1.text_input(ui.t("bids_contracts.col.number"), key=f"bc-change-number-{cid}")
            new_amount = c2.text_input(ui.t("bids_contracts.col.new_amount"), f"{c['amount']:f}",
                                       key=f"bc-change-amount-{cid}")
            new_cost = c1.text_input(ui.t("bids_contracts.change.new_cost"), key=f"bc-change-cost-{cid}")
            reason = c2.text_input(ui.t("bids_contracts.col.reason"), key=f"bc-change-reason-{cid}")
            new_scope = st.text_area(ui.t("bids_contracts.col.new_scope"), c["scope"], key=f"bc-change-scope-{cid}")
            replace = st.checkbox(ui.t("bids_contracts.change.replace_terms", released=money(c["released_total"])),
                                  key=f"bc-change-replace-{cid}")
            plan = None
            if replace:
                edited = terms_editor(f"bc-change-terms-{cid}", c["unreleased_input"], c["milestones"])
                plan = terms_from_editor(edited, ms_ids)
                show_total(ui.read(terms_preview, cid, plan, amount=new_amount, released=c["released_total"]))
            if st.button(ui.t("bids_contracts.change.submit"), key=f"bc-change-submit-{cid}"):
                if ui.act(contracts.request_change, cid, number=number, reason=reason, new_amount=new_amount,
                          new_scope=new_scope, new_cost=new_cost or None, new_terms=plan,
                          success=ui.t("bids_contracts.change.requested", number=number)):
                    done()

    with t_timeline:
        events = ui.read(contract_timeline, cid)
        kinds = {"drafted": ui.t("bids_contracts.kind.drafted"), "stage": ui.t("bids_contracts.kind.stage"),
                 "gate.request": ui.t("bids_contracts.kind.gate_request"),
                 "gate.decision": ui.t("bids_contracts.kind.gate_decision"),
                 "acceptance": ui.t("bids_contracts.kind.acceptance"), "term": ui.t("bids_contracts.kind.term"),
                 "invoice": ui.t("bids_contracts.kind.invoice"), "payment": ui.t("bids_contracts.kind.payment")}
        shown = events.assign(Kind=events["Kind"].map(lambda k: kinds.get(k, k)))
        table(shown, f"bc-timeline-{cid}")
        if not shown.empty:
            ui.downloads(shown, f"timeline-{c['number']}", key=f"bc-timeline-dl-{cid}")
