"""Initiation board (立项看板): open opportunities as columns by stage, and one opportunity in full: iron
triangle, customer guidance with its decision chain, estimate (概算), the ATI gate, holds and stage history."""
from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from app import ui
from core.queries.pipeline import (board, filter_options, holds, opportunity_detail, opportunity_options,
                                   team_candidates)
from core.services import opportunities

who = ui.guard("opportunity.view")
st.title(ui.t("page.initiation"))
ui.flash()



def money(value) -> str:
    return "" if value is None else f"{value:,.2f}"


def stage_label(stage: str) -> str:
    return ui.t(f"initiation.stage.{stage}")


def table(df: pd.DataFrame, key: str) -> None:
    if df.empty:
        st.caption(ui.t("nothing"))
        return
    st.dataframe(df, hide_index=True, width="stretch", key=key,
                 column_config=ui.column_labels(df, "initiation"))


def clean(value) -> str:
    """An editor cell as text: empty cells (None, NaN) become ''."""
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def forget(*keys: str) -> None:
    """Drop a table's snapshot and its editor state, so the next run reads the records afresh."""
    for k in keys:
        st.session_state.pop(k, None)


# -- filters and the board --------------------------------------------------------------------------

opts = ui.read(filter_options)
ar_names = {a["login"]: a["name"] for a in opts["ars"]}
everyone = ui.t("all")   # labels are looked up now: a widget's format_func must not depend on the session
f1, f2, f3 = st.columns(3)
ar = f1.selectbox(ui.t("initiation.filter.ar"), [""] + list(ar_names), key="initiation-filter-ar",
                  format_func=lambda v: ar_names.get(v, v) or everyone)
region = f2.selectbox(ui.t("initiation.filter.region"), [""] + opts["regions"], key="initiation-filter-region",
                      format_func=lambda v: v or everyone)
industry = f3.selectbox(ui.t("initiation.filter.industry"), [""] + opts["industries"],
                        key="initiation-filter-industry", format_func=lambda v: v or everyone)
filters = dict(ar_login=ar or None, region=region or None, industry=industry or None)

columns = ui.read(board, **filters)
for col, (stage, column) in zip(st.columns(len(columns)), columns.items()):
    with col:
        st.markdown(f"**{stage_label(stage)}** ({column['count']})")
        st.caption(money(column["amount"]))
        for card in column["cards"]:
            with st.container(border=True):
                lines = [f"**{card['name']}**"] + ([card["customer"]] if card["customer"] != card["name"] else []) + [
                         f"{money(card['amount'])} · {card['ar'] or '—'}",
                         ui.t("initiation.card.days", n=card["days_in_stage"])]
                if card["ati_pending"]:
                    lines.append(f":orange[{ui.t('initiation.card.ati_pending')}]")
                if card["hold_overdue"]:
                    lines.append(f":red[⚠ {ui.t('initiation.card.hold_overdue', date=card['hold_review_on'])}]")
                elif card["hold_review_on"]:
                    lines.append(ui.t("initiation.card.review_on", date=card["hold_review_on"]))
                st.markdown("  \n".join(lines))
        if column["more"]:
            st.caption(ui.t("initiation.more", n=column["more"]))

with st.expander(ui.t("initiation.holds")):
    table(ui.read(holds), "initiation-holds")

# -- one opportunity --------------------------------------------------------------------------------

st.divider()
options = ui.read(opportunity_options, **filters)
names = {o["id"]: " · ".join(dict.fromkeys([o["name"], o["customer"], stage_label(o["stage"])])) + f" (#{o['id']})"
         for o in options}   # the customer only when the name does not already say it
opp_id = st.selectbox(ui.t("initiation.select"), [None] + list(names), key="initiation-opp",
                      format_func=lambda v: "—" if v is None else names[v])
if opp_id is None:
    st.stop()

d = ui.read(opportunity_detail, opp_id)
# Saves carry the version the person first read, not the one re-read on the submit run: a change someone
# else made in between is refused by core, and "Reload" shows it.
version = st.session_state.setdefault(f"initiation-seen-{opp_id}", d["version"])


def fresh(record: int) -> None:
    """Forget what the person read and typed about this opportunity: the next run reads it afresh."""
    for k in [k for k in st.session_state if k.startswith("initiation-") and k.endswith(f"-{record}")]:
        del st.session_state[k]


def done() -> None:
    fresh(opp_id)
    st.rerun()


st.subheader(" · ".join(dict.fromkeys([d["name"], d["customer"]])))
st.button(ui.t("initiation.reload"), key=f"initiation-reload-{opp_id}", on_click=fresh, args=(opp_id,))
m1, m2, m3, m4 = st.columns(4)
m1.metric(ui.t("initiation.stage"), stage_label(d["stage"]))
m2.metric(ui.t("initiation.amount"), money(d["amount"]))
m3.metric(ui.t("initiation.days_in_stage"), d["days_in_stage"])
m4.metric(ui.t("initiation.expected_close"), str(d["expected_close"] or "—"))
if d["hold_overdue"]:
    st.warning(ui.t("initiation.card.hold_overdue", date=d["hold_review_on"]))
