"""Delivery acceptance, Acceptance tab: one milestone (chosen, or opened by `?milestone=<id>`) with its details,
the acceptances core offers now (preliminary 初验 / final 终验; refused ones disabled with core's reason), its
certificates as downloads and its history."""
from __future__ import annotations

import streamlit as st

from app import fmt, forms, records, tables, ui
from app.views.delivery_common import MAX_DAY, MIN_DAY, forget
from core import uploads
from core.errors import LtcError
from core.queries import delivery as q
from core.services import delivery as svc

KINDS = {svc.ACCEPT_PRELIMINARY: "preliminary", svc.ACCEPT_FINAL: "final"}


def draw(cid: int, info, contracts) -> None:
    st.subheader(ui.t("delivery.acceptance"))
    if not ui.can("milestone.accept"):
        st.caption(ui.t("delivery.acceptance.fr_only"))
    ms = ui.read(q.milestones, cid)
    if ms.empty:
        st.info(ui.t("nothing"))
        return
    offers = ui.read(q.milestone_offers, cid)   # core's offers (the milestone's lifecycle), read as delivery.view
    if ui.can("milestone.accept") and not any(o[svc.ACCEPT_FINAL].allowed for o in offers.values()):
        st.info(ui.t("delivery.acceptance.all_done"))
    ids = {int(i) for i in ms["ID"]}
    if records.opened("milestone") not in ids | {None}:
        records.go("milestone", None)     # a milestone of another contract
    names = {int(r["ID"]): f"{r['Seq']}. {r['Milestone']} · {tables.value(r['Status'])}" for _, r in ms.iterrows()}
    mid = records.picker("milestone", names, label=ui.t("delivery.accept.milestone"), key="delivery-milestone")
    if mid is None:
        return
    row = ms.set_index("ID").loc[int(mid)]
    st.caption(ui.t("delivery.ms.details", name=fmt.text(row["Milestone"]), status=tables.value(row["Status"]),
                    planned=fmt.day(row["Planned on"]), forecast=fmt.day(row["Forecast on"]),
                    preliminary=fmt.day(row["Preliminary on"]), accepted=fmt.day(row["Accepted on"]),
                    terms=fmt.text(row["Terms"])))
    if ui.can("milestone.accept"):
        accept_form(offers.get(int(mid), {}), int(mid), row["Milestone"])
    certificates(int(mid))
    records.history("milestone", int(mid), key=f"delivery-ms-history-{mid}")


def accept_form(offers: dict, mid: int, name: str) -> None:
    labels = {"accepted_on": ui.t("delivery.accept.on"), "certificate_ref": ui.t("delivery.accept.certificate"),
              "kind": ui.t("delivery.accept.kind")}
    with forms.once_form("delivery-accept", ui.t("delivery.accept.title")) as f:
        on = st.date_input(labels["accepted_on"], value=fmt.today(), key=f.key("on"),
                           min_value=MIN_DAY, max_value=MAX_DAY)
        cert = st.file_uploader(labels["certificate_ref"], type=list(uploads.ALLOWED_TYPES), key=f.key("cert"),
                                max_upload_size=uploads.MAX_BYTES // 1024 // 1024,
                                help=ui.t("delivery.accept.certificate_help"))
        chosen = None
        for col, (action, kind) in zip(st.columns(len(KINDS)), KINDS.items()):
            enabled, why = forms.offered(offers, action)
            if col.form_submit_button(ui.t(f"delivery.accept.{kind}"), key=f.key(kind), disabled=not enabled,
                                      help=why):
                chosen = kind
        if chosen:
            ref = ""
            if cert is not None:
                try:
                    ref = uploads.store_certificate(cert.name, cert.getvalue(), on=on)
                except LtcError as exc:
                    ui.say("delivery-accept", "error", ui.refusal(exc))
                    return
            done = f.submit(svc.accept_milestone, mid, kind=chosen, accepted_on=on, certificate_ref=ref,
                            labels=labels, success=ui.t(f"delivery.accept.done.{chosen}", name=name))
            if not done:
                if ref:
                    uploads.discard(ref)   # refused: do not keep a certificate nobody refers to
                return
            if chosen == "final":
                released = ui.read(q.milestone_terms_released, mid)
                text = "; ".join(f"{r['term']} ({fmt.money(r['amount'])})" for r in released)
                ui.say("delivery-accept", "success", ui.t("delivery.accept.released", name=name,
                                                          terms=text or ui.t("delivery.accept.no_terms")))
            forget()
            st.rerun()


def certificates(mid: int) -> None:
    rows = ui.read(q.acceptances, mid)
    if rows.empty:
        return
    st.markdown(f"**{ui.t('delivery.certificates')}**")
    shown = rows.assign(Certificate=[uploads.shown_name(r) for r in rows["Certificate"]])
    tables.table(shown, "delivery", key=f"delivery-acceptances-{mid}", hide=("Certificate ref",))
    for _, r in rows.iterrows():
        ref = r["Certificate ref"]
        if not str(ref).startswith(uploads.FOLDER + "/"):
            continue
        try:
            uploads.certificate_path(ref)
        except LtcError:
            st.caption(f"{uploads.shown_name(ref)}: {ui.t('delivery.certificate_missing')}")
            continue
        fname = uploads.download_name(ref)
        st.download_button(f"{tables.value(r['Kind'])} · {fname}", _reader(ref), fname, key=f"delivery-cert-{r['ID']}",
                           icon=":material/download:")


def _reader(ref: str):
    """The certificate's bytes, read only when the person clicks (certificates may be up to 10 MB)."""
    def read() -> bytes:
        return uploads.read_certificate(ref)[1]
    return read
