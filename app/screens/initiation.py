"""Initiation board (立项看板): open opportunities as columns by stage (app/views/initiation_board.py), and one
opportunity in full (app/views/initiation_opportunity.py), opened by its address `?opportunity=<id>` from a card,
the picker, the holds table, My work or a pasted link."""
from __future__ import annotations

import streamlit as st

from app import records, ui
from app.views import initiation_board, initiation_opportunity
from app.views.initiation_board import stage_label
from core.queries.pipeline import filter_options, opportunity_options

who = ui.guard("opportunity.view")
st.title(ui.t("page.initiation"))
ui.flash()

opts = ui.read(filter_options)
ar_names = {a["login"]: a["name"] for a in opts["ars"]}
everyone = ui.t("all")   # labels are looked up now: a widget's format_func must not depend on the session
f1, f2, f3, f4 = st.columns([1, 1, 1, 2])
ar = f1.selectbox(ui.t("initiation.filter.ar"), [""] + list(ar_names), key="initiation-filter-ar",
                  format_func=lambda v: ar_names.get(v, v) or everyone)
region = f2.selectbox(ui.t("initiation.filter.region"), [""] + opts["regions"], key="initiation-filter-region",
                      format_func=lambda v: v or everyone)
industry = f3.selectbox(ui.t("initiation.filter.industry"), [""] + opts["industries"],
                        key="initiation-filter-industry", format_func=lambda v: v or everyone)
filters = dict(ar_login=ar or None, region=region or None, industry=industry or None)

# the picker lists the open deals the filters match, and the one the address names whatever its stage
options = ui.read(opportunity_options, also=records.opened("opportunity"), **filters)
names = {o["id"]: " · ".join(dict.fromkeys([o["name"], o["customer"], stage_label(o["stage"])]))
         for o in options}   # the customer only when the name does not already say it
opp_id = records.picker("opportunity", names, label=ui.t("initiation.select"), key="initiation-opp", where=f4)

if opp_id is None:
    initiation_board.show(filters)
else:
    initiation_opportunity.show(opp_id)
    st.divider()
    with st.expander(ui.t("initiation.board")):
        initiation_board.show(filters)
