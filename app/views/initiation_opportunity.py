"""One opportunity in full: its details, the iron triangle by name, and the actions core offers now (edit, team,
stage move); guidance, estimate, ATI and history in app/views/initiation_gate.py.

Edits carry the version the person first read (kept in session state). The edit forms are keyed by that version:
Reload forgets it, so the next run builds new forms on the fresh record (a browser keeps showing what was typed
into a widget whose key stays the same, and would send the old values back over the colleague's change)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

import streamlit as st

from app import fmt, forms, records, ui
from app.views import initiation_gate as gate
from app.views.initiation_board import stage_label
from core.queries.offers import offers as offers_of
from core.queries.pipeline import opportunity_detail, team_candidates
from core.services import opportunities

# a date picker takes any year, so a date out of core's range reaches core and is refused by name, never dropped
DAY_MIN, DAY_MAX = date(1000, 1, 1), date(9999, 12, 31)
SEATS = ("ar", "sr", "fr")


def day_input(where, label: str, value, key: str):
    return where.date_input(label, value=value, min_value=DAY_MIN, max_value=DAY_MAX, key=key)


def fresh(opp_id: int) -> None:
    """Forget what the person read about this opportunity: the next run reads it and builds its forms afresh."""
    st.session_state.pop(f"initiation-seen-{opp_id}", None)
    for k in [k for k in st.session_state if isinstance(k, str) and k.startswith("initiation-chain-")
              and k.endswith(f"-{opp_id}")]:
        del st.session_state[k]


def close() -> None:
    records.go("opportunity", None)
    st.session_state["initiation-opp"] = None


def show(opp_id: int) -> None:
    d = ui.read(opportunity_detail, opp_id)
    first_view = f"initiation-seen-{opp_id}" not in st.session_state
    seen = st.session_state.setdefault(f"initiation-seen-{opp_id}", {
        "version": d["version"], "name": d["name"], "amount": d["amount"], "expected_close": d["expected_close"]})
    offers = ui.read(offers_of, "opportunity", opp_id)

    def done() -> None:
        fresh(opp_id)
        st.rerun()

    st.subheader(" · ".join(dict.fromkeys([d["name"], d["customer"]])))
    b1, b2, _ = st.columns([1, 1, 4])
    b1.button(ui.t("initiation.reload"), key=f"initiation-reload-{opp_id}", on_click=fresh, args=(opp_id,))
    b2.button(ui.t("initiation.close"), key=f"initiation-close-{opp_id}", on_click=close)
    ui.flash(f"initiation-{opp_id}")
    if d["version"] != seen["version"]:
        st.warning(ui.t("initiation.changed_since"))
    ui.tiles([(ui.t("initiation.stage"), stage_label(d["stage"])), (ui.t("initiation.amount"), fmt.money(d["amount"])),
              (ui.t("initiation.days_in_stage"), fmt.number(d["days_in_stage"])),
              (ui.t("initiation.expected_close"), fmt.day(d["expected_close"]))], per_row=2)
    st.caption(" · ".join([f"{ui.t('initiation.filter.region')}: {fmt.text(d['region'])}",
                           f"{ui.t('initiation.filter.industry')}: {fmt.text(d['industry'])}"]
                          + [f"{ui.t(f'initiation.seat.{s}')}: {d['team_names'][s] or fmt.EMPTY}" for s in SEATS]))
    if d["hold_overdue"]:
        st.warning(ui.t("initiation.card.hold_overdue", date=fmt.day(d["hold_review_on"])))
    elif d["hold_review_on"]:
        st.info(ui.t("initiation.card.review_on", date=fmt.day(d["hold_review_on"])))

    labels = [ui.t("initiation.tab.basics"), ui.t("initiation.tab.guidance"), ui.t("initiation.tab.ati"),
              ui.t("initiation.tab.history")]
    if first_view and forms.offered(offers, "ati.decide")[0]:   # a decision waits on this person: its tab opens
        st.session_state[f"initiation-tabs-{opp_id}"] = ui.t("initiation.tab.ati")
    tab_basics, tab_guidance, tab_ati, tab_history = st.tabs(labels, key=f"initiation-tabs-{opp_id}",
                                                              on_change="rerun")
    with tab_basics:
        basics(d, seen, offers, done)
    with tab_guidance:
        gate.guidance(d, seen["version"], offers, done)
    with tab_ati:
        gate.estimate_and_ati(d, offers, done)
    with tab_history:
        gate.history(d)


def _seat_label(people: dict[str, str]) -> Callable[[str], str]:
    """A team seat's option (a login, or "" for none) shown by the person's name."""
    return lambda login: people.get(login, login) or fmt.EMPTY


def _closed_note(offers: dict, action: str) -> bool:
    """Whether the action is open now; when it is not, core's reason is shown in its place."""
    enabled, why = forms.offered(offers, action)
    if not enabled and why:
        st.caption(why)
    return enabled


