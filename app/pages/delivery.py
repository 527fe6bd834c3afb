"""Delivery acceptance (交付验收): a signed contract's milestones (planned and forecast dates), acceptance
certificates (初验/终验; a final acceptance releases the milestone's payment terms), cost entries and the
four calculations (四算). Reads through core.queries.delivery, writes through core.services.delivery."""
from datetime import date

import pandas as pd
import streamlit as st

from app import ui
from core import uploads
from core.errors import LtcError
from core.queries import delivery as q
from core.services import delivery as svc

who = ui.guard("delivery.view")
ui.flash()
st.title(ui.t("page.delivery"))




def forget() -> None:
    """Drop the tables kept as the person saw them (after a change they are read again)."""
    for k in [k for k in st.session_state if str(k).startswith("delivery-seen-") or
              str(k).startswith("delivery-ms-editor-")]:
        del st.session_state[k]



# -- which contract --------------------------------------------------------------------------------
c1, c2 = st.columns(2)
mine = False
if who.roles & {"fr", "ar"}:
    mine = c1.toggle(ui.t("delivery.mine"), value=q.mine_by_default(who.roles), key="delivery-mine")
closed = c2.toggle(ui.t("delivery.include_closed"), value=False, key="delivery-closed")
contracts = ui.read(q.contracts, mine=mine, include_closed=closed)
if contracts.empty:
    st.info(ui.t("delivery.no_contracts"))
    st.stop()
by_id = contracts.set_index("ID")
choices = {i: f"{r['Contract']} · {r['Customer']} · {r['Name']}" for i, r in by_id.iterrows()}
cid = st.selectbox(ui.t("delivery.contract"), list(choices), key="delivery-contract", format_func=choices.get)
cid = int(cid)
info = by_id.loc[cid]
signed = info["Status"] == "signed"
st.caption(ui.t("delivery.summary", customer=info["Customer"], amount=f"{info['Amount']:,.2f}",
                signed_on=info["Signed on"], fr=info["FR"] or "-", ar=info["AR"] or "-",
                warranty=info["Warranty ends"] if pd.notna(info["Warranty ends"]) else "-", status=info["Status"]))


# -- milestones ------------------------------------------------------------------------------------
def milestones_tab():
    st.subheader(ui.t("delivery.milestones"))
    before = ui.seen(f"delivery-seen-ms-{cid}", f"delivery-ms-editor-{cid}", lambda: ui.read(q.milestones, cid))
    editable = [c for c, ok in (("Forecast on", ui.can("milestone.forecast")), ("Milestone", ui.can("milestone.plan")),
                                ("Planned on", ui.can("milestone.plan"))) if ok] if signed else []
    if before.empty:
        st.info(ui.t("nothing"))
    elif editable:
        cfg = ui.column_labels(before, "delivery", **{"Forecast on": st.column_config.DateColumn(format="YYYY-MM-DD"),
                                 "Planned on": st.column_config.DateColumn(format="YYYY-MM-DD", required=True),
                                 "Milestone": st.column_config.TextColumn(required=True, max_chars=200)})
        edited = st.data_editor(before, key=f"delivery-ms-editor-{cid}", hide_index=True, column_config=cfg,
                                disabled=[c for c in before.columns if c not in editable], width="stretch")

        def save(ctx, mid, version, changes):
            changes = {k: (None if pd.isna(v) else v) for k, v in changes.items()}
            if set(changes) == {"Forecast on"}:
                return svc.forecast_milestone(ctx, mid, forecast_on=changes["Forecast on"], version=version)
            return svc.update_milestone(ctx, mid, version=version, name=changes.get("Milestone"),
                                        planned_on=changes.get("Planned on"), forecast_on=changes.get("Forecast on"))

        b1, b2 = st.columns(2)
        if b1.button(ui.t("save"), key="delivery-ms-save"):
            if ui.save_edits(before, edited, save):
                forget()
                st.rerun()
        if b2.button(ui.t("delivery.reload"), key="delivery-ms-reload"):
            forget()
            st.rerun()
    else:
        st.dataframe(before, hide_index=True, column_config=ui.column_labels(before, "delivery"), width="stretch")
    if not before.empty:
        ui.downloads(before, f"milestones-{info['Contract']}", key="delivery-ms-dl")

    st.subheader(ui.t("delivery.terms"))
    terms = ui.read(q.payment_terms, cid)
    st.dataframe(terms, hide_index=True, column_config=ui.column_labels(terms, "delivery"), width="stretch")

    if signed and ui.can("milestone.plan"):
        with st.form("delivery-plan", clear_on_submit=True):
            st.markdown(f"**{ui.t('delivery.plan')}**")
            name = st.text_input(ui.t("delivery.plan.name"), key="delivery-plan-name", max_chars=200)
            p1, p2 = st.columns(2)
            planned = p1.date_input(ui.t("delivery.plan.planned_on"), value=None, key="delivery-plan-planned")
            forecast = p2.date_input(ui.t("delivery.plan.forecast_on"), value=None, key="delivery-plan-forecast")
            if st.form_submit_button(ui.t("delivery.plan.submit")):
                if ui.act(svc.plan_milestone, cid, name=name, planned_on=planned, forecast_on=forecast,
                          success=ui.t("delivery.plan.done", name=name)):
                    forget()
                    st.rerun()


