"""Import leads from a CSV/XLSX file: preview first (a dry run that writes nothing), then import once."""
from __future__ import annotations

import re
import tempfile
import uuid
from pathlib import Path

import pandas as pd
import streamlit as st

from app import tables, ui
from core.leads_import import import_leads

IMPORT_TYPES = (".csv", ".xlsx")
MAX_MB = 20
REJECTED_SHOWN = 1000


def _temp_name(name: str) -> str:
    """The uploaded file's own name (the import's messages name it), without folders or odd characters."""
    stem, ext = Path(name).stem, Path(name).suffix.lower()
    return (re.sub(r"[^\w.-]+", "_", stem).strip("._") or "leads")[:80] + ext


def _run_import(upload, dry_run: bool, request_key: str | None = None):
    bar = st.progress(0.0, text=ui.t("leads.import.reading"))

    def progress(done: int, total: int) -> None:
        bar.progress(min(done / max(total, 1), 1.0), text=ui.t("leads.import.progress", done=done, total=total))

    with tempfile.TemporaryDirectory(prefix="ltc-import-") as folder:
        path = Path(folder) / _temp_name(upload.name)
        path.write_bytes(upload.getvalue())
        report = ui.act(import_leads, path, dry_run=dry_run, progress=progress, request_key=request_key,
                        where="leads-import")
    if not report or report is True:   # refused (the message says why), or a second submit of the same import
        bar.empty()
        return None
    bar.progress(1.0, text=ui.t("leads.import.finished"))
    st.session_state["leads-import-report"] = {
        "file": upload.name, "dry_run": report.dry_run, "total": report.total, "created": report.created,
        "merged": report.merged, "rejected_count": len(report.rejected), "ignored": report.ignored,
        "rejected": [{"row": r, "field": f, "message": m} for r, f, m in report.rejected[:REJECTED_SHOWN]]}
    return report


def _show_report(r: dict) -> None:
    st.markdown(ui.t("leads.import.preview_of" if r["dry_run"] else "leads.import.done_of", file=r["file"]))
    m = st.columns(4)
    m[0].metric(ui.t("leads.import.rows"), f"{r['total']:,}")
    m[1].metric(ui.t("leads.import.created"), f"{r['created']:,}")
    m[2].metric(ui.t("leads.import.merged"), f"{r['merged']:,}")
    m[3].metric(ui.t("leads.import.rejected"), f"{r['rejected_count']:,}")
    if r.get("ignored"):
        st.warning(ui.t("leads.import.ignored", columns=", ".join(f"'{c}'" for c in r["ignored"])))
    if r["rejected"]:
        rejected = pd.DataFrame(r["rejected"], columns=["row", "field", "message"])
        rejected["field"] = rejected["field"].map(_field)
        tables.table(rejected, "leads.import", key="leads-import-rejected")
        if r["rejected_count"] > len(r["rejected"]):
            st.caption(ui.t("leads.more", n=f"{r['rejected_count'] - len(r['rejected']):,}"))


def _field(name: str) -> str:
    """The file's column as the page names it ('phone' → 'Phone' / '电话')."""
    from app.i18n import catalogue

    key = f"leads.col.{name}"
    return ui.t(key) if key in catalogue() else name


def _check(upload) -> bool:
    ext = Path(upload.name).suffix.lower()
    if ext not in IMPORT_TYPES:
        st.error(ui.t("leads.import.bad_type", file=upload.name, types=", ".join(IMPORT_TYPES)))
    elif upload.size > MAX_MB * 1024 * 1024:
        st.error(ui.t("leads.import.too_big", file=upload.name, mb=f"{upload.size / 1024 / 1024:.1f}", max=MAX_MB))
    elif upload.size == 0:
        st.error(ui.t("leads.import.empty", file=upload.name))
    else:
        return True
    return False


def show() -> None:
    report = st.session_state.get("leads-import-report")
    with st.expander(ui.t("leads.import.title"), icon=":material/upload_file:", expanded=report is not None):
        # A MIME type in `type` keeps the browser's file filter but leaves the check to us, so a wrong file
        # gets our message rather than a Streamlit exception.
        upload = st.file_uploader(ui.t("leads.import.file", mb=MAX_MB), type=["csv", "xlsx", "text/csv"],
                                  max_upload_size=MAX_MB, key="leads-import-file")
        if upload is None:
            if report:
                _show_report(report)
            ui.flash("leads-import")
            return
        if not _check(upload):
            return
        fingerprint = [upload.name, upload.size, upload.file_id]
        if st.button(ui.t("leads.import.preview"), key="leads-import-preview"):
            st.session_state.pop("leads-import-previewed", None)
            if _run_import(upload, dry_run=True):
                st.session_state.get("flash", {}).pop("leads-import", None)   # nothing was saved
                # one import per preview: a second click on Import finds the key used and imports nothing
                st.session_state["leads-import-previewed"] = (fingerprint, uuid.uuid4().hex)
        report = st.session_state.get("leads-import-report")
        if report:
            _show_report(report)
        previewed = st.session_state.get("leads-import-previewed")
        if previewed and previewed[0] == fingerprint:
            st.caption(ui.t("leads.import.then"))
            if st.button(ui.t("leads.import.run"), key="leads-import-run", type="primary"):
                done = _run_import(upload, dry_run=False, request_key=previewed[1])
                st.session_state.pop("leads-import-previewed", None)
                if done:
                    st.session_state["flash"].pop("leads-import", None)
                    ui.say("leads-import", "success", ui.t("leads.import.saved", created=done.created,
                                                           merged=done.merged, rejected=len(done.rejected)))
                    st.rerun()
        ui.flash("leads-import")
