"""The one place that builds a gspread client for the Google Sheets backend.

``client()`` returns an unmodified ``gspread.Client``:

- with ``SHEETS_EMULATOR_HOST=host:port`` set (Google's ``*_EMULATOR_HOST`` convention), it talks to
  a local emulator over plain HTTP with no credentials: its requests session carries a transport
  adapter that rewrites ``https://sheets.googleapis.com`` and ``https://www.googleapis.com`` (Drive)
  to ``http://host:port`` and sends no ``Authorization`` header;
- otherwise it authenticates with a service-account JSON key, from the ``credentials_file``
  argument or ``GOOGLE_APPLICATION_CREDENTIALS``.

Retries (429 / 5xx with backoff) are the sync's job, not this module's; pass
``http_client=gspread.BackOffHTTPClient`` if you want gspread's own.
"""
from __future__ import annotations

import os
from pathlib import Path

import gspread
import requests
from google.auth.credentials import AnonymousCredentials
from gspread.http_client import HTTPClient, HTTPClientType
from requests.adapters import HTTPAdapter

from config.settings import get_settings

EMULATOR_ENV = "SHEETS_EMULATOR_HOST"
CREDENTIALS_ENV = "GOOGLE_APPLICATION_CREDENTIALS"
GOOGLE_API_ORIGINS = ("https://sheets.googleapis.com", "https://www.googleapis.com")


class SheetsConfigError(RuntimeError):
    """Neither an emulator nor usable service-account credentials are configured."""


class EmulatorAdapter(HTTPAdapter):
    """Sends requests for the Google API origins to the emulator at ``base_url`` instead."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def send(self, request, **kwargs):
        for origin in GOOGLE_API_ORIGINS:
            if request.url == origin or request.url.startswith(origin + "/"):
                request.url = self.base_url + request.url[len(origin):]
                break
        request.headers.pop("Authorization", None)
        kwargs["proxies"] = {}            # never route the local emulator through a proxy
        return super().send(request, **kwargs)


def _emulator_base_url(host: str) -> str:
    host = host.strip().rstrip("/")
    for scheme in ("http://", "https://"):
        if host.startswith(scheme):
            host = host[len(scheme):]
    name, _, port = host.rpartition(":")
    if not name or not port.isdigit():
        raise SheetsConfigError(f"{EMULATOR_ENV} must be host:port, got {host!r}")
    return f"http://{host}"


def emulator_session(host: str) -> requests.Session:
    """A requests session whose Google API traffic goes to the emulator at ``host:port``."""
    session = requests.Session()
    session.trust_env = False             # no proxies or netrc credentials from the environment
    adapter = EmulatorAdapter(_emulator_base_url(host))
    for origin in GOOGLE_API_ORIGINS:
        session.mount(origin, adapter)
    return session


def emulator_client(host: str, *, http_client: HTTPClientType = HTTPClient) -> gspread.Client:
    """An unmodified gspread client pointed at the emulator at ``host:port``, with no credentials."""
    gc = gspread.Client(auth=None, session=emulator_session(host), http_client=http_client)  # type: ignore[arg-type]
    gc.http_client.auth = AnonymousCredentials()   # adds no header; keeps .auth present like a real client
    return gc


def client(credentials_file: str | os.PathLike | None = None, *,
           http_client: HTTPClientType = HTTPClient) -> gspread.Client:
    """A gspread client: the emulator when ``SHEETS_EMULATOR_HOST`` is set, else a service account.

    ``credentials_file`` (or ``GOOGLE_APPLICATION_CREDENTIALS``) is the service account's JSON key;
    share each department's spreadsheet with that account's e-mail address.
    """
    settings = get_settings()
    host = settings.sheets_emulator_host.strip()
    if host:
        return emulator_client(host, http_client=http_client)
    path = credentials_file or settings.google_credentials.strip()
    if not path:
        raise SheetsConfigError(
            f"No Google Sheets credentials: set {CREDENTIALS_ENV} to a service-account JSON key file "
            f"(or pass its path), or set {EMULATOR_ENV}=host:port to use a local emulator.")
    if not Path(path).is_file():
        raise SheetsConfigError(f"Service-account key file not found: {path} (from {CREDENTIALS_ENV} "
                                "or the path argument)")
    return gspread.service_account(filename=str(path), http_client=http_client)
