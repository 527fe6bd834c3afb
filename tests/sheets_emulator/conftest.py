from tests.sheets_emulator.fixtures import sheets_emulator, sheets_emulator_server  # noqa: F401
