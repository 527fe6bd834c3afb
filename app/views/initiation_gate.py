"""An opportunity's customer guidance with its decision chain, its estimate (概算) and ATI gate (立项决策), and its
history (stage moves and the record's own audit history). Actions as core offers them now."""
from __future__ import annotations

from functools import partial

import streamlit as st

from app import fmt, forms, records, tables, ui
from core.services import opportunities

STANCES = ("supporter", "neutral", "opponent", "unknown")


def _clean(value) -> str:
    """An editor cell as text: empty cells (None, NaN) become ''."""
    return "" if fmt.is_empty(value) else str(value)


def _forget(*keys: str) -> None:
    for k in keys:
        st.session_state.pop(k, None)


def guidance(d: dict, version: int, offers: dict, done) -> None:
    opp_id = d["id"]
    enabled, why = forms.offered(offers, "opportunity.guidance")
    editable = ui.can("opportunity.guidance") and enabled
    if ui.can("opportunity.guidance") and why:
        st.caption(why)
    with st.form(f"initiation-guidance-{opp_id}-v{version}"):
        pains = st.text_area(ui.t("initiation.pain_points"), d["pain_points"],
                             key=f"initiation-pains-{opp_id}-v{version}", disabled=not editable,
                             max_chars=ui.limit("pain_points"))
        value = st.text_area(ui.t("initiation.value_proposition"), d["value_proposition"],
                             key=f"initiation-value-{opp_id}-v{version}", disabled=not editable,
                             max_chars=ui.limit("value_proposition"))
        if st.form_submit_button(ui.t("save"), key=f"initiation-guidance-save-{opp_id}-v{version}",
                                 disabled=not editable):
            if ui.act(opportunities.set_guidance, opp_id, pain_points=pains, value_proposition=value,
                      version=version, where=f"initiation-{opp_id}"):
                done()

    st.markdown(f"**{ui.t('initiation.chain')}**")
    editor_key, seen_key = f"initiation-chain-{opp_id}", f"initiation-chain-seen-{opp_id}"
    if not editable:
        tables.table(d["stakeholders"], "initiation", key=f"initiation-chain-view-{opp_id}")
        return
    seen = ui.seen(seen_key, editor_key, lambda: d["stakeholders"])
    head = partial(ui.header, "initiation")
    stances = {s: ui.t(f"initiation.stance.{s}") for s in STANCES}
    edited = st.data_editor(
        seen, placeholder=fmt.EMPTY, key=editor_key, hide_index=True, width="stretch", num_rows="dynamic",
        disabled=["ID", "Version"],
        column_order=["Name", "Title", "Chain role", "Stance"],
        column_config={"Name": st.column_config.TextColumn(head("Name"), max_chars=ui.limit("name")),
                       "Title": st.column_config.TextColumn(head("Title"), max_chars=ui.limit("title")),
                       "Chain role": st.column_config.TextColumn(head("Chain role"), max_chars=ui.limit("chain_role")),
                       "Stance": st.column_config.SelectboxColumn(head("Stance"), options=list(STANCES),
                                                                  default="unknown",
                                                                  format_func=lambda s: stances.get(str(s), str(s)))})
    fields = {"Name": "name", "Title": "title", "Chain role": "chain_role", "Stance": "stance"}

    def save_row(ctx, sid, version, changes):
        return opportunities.update_stakeholder(ctx, sid, version=version,
                                                **{fields[c]: v for c, v in changes.items() if c in fields})

    place = f"initiation-chain-{opp_id}"     # where the table's messages are shown, below it
    b1, b2 = st.columns([1, 5])
    if b1.button(ui.t("save"), key=f"initiation-chain-save-{opp_id}"):
        changed = ui.changed_rows(seen, edited)
        ok = ui.save_edits(seen, edited, save_row, where=place) == len(changed)
        for _, row in edited[edited["ID"].isna()].iterrows():
            ok &= bool(ui.act(opportunities.add_stakeholder, opp_id, name=_clean(row["Name"]),
                              title=_clean(row["Title"]), chain_role=_clean(row["Chain role"]),
                              stance=_clean(row["Stance"]) or "unknown", where=place))
        kept = set(edited["ID"].dropna().astype(int))
        for _, row in seen[~seen["ID"].isin(kept)].iterrows():
            ok &= bool(ui.act(opportunities.remove_stakeholder, int(row["ID"]), version=int(row["Version"]),
                              where=place))
        if ok:
            _forget(editor_key, seen_key)
            done()
    b2.button(ui.t("initiation.reload"), key=f"initiation-chain-reload-{opp_id}", on_click=_forget,
              args=(editor_key, seen_key))
    ui.flash(place)