elif d["hold_review_on"]:
    st.info(ui.t("initiation.card.review_on", date=d["hold_review_on"]))

tab_basics, tab_guidance, tab_ati, tab_history = st.tabs([
    ui.t("initiation.tab.basics"), ui.t("initiation.tab.guidance"), ui.t("initiation.tab.ati"),
    ui.t("initiation.tab.history")])

with tab_basics:
    if ui.can("opportunity.update"):
        with st.form(f"initiation-edit-{opp_id}"):
            c1, c2 = st.columns(2)
            name = c1.text_input(ui.t("initiation.name"), d["name"], key=f"initiation-edit-name-{opp_id}")
            amount = c2.text_input(ui.t("initiation.amount"), f"{d['amount']:f}",
                                   key=f"initiation-edit-amount-{opp_id}")
            close = c1.date_input(ui.t("initiation.expected_close"), d["expected_close"],
                                  key=f"initiation-edit-close-{opp_id}")
            c2.caption(ui.t("initiation.version", n=version))
            if st.form_submit_button(ui.t("save"), key=f"initiation-edit-save-{opp_id}"):
                if ui.act(opportunities.update_opportunity, opp_id, version=version, name=name, amount=amount,
                          expected_close=close, success=ui.t("saved")):
                    done()

    st.markdown(f"**{ui.t('initiation.team')}**")
    team = ui.read(team_candidates)
    seats = {}
    if ui.can("opportunity.team"):
        with st.form(f"initiation-team-{opp_id}"):
            cols = st.columns(3)
            for c, seat in zip(cols, ("ar", "sr", "fr")):
                people = {p["login"]: p["name"] for p in team[seat]}
                current = d["team"][seat]
                choices = [""] + list(people) + ([current] if current and current not in people else [])
                seats[seat] = c.selectbox(ui.t(f"initiation.seat.{seat}"), choices, index=choices.index(current),
                                          key=f"initiation-team-{seat}-{opp_id}",
                                          format_func=lambda v, p=people: p.get(v, v) or "—")
            if st.form_submit_button(ui.t("initiation.team.save"), key=f"initiation-team-save-{opp_id}"):
                if ui.act(opportunities.set_team, opp_id, ar_login=seats["ar"], sr_login=seats["sr"],
                          fr_login=seats["fr"], version=version, success=ui.t("initiation.team.saved")):
                    done()
    else:
        st.markdown("  \n".join(f"{ui.t(f'initiation.seat.{s}')}: {d['team'][s] or '—'}" for s in ("ar", "sr", "fr")))

    if ui.can("opportunity.update"):
        with st.form(f"initiation-move-{opp_id}"):
            st.markdown(f"**{ui.t('initiation.move')}**")
            c1, c2 = st.columns([1, 2])
            targets = {s: stage_label(s) for s in ("guidance", "bidding", "negotiation", "lost")}
            to = c1.selectbox(ui.t("initiation.move.to"), list(targets), key=f"initiation-move-to-{opp_id}",
                              format_func=targets.get)
            reason = c2.text_input(ui.t("initiation.move.reason"), key=f"initiation-move-reason-{opp_id}")
            if st.form_submit_button(ui.t("initiation.move.submit"), key=f"initiation-move-save-{opp_id}"):
                if ui.act(opportunities.advance_stage, opp_id, to, version=version, reason=reason,
                          success=ui.t("initiation.move.done", stage=stage_label(to))):
                    done()

