"""What the bids and the contracts views share: labels of coded values, deal names and the rule for drawing an
action's form from core's offers (allowed: the form; refused: a disabled button with core's reason)."""
from __future__ import annotations

from datetime import date

import streamlit as st

from app.i18n import catalogue
from app import forms, tables, ui

PREFIX = "bids_contracts"
# a date picker takes any year, so a date out of core's range reaches core and is refused by name, never dropped
DAY_MIN, DAY_MAX = date(1000, 1, 1), date(9999, 12, 31)
TAB_KEY = "bc-tab"                # the page's tabs: bids, contracts
CONTRACT_TAB_KEY = "bc-ctab"      # a contract's tabs: terms, ATC, changes, timeline


# stored codes in words: one catalogue (app/i18n/values.toml) for every page
def status_label(status: str) -> str:
    return tables.value(status)


def decision_label(decision: str) -> str:
    """Where a review stands: 'Approved', 'Rejected' (value.decided.<decision>), 'Pending', 'Not requested'."""
    code = decision.replace(" ", "_")
    return ui.t(f"value.decided.{code}") if f"value.decided.{code}" in catalogue() else tables.value(code)


def stage_label(stage: str) -> str:
    return tables.value(stage)


def deal_names(deals: list[dict]) -> dict[int, str]:
    return {o["id"]: f"{o['name']} · {stage_label(o['stage'])} (#{o['id']})" for o in deals}


def approve_reject() -> dict[str, str]:
    return {v: tables.value(v) for v in ("approve", "reject")}   # the choices: verbs


def offered(offers: dict, action: str, name: str, label: str) -> bool:
    """Whether to draw the form `name` of an action: True when core offers it now. When core refuses it in the
    record's present stage, a disabled button with core's reason stands in its place (with the form's messages:
    a save that just moved the record on says so here); an action the person's roles do not have is not shown at all."""
    if action not in offers or not ui.can(action):
        return False
    if offers[action].allowed:
        return True
    if offers[action].applies:   # refused now, but of this stage: shown disabled with core's reason
        forms.action_button(offers, action, label, key=f"{name}-refused")
    ui.flash(name)                # an action of another stage (sign a signed contract) is not shown at all
    return False


TAB_PARAM = "tab"


def open_tab(key: str, label: str) -> None:
    """Open a tab of `st.tabs(key=key)` on the next draw (a link names a record shown in that tab)."""
    st.session_state[key] = label


def tabs(key: str, labels: list[str], codes: list[str] | None = None):
    """Tabs that stay open across reruns (a save does not jump back to the first). With `codes` the open tab is
    in the address too (?tab=atc), so a Reload, a pasted link or a My work link opens that tab."""
    codes = codes or []
    asked = st.query_params.get(TAB_PARAM)
    if asked in codes:
        st.session_state[key] = labels[codes.index(asked)]
    elif st.session_state.get(key) not in labels:   # e.g. the language changed
        st.session_state.pop(key, None)

    def opened() -> None:
        if codes and st.session_state.get(key) in labels:
            st.query_params[TAB_PARAM] = codes[labels.index(st.session_state[key])]

    return st.tabs(labels, key=key, on_change=opened)


def choose_first(where: str, label: str) -> None:
    """A form submitted without choosing its record (nothing is preselected): say so at the form."""
    ui.say(where, "error", ui.t("bids_contracts.choose_first", what=label))


def day_input(where, label: str, key: str):
    """An empty date field taking any year (core says what is out of range)."""
    return where.date_input(label, value=None, min_value=DAY_MIN, max_value=DAY_MAX, key=key)


def reviews(offers: dict, subject_id: int, *, gate: str, done) -> None:
    """The legal and the finance review of a gate (ATC: gate 'atc'; a change order: 'change'), each a decision
    form of its own service (contracts.review_<gate>_<role>) when core offers it to this person now."""
    from core.services import contracts

    # ATC's reviews include a leader's, offered by core only for a contract below its won bid's floor
    for role in contracts.ATC_REVIEWS:   # a leader's is offered by core only where the approval path asks
        fn = getattr(contracts, f"review_{gate}_{role}")
        name, title = f"bc-{gate}-{role}-{subject_id}", ui.t(f"bids_contracts.{gate}.{role}")
        if offered(offers, f"{gate}.review_{role}", name, title):
            forms.decision_form(name, fn, subject_id, choices=approve_reject(), title=title, after=done,
                                success=lambda d: ui.t("bids_contracts.review.done", decision=decision_label(d)))