# -- acceptance ------------------------------------------------------------------------------------
def acceptance_tab():
    st.subheader(ui.t("delivery.acceptance"))
    ms = ui.read(q.milestones, cid)
    open_ms = ms[ms["Status"] != "accepted"]
    if not signed or not ui.can("milestone.accept"):
        st.caption(ui.t("delivery.acceptance.fr_only"))
    elif open_ms.empty:
        st.info(ui.t("delivery.acceptance.all_done"))
    else:
        names = dict(zip(open_ms["ID"], open_ms["Milestone"]))
        with st.form("delivery-accept"):
            mid = st.selectbox(ui.t("delivery.accept.milestone"), list(names), key="delivery-accept-ms",
                               format_func=names.get)
            a1, a2 = st.columns(2)
            kinds = {"preliminary": ui.t("delivery.kind.preliminary"), "final": ui.t("delivery.kind.final")}
            kind = a1.radio(ui.t("delivery.accept.kind"), list(kinds), key="delivery-accept-kind", horizontal=True,
                            format_func=kinds.get)
            on = a2.date_input(ui.t("delivery.accept.on"), value=date.today(), max_value=date.today(),
                               key="delivery-accept-on")
            cert = st.file_uploader(ui.t("delivery.accept.certificate"), type=list(uploads.ALLOWED_TYPES),
                                    key="delivery-accept-cert", max_upload_size=uploads.MAX_BYTES // 1024 // 1024,
                                    help=ui.t("delivery.accept.certificate_help"))
            if st.form_submit_button(ui.t("delivery.accept.submit")):
                ref, stored_ok = "", True
                if cert is not None:
                    try:
                        ref = uploads.store_certificate(cert.name, cert.getvalue(), on=on)
                    except LtcError as exc:
                        st.error(str(exc))
                        stored_ok = False
                if stored_ok:
                    accepted = ui.act(svc.accept_milestone, int(mid), kind=kind, accepted_on=on,
                                      certificate_ref=ref, success=ui.t("delivery.accept.done", name=names[mid]))
                    if not accepted:
                        if ref:
                            uploads.discard(ref)   # refused: do not keep a certificate nobody refers to
                    else:
                        if kind == "final":
                            released = ui.read(q.milestone_terms_released, int(mid))
                            text = "; ".join(f"{r['term']} ({r['amount']:,.2f})" for r in released)
                            st.session_state["flash"] = ui.t("delivery.accept.released", name=names[mid],
                                                             terms=text or ui.t("delivery.accept.no_terms"))
                        forget()
                        st.rerun()
    certs = ms[ms["Certificate"].astype(str).str.startswith(uploads.FOLDER + "/")]
    if not certs.empty:
        st.markdown(f"**{ui.t('delivery.certificates')}**")
        for _, r in certs.iterrows():
            ref = r["Certificate"]
            try:
                uploads.certificate_path(ref)
            except LtcError:
                st.caption(f"{r['Milestone']}: {ui.t('delivery.certificate_missing')}")
                continue
            fname = uploads.download_name(ref)
            # the file is read only when the person clicks (certificates may be up to 10 MB)
            st.download_button(f"{r['Milestone']} · {fname}", lambda ref=ref: uploads.read_certificate(ref)[1],
                               fname, key=f"delivery-cert-{r['ID']}")


