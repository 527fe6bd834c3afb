"""The initiation board (立项看板) that fits a screen: one column per open stage with its count and amount, the top
few cards of each (name that opens the opportunity, customer, amount, owner by name, days in stage, badges), and
"show more" per column; the holds and their review dates below."""
from __future__ import annotations

import streamlit as st

from app import fmt, records, tables, ui
from core.queries.pipeline import board, holds

STEP = 5   # cards per column shown at first, and added by each "show more"


def stage_label(stage: str) -> str:
    return tables.value(stage)


def _more(stage: str) -> None:
    key = f"initiation-shown-{stage}"
    st.session_state[key] = st.session_state.get(key, STEP) + STEP


def _card(card: dict) -> None:
    with st.container(border=True):
        st.button(card["name"], key=f"initiation-card-{card['id']}", type="tertiary",
                  on_click=records.go, args=("opportunity", card["id"]), help=ui.t("initiation.card.open"))
        who = [card["customer"]] if card["customer"] != card["name"] else []
        st.caption(" · ".join(who + [fmt.money(card["amount"]), card["ar"] or fmt.EMPTY]))
        badges = [ui.t("initiation.card.days", n=fmt.number(card["days_in_stage"]))]
        if card["ati_pending"]:
            badges.append(f":orange[{ui.t('initiation.card.ati_pending')}]")
        if card["hold_overdue"]:
            badges.append(f":red[⚠ {ui.t('initiation.card.hold_overdue', date=fmt.day(card['hold_review_on']))}]")
        elif card["hold_review_on"]:
            badges.append(ui.t("initiation.card.review_on", date=fmt.day(card["hold_review_on"])))
        st.caption(" · ".join(badges))


def show(filters: dict) -> None:
    """The board for the filters chosen, then the holds."""
    shown = {k[len("initiation-shown-"):]: v for k, v in st.session_state.items()
             if isinstance(k, str) and k.startswith("initiation-shown-")}
    columns = ui.read(board, limit=max([STEP, *shown.values()]), **filters)
    for col, (stage, column) in zip(st.columns(len(columns)), columns.items()):
        with col:
            st.markdown(f"**{stage_label(stage)}** ({column['count']})")
            st.caption(fmt.money(column["amount"]))
            limit = shown.get(stage, STEP)
            for card in column["cards"][:limit]:
                _card(card)
            rest = column["count"] - min(limit, len(column["cards"]))
            if rest > 0:
                st.button(ui.t("initiation.more", n=min(rest, STEP), total=rest), key=f"initiation-more-{stage}",
                          on_click=_more, args=(stage,), type="tertiary")
    with st.expander(ui.t("initiation.holds")):
        tables.table(ui.read(holds), "initiation", key="initiation-holds", opens="opportunity", money=("Amount",))
