"""Rules every page keeps, read from the page sources."""
import ast
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"


def test_every_table_shows_an_empty_cell_as_a_dash():
    """The walk saw 'None' in the payment terms editor's empty Milestone cells."""
    missing = []
    for path in APP.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("data_editor", "dataframe") \
                    and not any(k.arg == "placeholder" for k in node.keywords):
                missing.append(f"{path.relative_to(APP)}:{node.lineno}")
    assert missing == []
