"""A contract's payment terms: the plan editor with its running total (while core lets the terms be set), the
plan as a table otherwise, and planning a milestone the terms may hang on."""
from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from app import fmt, forms, tables, ui
from app.views.bids_common import PREFIX, day_input, offered
from core.enums import Trigger
from core.queries.contracts import terms_preview
from core.services import contracts, delivery

COLUMNS = ["Name", "Percent", "Amount", "Trigger", "Milestone", "Due days"]


def clean(value) -> str:
    """An editor cell as text: empty cells (None, NaN) become ''."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value).strip()


def from_editor(df: pd.DataFrame, milestone_ids: dict[str, int]) -> list[dict]:
    """The editor's rows as the contract service reads a plan (fully empty rows are left out)."""
    out = []
    for _, row in df.iterrows():
        cells = {c: clean(row.get(c)) for c in COLUMNS}
        if not any(cells.values()):
            continue
        due = cells["Due days"]
        out.append({"name": cells["Name"], "percent": cells["Percent"] or None, "amount": cells["Amount"] or None,
                    "trigger": cells["Trigger"], "milestone_id": milestone_ids.get(cells["Milestone"]),
                    # a whole number typed in a number column reads '30.0'; anything else goes to core as typed
                    "due_days": (due[:-2] if due.endswith(".0") else due) or None})
    return out


def editor(key: str, rows: list[dict], milestones: list[dict]) -> pd.DataFrame:
    head = partial(ui.header, PREFIX)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return st.data_editor(
        frame, placeholder=fmt.EMPTY, key=key, hide_index=True, width="stretch", num_rows="dynamic",
        column_config={"Name": head("Name"),
                       "Percent": st.column_config.TextColumn(head("Percent"), help=ui.t("bids_contracts.terms.help")),
                       "Amount": st.column_config.TextColumn(head("Amount")),
                       "Trigger": st.column_config.SelectboxColumn(head("Trigger"), options=[t.value for t in Trigger],
                                                                   default=Trigger.SIGNING.value,
                                                                   format_func=tables.value),
                       "Milestone": st.column_config.SelectboxColumn(head("Milestone"),
                                                                     options=[m["label"] for m in milestones]),
                       "Due days": st.column_config.NumberColumn(head("Due days"), min_value=0, max_value=365,
                                                                 step=1, default=30)})


def show_total(preview: dict) -> bool:
    """The running total against what the plan must add up to; True when it adds up."""
    if preview["error"]:
        st.warning(ui.words(preview["error"]))
        return False
    share = f" ({fmt.pct(preview['share'])})" if preview["share"] is not None else ""
    text = ui.t("bids_contracts.terms.total", total=fmt.money(preview["total"]), target=fmt.money(preview["target"]),
                share=share)
    if preview["difference"] == 0:
        st.success(text)
        return True
    st.warning(text + " " + ui.t("bids_contracts.terms.off", diff=fmt.money(preview["difference"])))
    return False


def forget(*keys: str) -> None:
    for k in keys:
        st.session_state.pop(k, None)


def _plan(c: dict, offers: dict, done) -> None:
    cid = c["id"]
    key, seen_key = f"bc-terms-{cid}", f"bc-terms-seen-{cid}"
    if not offered(offers, "contract.terms", key, ui.t("bids_contracts.terms.save")):
        tables.table(c["terms"], PREFIX, key=f"bc-terms-view-{cid}", money=("Amount",))
        st.caption(ui.t("bids_contracts.terms.total", total=fmt.money(c["terms_total"]),
                        target=fmt.money(c["amount"]), share=""))
        return
    if seen_key not in st.session_state:   # the plan and the contract version the person started from
        st.session_state[seen_key] = (c["terms_input"], c["version"])
    rows, seen_version = st.session_state[seen_key]
    edited = editor(key, rows, c["milestones"])
    plan = from_editor(edited, {ms["label"]: ms["id"] for ms in c["milestones"]})
    show_total(ui.read(terms_preview, cid, plan))
    b1, b2 = st.columns([1, 5])
    if b1.button(ui.t("bids_contracts.terms.save"), key=f"bc-terms-save-{cid}"):
        if ui.act(contracts.set_payment_terms, cid, plan, version=seen_version, complete=True, where=key,
                  success=ui.t("bids_contracts.terms.saved")):
            done()
    b2.button(ui.t("bids_contracts.reload"), key=f"bc-terms-reload-{cid}", on_click=forget, args=(key, seen_key))
    ui.flash(key)


def _milestone(cid: int, offers: dict, done) -> None:
    name, title = f"bc-milestone-{cid}", ui.t("bids_contracts.milestone.plan")
    if not offered(offers, "milestone.plan", name, title):
        return
    labels = {"name": ui.t("bids_contracts.col.name"), "planned_on": ui.t("bids_contracts.milestone.planned_on")}
    with forms.once_form(name, title) as f:
        c1, c2 = st.columns(2)
        ms_name = c1.text_input(labels["name"], key=f.key("name"), max_chars=ui.limit("name"))
        planned = day_input(c2, labels["planned_on"], f.key("on"))
        if st.form_submit_button(title, key=f.key("submit")):
            if f.submit(delivery.plan_milestone, cid, name=ms_name, planned_on=planned, labels=labels):
                done()


def show(c: dict, offers: dict, done) -> None:
    _plan(c, offers, done)
    _milestone(c["id"], offers, done)
