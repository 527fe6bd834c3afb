"""One lead, opened by its address (?lead=<id>): its details, duplicates, history and the actions core offers
now. The actions carry the version the person saw when the lead was shown, so a colleague's change in between
is refused naming who made it, never overwritten."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import fmt, forms, records, tables, ui
from app.views.leads_common import coded, owner_label
from core.queries.leads import lead_detail, lead_label
from core.queries.offers import offers as offers_of
from core.services import leads

HERE = "leads-detail"


def _options(df: pd.DataFrame) -> dict[int, str]:
    options = {int(i): f"{c} (#{int(i)})" for i, c in zip(df["ID"], df["company"])}
    for extra in (records.opened("lead"), st.session_state.get("leads-selected")):
        if isinstance(extra, int) and extra not in options:   # opened by address, filtered out of the inbox
            company = ui.read(lead_label, extra)
            if company is not None:
                options[extra] = f"{company} (#{extra})"
    return options


def _seen_version(lead_id: int, version: int) -> int:
    """The version of the lead when it was shown to the person, kept until they act on it or reload it."""
    seen = st.session_state.get("leads-seen")
    if not seen or seen[0] != lead_id:
        seen = st.session_state["leads-seen"] = (lead_id, version)
    return seen[1]


def _done(result) -> None:
    if result:
        st.session_state.pop("leads-seen", None)
        st.rerun()


def _summary(d: dict) -> None:
    st.subheader(f"{d['company']} (#{d['id']})")
    st.caption(ui.t("leads.summary", status=coded("leads.status", d["status"]), score=d["score"],
                    grade=coded("leads.grade", d["grade"]), owner=d["owner_name"] or ui.t("leads.unassigned")))
    facts = {"contact": d["contact"], "phone": d["phone"], "email": d["email"],
             "source": coded("leads.source", d["source"]), "region": d["region"], "industry": d["industry"],
             "budget": fmt.money(d["budget"]), "authority": coded("leads.authority", d["authority"]),
             "need": coded("leads.need", d["need"]), "timeline_months": fmt.text(d["timeline_months"]),
             "captured_on": fmt.day(d["captured_on"]), "need_text": d["need_text"]}
    st.markdown("  \n".join(f"**{ui.t(f'leads.col.{k}')}:** {fmt.text(v)}" for k, v in facts.items()))
    if d["disqualify_reason"]:
        st.caption(ui.t("leads.dq.was", reason=d["disqualify_reason"]))
    if d["opportunity_id"]:
        records.link("opportunity", d["opportunity_id"],
                     ui.t("leads.cv.link", opp=d["opportunity_id"], name=d["opportunity_name"]))
    if d["merged_into_id"]:
        records.link("lead", d["merged_into_id"], ui.t("leads.merged_into", id=d["merged_into_id"]))


def _duplicates(d: dict, sel: int, version: int, offer: dict) -> None:
    dups = d["duplicates"]
    with st.expander(ui.t("leads.dups.title", n=len(dups)), expanded=bool(dups), icon=":material/content_copy:"):
        if not dups:
            st.caption(ui.t("leads.dups.none"))
            return
        view = pd.DataFrame(dups)
        view["status"] = view["status"].map(lambda v: coded("leads.status", v))
        tables.table(view.drop(columns=["owner"]), "leads", key=f"leads-dups-{sel}", opens="lead")
        if ui.can("lead.merge"):
            for dup in dups:
                label = ui.t("leads.dups.merge", drop=dup["ID"], keep=sel)
                if forms.action_button(offer, "lead.merge", label, key=f"leads-merge-{sel}-{dup['ID']}"):
                    _done(ui.act(leads.merge_leads, sel, dup["ID"], version=version, where=HERE,
                                 success=ui.t("leads.dups.merged", drop=dup["ID"], keep=sel)))


def _triage(d: dict, sel: int, version: int, offer: dict, names: dict[str, str], where) -> None:
    if ui.can("lead.assign"):
        with where.form(f"leads-assign-{sel}"):
            logins = list(names)
            current = logins.index(d["owner"]) if d["owner"] in logins else None
            new_owner = st.selectbox(ui.t("leads.assign.owner"), logins, index=current,
                                     key=f"leads-assign-owner-{sel}", format_func=owner_label(names),
                                     placeholder=ui.t("record.choose"))
            enabled, why = forms.offered(offer, "lead.assign")
            if st.form_submit_button(ui.t("leads.assign.submit"), disabled=not enabled, help=why):
                _done(ui.act(leads.assign_lead, sel, new_owner, version=version, where=HERE,
                             success=ui.t("leads.assign.done", id=sel, owner=names.get(new_owner or "", new_owner)),
                             labels={"owner": ui.t("leads.assign.owner")}))
    if ui.can("lead.qualify"):
        if forms.action_button(offer, "lead.qualify", ui.t("leads.qualify"), key=f"leads-qualify-{sel}",
                               where=where):
            _done(ui.act(leads.qualify_lead, sel, version=version, where=HERE,
                         success=ui.t("leads.qualified", id=sel)))
    if ui.can("lead.disqualify"):
        with where.form(f"leads-disqualify-{sel}"):
            reason = st.text_input(ui.t("leads.dq.reason"), key=f"leads-dq-reason-{sel}",
                                   max_chars=leads.REASON_MAX)
            enabled, why = forms.offered(offer, "lead.disqualify")
            if st.form_submit_button(ui.t("leads.dq.submit"), disabled=not enabled, help=why):
                _done(ui.act(leads.disqualify_lead, sel, reason, version=version, where=HERE,
                             success=ui.t("leads.dq.done", id=sel), labels={"reason": ui.t("leads.dq.reason")}))


def _convert(d: dict, sel: int, version: int, offer: dict, where) -> None:
    if not ui.can("lead.convert"):
        return
    sug = d["suggested"]
    enabled, why = forms.offered(offer, "lead.convert")
    with where:
        with forms.once_form(f"leads-convert-{sel}", ui.t("leads.cv.title")) as f:
            opp_name = st.text_input(ui.t("leads.cv.name"), value=sug["name"], key=f.key("name"),
                                     max_chars=ui.limit("opportunity_name"), disabled=not enabled)
            amount = st.text_input(ui.t("leads.cv.amount"), key=f.key("amount"), max_chars=ui.limit("amount"),
                                   disabled=not enabled,
                                   value="" if sug["amount"] is None else f"{sug['amount']:.2f}")
            close = st.date_input(ui.t("leads.cv.close"), value=sug["expected_close"], key=f.key("close"),
                                  disabled=not enabled)
            if st.form_submit_button(ui.t("leads.cv.submit"), key=f.key("submit"), disabled=not enabled, help=why):
                opp_id = f.submit(leads.convert_lead, sel, opportunity_name=opp_name, amount=amount,
                                  expected_close=close, version=version, success=ui.t("leads.cv.saved", id=sel),
                                  labels={"opportunity_name": ui.t("leads.cv.name"),
                                          "amount": ui.t("leads.cv.amount"),
                                          "expected_close": ui.t("leads.cv.close")})
                if opp_id:
                    st.session_state.pop("leads-seen", None)
                    st.rerun()
        if d["opportunity_id"]:   # said right under the message of the conversion
            records.link("opportunity", d["opportunity_id"],
                         ui.t("leads.cv.link", opp=d["opportunity_id"], name=d["opportunity_name"]))


def show(df: pd.DataFrame, names: dict[str, str]) -> None:
    sel = records.picker("lead", _options(df), label=ui.t("leads.selected"), key="leads-selected")
    if sel is None:
        st.caption(ui.t("leads.choose_hint"))
        return
    d = ui.read(lead_detail, sel)
    if d is None:
        return
    version = _seen_version(sel, d["version"])
    offer = ui.read(offers_of, "lead", sel)
    _summary(d)
    if st.button(ui.t("leads.reload"), key=f"leads-reload-{sel}", icon=":material/refresh:",
                 help=ui.t("leads.reload_help")):
        st.session_state.pop("leads-seen", None)
        st.rerun()
    ui.flash(HERE)
    _duplicates(d, sel, version, offer)
    left, right = st.columns(2)
    _triage(d, sel, version, offer, names, left)
    _convert(d, sel, version, offer, right)
    records.history("lead", sel, key=f"leads-history-{sel}")