# -- costs -----------------------------------------------------------------------------------------
def costs_tab():
    st.subheader(ui.t("delivery.costs"))
    cost_df = ui.read(q.costs, cid)
    if cost_df.empty:
        st.info(ui.t("nothing"))
    else:
        st.dataframe(cost_df, hide_index=True, column_config=ui.column_labels(cost_df, "delivery"), width="stretch")
        ui.downloads(cost_df, f"costs-{info['Contract']}", key="delivery-cost-dl")
    if signed and ui.can("cost.record"):
        with st.form("delivery-cost", clear_on_submit=True):
            st.markdown(f"**{ui.t('delivery.cost.new')}**")
            k1, k2, k3 = st.columns(3)
            spent = k1.date_input(ui.t("delivery.cost.spent_on"), value=date.today(), max_value=date.today(),
                                  key="delivery-cost-on")
            names = {"labour": ui.t("delivery.category.labour"), "hardware": ui.t("delivery.category.hardware"),
                     "software": ui.t("delivery.category.software"),
                     "subcontract": ui.t("delivery.category.subcontract"), "travel": ui.t("delivery.category.travel"),
                     "other": ui.t("delivery.category.other")}
            cats = {c: names.get(c, c) for c in svc.COST_CATEGORIES}
            category = k2.selectbox(ui.t("delivery.cost.category"), list(cats), key="delivery-cost-category",
                                    format_func=cats.get)
            amount = k3.text_input(ui.t("delivery.cost.amount"), key="delivery-cost-amount")
            description = st.text_input(ui.t("delivery.cost.description"), key="delivery-cost-description")
            if st.form_submit_button(ui.t("delivery.cost.submit")):
                if ui.act(svc.record_cost, cid, spent_on=spent, category=category, amount=amount,
                          description=description, success=ui.t("delivery.cost.done")):
                    st.rerun()


# -- four calculations -----------------------------------------------------------------------------
def calculations_tab():
    st.subheader(ui.t("delivery.calculations"))
    calc = ui.read(q.four_calculations, cid)
    names = {"estimate": ui.t("delivery.calc.estimate"), "budget": ui.t("delivery.calc.budget"),
             "actual": ui.t("delivery.calc.actual"), "final": ui.t("delivery.calc.final"),
             "variance": ui.t("delivery.calc.variance")}
    shown = calc.assign(Calculation=[names.get(k, k) for k in calc["Calculation"]])
    st.dataframe(shown, hide_index=True, column_config=ui.column_labels(shown, "delivery"), width="stretch")
    st.caption(ui.t("delivery.calc.note"))
    ui.downloads(calc, f"four-calculations-{info['Contract']}", key="delivery-calc-dl")
    st.subheader(ui.t("delivery.portfolio"))
    port = ui.read(q.portfolio, [int(i) for i in contracts["ID"]])
    st.dataframe(port, hide_index=True, column_config=ui.column_labels(port, "delivery"), width="stretch")
    ui.downloads(port, "four-calculations-projects", key="delivery-port-dl")


# Only the open tab is drawn (its queries and downloads run); choosing another tab reruns the page.
TABS = [("delivery.tab.milestones", milestones_tab), ("delivery.tab.acceptance", acceptance_tab),
        ("delivery.tab.costs", costs_tab), ("delivery.tab.calculations", calculations_tab)]
for tab, (_, draw) in zip(st.tabs([ui.t(k) for k, _ in TABS], key="delivery-tab", on_change="rerun"), TABS):
    if tab.open:
        with tab:
            draw()
