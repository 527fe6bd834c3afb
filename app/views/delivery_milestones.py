"""Delivery acceptance, Milestones tab: the contract's milestones (edited in place where core offers it, a row
opens the milestone), its payment terms and the form to plan a milestone."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import fmt, forms, tables, ui
from app.views.delivery_common import MAX_DAY, MIN_DAY, readable, forget
from core.queries import delivery as q
from core.services import delivery as svc

EDITS = {"Forecast on": "milestone.forecast", "Milestone": "milestone.plan", "Planned on": "milestone.plan"}


def draw(cid: int, info, contracts) -> None:
    st.subheader(ui.t("delivery.milestones"))
    editor = f"delivery-ms-editor-{cid}"
    before = ui.seen(f"delivery-seen-ms-{cid}", editor, lambda: readable(ui.read(q.milestones, cid)))
    offers = ui.read(q.milestone_offers, cid) if not before.empty else {}
    editable = [col for col, action in EDITS.items()
                if any(o.get(action) and o[action].allowed for o in offers.values())]
    if editable:
        visible = [c for c in before.columns if not tables.internal(c)]
        cfg = tables.config(before, "delivery", extra={
            "Forecast on": st.column_config.DateColumn(format="YYYY-MM-DD", min_value=MIN_DAY, max_value=MAX_DAY),
            "Planned on": st.column_config.DateColumn(format="YYYY-MM-DD", required=True,
                                                      min_value=MIN_DAY, max_value=MAX_DAY),
            "Milestone": st.column_config.TextColumn(required=True, max_chars=ui.limit("name"))})
        edited = st.data_editor(before, key=editor, hide_index=True, column_config=cfg, column_order=visible,
                                disabled=[c for c in before.columns if c not in editable], width="stretch",
                                placeholder=fmt.EMPTY)

        def save(ctx, mid, version, changes):
            changes = {k: (None if pd.isna(v) else v) for k, v in changes.items()}
            if set(changes) == {"Forecast on"}:
                return svc.forecast_milestone(ctx, mid, forecast_on=changes["Forecast on"], version=version)
            return svc.update_milestone(ctx, mid, version=version, name=changes.get("Milestone"),
                                        planned_on=changes.get("Planned on"), forecast_on=changes.get("Forecast on"))

        b1, b2 = st.columns(2)
        if b1.button(ui.t("save"), key="delivery-ms-save"):
            if ui.save_edits(before, edited, save, where="delivery-ms-table"):
                forget()
                st.rerun()
        if b2.button(ui.t("delivery.reload"), key="delivery-ms-reload"):
            forget()
            st.rerun()
        ui.flash("delivery-ms-table")
        st.caption(ui.t("delivery.ms.open_hint"))
    else:
        tables.table(before, "delivery", key=f"delivery-ms-table-{cid}", opens="milestone")
    if not before.empty:
        people = tables.shown(before)[[c for c in before.columns if not tables.internal(c)]]
        ui.downloads(people.rename(columns=lambda c: ui.header("delivery", c)), f"milestones-{info['Contract']}",
                     key="delivery-ms-dl")

    st.subheader(ui.t("delivery.terms"))
    tables.table(ui.read(q.payment_terms, cid), "delivery", key=f"delivery-terms-{cid}", money=("Amount", "Invoiced"))
    plan_form(cid)


def plan_form(cid: int) -> None:
    offer = ui.read(q.contract_offers, cid)["milestone.plan"]
    if not ui.can("milestone.plan"):
        return
    if not offer.allowed:
        st.caption(ui.words(offer.reason))
        return
    labels = {"name": ui.t("delivery.plan.name"), "planned_on": ui.t("delivery.plan.planned_on"),
              "forecast_on": ui.t("delivery.plan.forecast_on")}
    with forms.once_form("delivery-plan", ui.t("delivery.plan")) as f:
        name = st.text_input(labels["name"], key=f.key("name"), max_chars=ui.limit("name"))
        p1, p2 = st.columns(2)
        planned = p1.date_input(labels["planned_on"], value=None, key=f.key("planned"),
                                min_value=MIN_DAY, max_value=MAX_DAY)
        forecast = p2.date_input(labels["forecast_on"], value=None, key=f.key("forecast"),
                                 min_value=MIN_DAY, max_value=MAX_DAY)
        if st.form_submit_button(ui.t("delivery.plan.submit")):
            if f.submit(svc.plan_milestone, cid, name=name, planned_on=planned, forecast_on=forecast, labels=labels,
                        success=ui.t("delivery.plan.done", name=name)):
                forget()
                st.rerun()
