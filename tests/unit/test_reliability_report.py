"""docs/reliability.md is what tools/reliability.py wrote from the template: every word of the template is
there, in order, and every figure place is filled (so an edit of the report by hand, or of the template without
running the script, shows here)."""
from pathlib import Path

from tools.reliability import PLACE, render

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_report_is_the_template_filled_in():
    template = (DOCS / "reliability.template.md").read_text(encoding="utf-8")
    report = (DOCS / "reliability.md").read_text(encoding="utf-8")
    assert "{{" not in report
    at = 0
    for piece in PLACE.split(template)[0::2]:   # the text between the places
        found = report.find(piece, at)
        assert found >= 0, f"the report lacks the template's text: {piece[:80]!r}"
        at = found + len(piece)


def test_a_place_without_a_figure_stops_the_script():
    import pytest
    with pytest.raises(SystemExit, match="no figure measured for: a.b"):
        render("x {{a.b}} y", {})
    assert render("{{n}} of {{s}}", {"n": 1234, "s": "x"}) == "1,234 of x"
