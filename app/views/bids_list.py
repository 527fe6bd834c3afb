"""The bids tab's list: open bids with their deadline countdown (a clicked row opens the bid), edited in place by
those who may edit bids, and the form for a new bid (no opportunity preselected)."""
from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from app import fmt, forms, tables, ui
from app.views.bids_common import PREFIX, choose_first, day_input, deal_names
from core.queries.contracts import bid_list
from core.services import bids

NEW = "bc-bid-new"
MONEY = ("Bond", "Price floor", "Quote")
EDITABLE_COLUMNS = {"Title": "title", "Deadline": "deadline", "Competitors": "competitors"}


def forget(*keys: str) -> None:
    """Drop an editor's snapshot and its edits, so the next run reads the records afresh."""
    for k in keys:
        st.session_state.pop(k, None)


def bids_done() -> None:
    """After a bid changed: both bid tables are read afresh (their versions moved on)."""
    forget("bc-bids-0", "bc-bids-seen-0", "bc-bids-1", "bc-bids-seen-1")
    st.rerun()


def _save_bid(ctx, bid_id, version, changes):
    return bids.update_bid(ctx, bid_id, version=version,
                           **{EDITABLE_COLUMNS[c]: v for c, v in changes.items() if c in EDITABLE_COLUMNS})


def _editor(listing: pd.DataFrame, show_all: bool) -> None:
    """The bids as an edit table carrying the versions the person first saw (a stale save names who changed it)."""
    editor_key, seen_key = f"bc-bids-{int(show_all)}", f"bc-bids-seen-{int(show_all)}"
    if seen_key not in st.session_state:
        st.session_state[seen_key] = listing.assign(Status=listing["Status"].map(tables.value))   # read only
    seen = st.session_state[seen_key]
    head = partial(ui.header, PREFIX)
    edited = st.data_editor(
        seen, placeholder=fmt.EMPTY, key=editor_key, hide_index=True, width="stretch",
        column_order=[c for c in seen.columns if not tables.internal(c)],
        disabled=[c for c in seen.columns if c not in EDITABLE_COLUMNS],
        column_config={**ui.column_labels(seen, PREFIX),
                       "Deadline": st.column_config.DateColumn(head("Deadline"), format="YYYY-MM-DD"),
                       "Overdue": st.column_config.CheckboxColumn("⚠ " + head("Overdue")),
                       **{c: st.column_config.NumberColumn(head(c), format="accounting") for c in MONEY}})
    b1, b2 = st.columns([1, 5])
    if b1.button(ui.t("save"), key="bc-bids-save"):
        changed = ui.changed_rows(seen, edited)
        if ui.save_edits(seen, edited, _save_bid, where="bc-bids-table") == len(changed):
            bids_done()
    b2.button(ui.t("bids_contracts.reload"), key="bc-bids-reload", on_click=forget, args=(editor_key, seen_key))
    ui.flash("bc-bids-table")


def _new_bid(deals: list[dict]) -> None:
    names = deal_names(deals)
    labels = {"opp_id": ui.t("bids_contracts.col.opportunity"), "title": ui.t("bids_contracts.col.title"),
              "deadline": ui.t("bids_contracts.col.deadline"), "bid_bond": ui.t("bids_contracts.col.bond"),
              "competitors": ui.t("bids_contracts.col.competitors")}
    with st.expander(ui.t("bids_contracts.bid.new")):
        with forms.once_form(NEW) as f:
            opp = st.selectbox(labels["opp_id"], list(names), index=None, key=f.key("opp"),
                               placeholder=ui.t("record.choose"), format_func=lambda v: names.get(v, str(v)))
            c1, c2 = st.columns(2)
            title = c1.text_input(labels["title"], key=f.key("title"), max_chars=ui.limit("title"))
            deadline = day_input(c2, labels["deadline"], f.key("deadline"))
            bond = c1.text_input(labels["bid_bond"], "0", key=f.key("bond"))
            rivals = c2.text_input(labels["competitors"], key=f.key("competitors"), max_chars=ui.limit("competitors"))
            if st.form_submit_button(ui.t("bids_contracts.bid.create"), key=f.key("submit")):
                if opp is None:
                    choose_first(NEW, labels["opp_id"])
                elif f.submit(bids.create_bid, opp, title=title, deadline=deadline, bid_bond=bond,
                              competitors=rivals, success=ui.t("bids_contracts.bid.created"), labels=labels):
                    bids_done()


def show(deals: list[dict]) -> pd.DataFrame:
    """The list (and the new-bid form); returns the bids listed."""
    show_all = st.toggle(ui.t("bids_contracts.bids.all"), key="bc-bids-all")
    listing = ui.read(bid_list, open_only=not show_all)
    late = listing[listing["Overdue"]]
    if not late.empty:
        st.warning(ui.t("bids_contracts.bids.overdue", n=len(late), titles=", ".join(late["Title"].head(5))))
    # a clicked row opens the bid; those who may edit bids switch the list into an edit table
    editing = ui.can("bid.update") and not listing.empty and st.toggle(ui.t("bids_contracts.bids.edit"),
                                                                        key="bc-bids-edit")
    if editing:
        _editor(listing, show_all)
    else:
        tables.table(listing, PREFIX, key="bc-bids-view", opens="bid", money=MONEY)
    if ui.can("bid.create"):
        _new_bid(deals)
    return listing