def basics(d: dict, seen: dict, offers: dict, done) -> None:
    opp_id, version = d["id"], seen["version"]
    v = f"{opp_id}-v{version}"
    if ui.can("opportunity.update") and _closed_note(offers, "opportunity.update"):
        with st.form(f"initiation-edit-{v}"):
            c1, c2 = st.columns(2)
            name = c1.text_input(ui.t("initiation.name"), seen["name"], key=f"initiation-edit-name-{v}",
                                 max_chars=ui.limit("name"))
            amount = c2.text_input(ui.t("initiation.amount"), f"{seen['amount']:f}", key=f"initiation-edit-amount-{v}")
            close_on = day_input(c1, ui.t("initiation.expected_close"), seen["expected_close"],
                                 f"initiation-edit-close-{v}")
            c2.caption(ui.t("initiation.version", n=version))
            if st.form_submit_button(ui.t("save"), key=f"initiation-edit-save-{v}"):
                if ui.act(opportunities.update_opportunity, opp_id, version=version, name=name, amount=amount,
                          expected_close=close_on, success=ui.t("saved"), where=f"initiation-{opp_id}",
                          labels={"name": ui.t("initiation.name"), "amount": ui.t("initiation.amount"),
                                  "expected_close": ui.t("initiation.expected_close")}):
                    done()

    st.markdown(f"**{ui.t('initiation.team')}**")
    if ui.can("opportunity.team") and _closed_note(offers, "opportunity.team"):
        team = ui.read(team_candidates)
        seats: dict[str, str] = {}
        with st.form(f"initiation-team-{v}"):
            cols = st.columns(3)
            for c, seat in zip(cols, SEATS):
                people = {p["login"]: p["name"] for p in team[seat]}
                current = d["team"][seat]
                choices: list[str] = [""] + list(people) + ([current] if current and current not in people else [])
                seats[seat] = c.selectbox(ui.t(f"initiation.seat.{seat}"), choices, index=choices.index(current),
                                          key=f"initiation-team-{seat}-{v}",
                                          format_func=_seat_label(people))
            if st.form_submit_button(ui.t("initiation.team.save"), key=f"initiation-team-save-{v}"):
                if ui.act(opportunities.set_team, opp_id, ar_login=seats["ar"], sr_login=seats["sr"],
                          fr_login=seats["fr"], version=version, success=ui.t("initiation.team.saved"),
                          where=f"initiation-{opp_id}"):
                    done()
    else:
        st.markdown("  \n".join(f"{ui.t(f'initiation.seat.{s}')}: {d['team_names'][s] or fmt.EMPTY}" for s in SEATS))

    targets = {s: stage_label(s) for s in d["move_targets"]}
    if ui.can("opportunity.update") and targets:
        with forms.once_form(f"initiation-move-{opp_id}", ui.t("initiation.move")) as f:
            c1, c2 = st.columns([1, 2])
            to = c1.selectbox(ui.t("initiation.move.to"), list(targets), key=f.key("to"),
                              format_func=lambda s: targets.get(s, str(s)))
            reason = c2.text_input(ui.t("initiation.move.reason"), key=f.key("reason"),
                                   max_chars=opportunities.MOVE_REASON_MAX)
            if st.form_submit_button(ui.t("initiation.move.submit"), key=f.key("submit")):
                if f.submit(opportunities.advance_stage, opp_id, to, version=version, reason=reason,
                            success=ui.t("initiation.move.done", stage=stage_label(to)), where=f"initiation-{opp_id}",
                            labels={"reason": ui.t("initiation.move.reason")}):
                    done()