with tab_guidance:
    editable = ui.can("opportunity.guidance")
    with st.form(f"initiation-guidance-{opp_id}"):
        pains = st.text_area(ui.t("initiation.pain_points"), d["pain_points"], key=f"initiation-pains-{opp_id}",
                             disabled=not editable)
        value = st.text_area(ui.t("initiation.value_proposition"), d["value_proposition"],
                             key=f"initiation-value-{opp_id}", disabled=not editable)
        if st.form_submit_button(ui.t("save"), key=f"initiation-guidance-save-{opp_id}", disabled=not editable):
            if ui.act(opportunities.set_guidance, opp_id, pain_points=pains, value_proposition=value,
                      version=version):
                done()

    st.markdown(f"**{ui.t('initiation.chain')}**")
    editor_key, seen_key = f"initiation-chain-{opp_id}", f"initiation-chain-seen-{opp_id}"
    if not editable:
        table(d["stakeholders"], f"initiation-chain-view-{opp_id}")
    else:
        # the person edits the rows as they read them: a save checks each row's version against those
        if seen_key not in st.session_state:
            st.session_state[seen_key] = d["stakeholders"]
        seen = st.session_state[seen_key]
        head = partial(ui.header, "initiation")
        stances = {s: ui.t(f"initiation.stance.{s}") for s in ("supporter", "neutral", "opponent", "unknown")}
        edited = st.data_editor(
            seen, key=editor_key, hide_index=True, width="stretch", num_rows="dynamic",
            disabled=["ID", "Version"],
            column_config={"Name": head("Name"), "Title": head("Title"), "Chain role": head("Chain role"),
                           "Stance": st.column_config.SelectboxColumn(
                               head("Stance"), options=["supporter", "neutral", "opponent", "unknown"],
                               default="unknown", format_func=stances.get)})
        fields = {"Name": "name", "Title": "title", "Chain role": "chain_role", "Stance": "stance"}

        def save_row(ctx, sid, version, changes):
            return opportunities.update_stakeholder(ctx, sid, version=version,
                                                    **{fields[c]: v for c, v in changes.items() if c in fields})

        b1, b2 = st.columns([1, 5])
        if b1.button(ui.t("save"), key=f"initiation-chain-save-{opp_id}"):
            ok = True
            changed = ui.changed_rows(seen, edited)
            ok &= ui.save_edits(seen, edited, save_row) == len(changed)
            for _, row in edited[edited["ID"].isna()].iterrows():
                ok &= bool(ui.act(opportunities.add_stakeholder, opp_id, name=clean(row["Name"]),
                                  title=clean(row["Title"]), chain_role=clean(row["Chain role"]),
                                  stance=clean(row["Stance"]) or "unknown"))
            kept = set(edited["ID"].dropna().astype(int))
            for _, row in seen[~seen["ID"].isin(kept)].iterrows():
                ok &= bool(ui.act(opportunities.remove_stakeholder, int(row["ID"]), version=int(row["Version"])))
            if ok:
                done()
        b2.button(ui.t("initiation.reload"), key=f"initiation-chain-reload-{opp_id}", on_click=forget,
                  args=(editor_key, seen_key))

with tab_ati:
    st.markdown(f"**{ui.t('initiation.estimate')}**")
    est = d["estimate"]
    e1, e2, e3 = st.columns(3)
    e1.metric(ui.t("initiation.col.revenue"), money(est["revenue"]) if est else "—")
    e2.metric(ui.t("initiation.col.cost"), money(est["cost"]) if est else "—")
    e3.metric(ui.t("initiation.col.margin"),
              f"{money(est['margin'])} ({est['margin_rate']:.1%})" if est and est["margin_rate"] is not None else "—")
    if ui.can("opportunity.estimate"):
        with st.form(f"initiation-estimate-{opp_id}", clear_on_submit=True):
            c1, c2, c3 = st.columns(3)
            revenue = c1.text_input(ui.t("initiation.col.revenue"), key=f"initiation-est-revenue-{opp_id}")
            cost = c2.text_input(ui.t("initiation.col.cost"), key=f"initiation-est-cost-{opp_id}")
            note = c3.text_input(ui.t("initiation.col.note"), key=f"initiation-est-note-{opp_id}")
            if st.form_submit_button(ui.t("initiation.estimate.save"), key=f"initiation-est-save-{opp_id}"):
                if ui.act(opportunities.set_estimate, opp_id, revenue=revenue, cost=cost, note=note,
                          success=ui.t("initiation.estimate.saved")):
                    done()
    table(d["estimates"], f"initiation-estimates-{opp_id}")

    st.markdown(f"**{ui.t('initiation.ati')}**")
    if d["ati_pending"]:
        st.info(ui.t("initiation.ati.pending"))
    elif d["ati_missing"] and d["stage"] in ("initiation", "on_hold"):
        st.caption(ui.t("initiation.ati.missing", what="; ".join(d["ati_missing"])))
    if ui.can("ati.request") and d["stage"] in ("initiation", "on_hold") and not d["ati_pending"]:
        if st.button(ui.t("initiation.ati.request"), key=f"initiation-ati-request-{opp_id}"):
            if ui.act(opportunities.request_ati, opp_id, success=ui.t("initiation.ati.requested")):
                done()
    if ui.can("ati.decide") and d["ati_pending"]:
        with st.form(f"initiation-ati-decide-{opp_id}"):
            choices = {v: ui.t(f"initiation.decision.{v}") for v in ("go", "kill", "hold")}
            decision = st.radio(ui.t("initiation.col.decision"), list(choices), horizontal=True,
                                key=f"initiation-ati-decision-{opp_id}", format_func=choices.get)
            rationale = st.text_area(ui.t("initiation.col.rationale"), key=f"initiation-ati-rationale-{opp_id}")
            review = st.date_input(ui.t("initiation.ati.review_date"), value=None,
                                   key=f"initiation-ati-review-{opp_id}")
            if st.form_submit_button(ui.t("initiation.ati.decide"), key=f"initiation-ati-decide-save-{opp_id}"):
                if ui.act(opportunities.decide_ati, opp_id, decision, rationale=rationale, review_date=review,
                          success=ui.t("initiation.ati.decided", decision=ui.t(f"initiation.decision.{decision}"))):
                    done()
    table(d["ati"], f"initiation-ati-history-{opp_id}")

with tab_history:
    table(d["stage_history"], f"initiation-moves-{opp_id}")
    if d["lost_reason"]:
        st.caption(ui.t("initiation.lost_reason", reason=d["lost_reason"]))
