"""Unexpected errors (a defect or an outage, not a refusal): logged in full under a short incident id, and the
person told only the id, so no traceback reaches the terminal or the browser and support can find the entry.

The log is `<LTC_DATA_DIR>/logs/incidents.log` (one line per incident, then its traceback)."""
from __future__ import annotations

import logging
import secrets
from pathlib import Path

from config.settings import get_settings

LOG_NAME = "incidents.log"
_log = logging.getLogger("ltc.incidents")


def log_path() -> Path:
    return get_settings().data_dir / "logs" / LOG_NAME


def _handler() -> None:
    path = log_path()
    if any(getattr(h, "baseFilename", None) == str(path.resolve()) for h in _log.handlers):
        return
    for old in list(_log.handlers):   # the data folder changed (tests, a second configuration): log there only
        _log.removeHandler(old)
        old.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    _log.addHandler(handler)
    _log.propagate = False   # the traceback goes to the file, not to the person's terminal
    _log.setLevel(logging.ERROR)


def report(exc: BaseException, where: str) -> str:
    """Log `exc` with its traceback; return the incident id to show. Never raises: reporting an error must not
    become a second one (a read-only data folder still gets an id, logged to stderr instead)."""
    incident = secrets.token_hex(4).upper()
    try:
        _handler()
        _log.error("incident %s in %s: %s: %s", incident, where, type(exc).__name__, exc, exc_info=exc)
    except OSError:
        logging.getLogger("ltc").error("incident %s in %s", incident, where, exc_info=exc)
    return incident