def estimate_and_ati(d: dict, offers: dict, done) -> None:
    from app.views.initiation_opportunity import day_input

    opp_id = d["id"]
    st.markdown(f"**{ui.t('initiation.estimate')}**")
    est = d["estimate"]
    e1, e2, e3 = st.columns(3)
    e1.metric(ui.t("initiation.col.revenue"), fmt.money(est["revenue"]) if est else fmt.EMPTY)
    e2.metric(ui.t("initiation.col.cost"), fmt.money(est["cost"]) if est else fmt.EMPTY)
    e3.metric(ui.t("initiation.col.margin"), f"{fmt.money(est['margin'])} ({fmt.pct(est['margin_rate'])})"
              if est and est["margin_rate"] is not None else fmt.EMPTY)
    enabled, why = forms.offered(offers, "opportunity.estimate")
    if ui.can("opportunity.estimate") and not enabled and why:
        st.caption(why)
    elif ui.can("opportunity.estimate"):
        with forms.once_form(f"initiation-est-{opp_id}") as f:
            c1, c2, c3 = st.columns(3)
            revenue = c1.text_input(ui.t("initiation.col.revenue"), key=f.key("revenue"))
            cost = c2.text_input(ui.t("initiation.col.cost"), key=f.key("cost"))
            note = c3.text_input(ui.t("initiation.col.note"), key=f.key("note"), max_chars=ui.limit("note"))
            if st.form_submit_button(ui.t("initiation.estimate.save"), key=f.key("save")):
                if f.submit(opportunities.set_estimate, opp_id, revenue=revenue, cost=cost, note=note,
                            success=ui.t("initiation.estimate.saved"),
                            labels={"revenue": ui.t("initiation.col.revenue"), "cost": ui.t("initiation.col.cost"),
                                    "note": ui.t("initiation.col.note")}):
                    done()
    tables.table(d["estimates"], "initiation", key=f"initiation-estimates-{opp_id}")

    st.markdown(f"**{ui.t('initiation.ati')}**")
    if d["ati_pending"]:
        st.info(ui.t("initiation.ati.pending"))
    if ui.can("ati.request") and not d["ati_pending"] and forms.applies(offers, "ati.request"):
        # disabled with core's reason (what is missing) until the team and the estimate are there
        if forms.action_button(offers, "ati.request", ui.t("initiation.ati.request"),
                               key=f"initiation-ati-request-{opp_id}"):
            if ui.act(opportunities.request_ati, opp_id, success=ui.t("initiation.ati.requested"),
                      where=f"initiation-{opp_id}"):
                done()
    if ui.can("ati.decide") and forms.offered(offers, "ati.decide")[0]:
        decide(opp_id, day_input, done)
    tables.table(d["ati"], "initiation", key=f"initiation-ati-history-{opp_id}")


def decide(opp_id: int, day_input, done) -> None:
    name = f"initiation-ati-decide-{opp_id}"
    choices = {v: tables.value(v) for v in ("go", "kill", "hold")}
    with forms.once_form(name, ui.t("initiation.ati.decide")) as f:
        decision = st.radio(ui.t("initiation.col.decision"), list(choices), horizontal=True, key=f.key("decision"),
                            format_func=choices.get)
        rationale = st.text_area(ui.t("initiation.col.rationale"), key=f.key("rationale"),
                                 max_chars=ui.limit("rationale"))
        review = day_input(st, ui.t("initiation.ati.review_date"), None, f.key("review"))
        if st.form_submit_button(ui.t("initiation.ati.decide"), key=f.key("submit")):
            # the message goes to the top of the opportunity: the form is gone once the gate is decided
            if f.submit(opportunities.decide_ati, opp_id, decision, rationale=rationale, review_date=review,
                        success=ui.t("initiation.ati.decided", decision=choices[decision]),
                        where=f"initiation-{opp_id}",
                        labels={"rationale": ui.t("initiation.col.rationale"),
                                "review_date": ui.t("initiation.ati.review_date")}):
                done()


def history(d: dict) -> None:
    tables.table(d["stage_history"], "initiation", key=f"initiation-moves-{d['id']}")
    if d["lost_reason"]:
        st.caption(ui.t("initiation.lost_reason", reason=d["lost_reason"]))
    records.history("opportunity", d["id"], key=f"initiation-record-history-{d['id']}")
