"""Capture a lead: one form with a one-time key (a double click captures once), inputs limited to what core
takes, every refused field shown at once by its label."""
from __future__ import annotations

from typing import Any

import streamlit as st

from app import forms, records, ui
from app.views.leads_common import label_of, owner_label
from core.services import leads

TEXTS = ("company", "contact", "phone", "email", "region", "industry", "budget")


def labels() -> dict[str, str]:
    return {f: ui.t(f"leads.col.{f}") for f in (*leads.CAPTURE_FIELDS, "owner")}


def show(opts: dict) -> None:
    names = opts["owners"]
    recent = "leads-capture" in (st.session_state.get("flash") or {})
    with st.expander(ui.t("leads.capture.title"), icon=":material/add:", expanded=recent):
        with forms.once_form("leads-capture") as f:
            c1, c2, c3 = st.columns(3)
            cols = {"company": c1, "contact": c2, "phone": c3, "email": c1, "region": c3, "industry": c1,
                    "budget": c2}
            values: dict[str, Any] = {name: cols[name].text_input(ui.t(f"leads.col.{name}"), key=f.key(name),
                                                  max_chars=ui.limit(name)) for name in TEXTS}
            values["source"] = c2.selectbox(ui.t("leads.col.source"), opts["sources"], key=f.key("source"),
                                            format_func=label_of("leads.source"))
            values["timeline_months"] = c3.number_input(ui.t("leads.col.timeline_months"), min_value=0,
                                                        max_value=120, step=1, value=None, key=f.key("timeline"))
            values["authority"] = c1.selectbox(ui.t("leads.col.authority"), opts["authorities"],
                                               index=opts["authorities"].index("unknown"), key=f.key("authority"),
                                               format_func=label_of("leads.authority"))
            values["need"] = c2.selectbox(ui.t("leads.col.need"), opts["needs"], index=opts["needs"].index("vague"),
                                          key=f.key("need"), format_func=label_of("leads.need"))
            own = owner_label(names)
            owner = c3.selectbox(ui.t("leads.col.owner"), ["", *names], key=f.key("owner"),
                                 format_func=lambda v: own(v) if v else ui.t("leads.capture.auto_owner"))
            values["need_text"] = st.text_area(ui.t("leads.col.need_text"), key=f.key("need_text"),
                                               max_chars=ui.limit("need_text"))
            allow_dup = st.checkbox(ui.t("leads.capture.allow_duplicate"), key=f.key("allow_dup"))
            if st.form_submit_button(ui.t("leads.capture.submit"), key=f.key("submit")):
                new_id = f.submit(leads.capture_lead, **values, owner=owner or None, allow_duplicate=allow_dup,
                                  labels=labels(), success=ui.t("leads.capture.saved"))
                if new_id:
                    st.session_state["leads-captured"] = new_id
                    st.rerun()
        done = st.session_state.get("leads-captured")
        if done:
            records.link("lead", done, ui.t("leads.capture.done", id=done))
