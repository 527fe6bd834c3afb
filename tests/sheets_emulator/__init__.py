"""A local, in-memory emulator of the Google Sheets v4 and Drive v3 APIs, for tests and demos.

Unmodified gspread talks to it through ``sync.gsheets_client.client()`` when
``SHEETS_EMULATOR_HOST=host:port`` is set. Tests get it through the ``sheets_emulator`` fixture
(``tests/sheets_emulator/fixtures.py``); run it by hand with
``python -m tests.sheets_emulator.server --port 8089``.
"""
from tests.sheets_emulator.server import EmulatorServer, SheetsEmulator

__all__ = ["EmulatorServer", "SheetsEmulator"]
