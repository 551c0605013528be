"""docs/performance.md is the page of the figures committed beside it, docs/performance/results.json.

`make bench` writes both from one run; `python -m bench report --results
docs/performance/results.json` renders the page again after a change to the
template. A page edited by hand, or a template changed without rendering it
again, fails here.
"""

from __future__ import annotations

import json
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from bench import report  # noqa: E402

FIGURES = REPO / "docs" / "performance" / "results.json"


def test_the_committed_page_is_rendered_from_the_committed_figures():
    results = json.loads(FIGURES.read_text())
    assert results == report.figures(results), "raw series belong in bench-results/, not beside the page"
    assert report.markdown(results) == (REPO / "docs" / "performance.md").read_text()


def test_figures_render_without_their_raw_series(tmp_path):
    written = report.write(json.loads(FIGURES.read_text()), tmp_path)
    names = {path.name for path in written}
    assert {"performance.md", "results.json", "capacity.png", "streams_cost.png"} <= names
    assert not {"sse_delay.png", "ws_rtt.png", "reload.png"} & names  # drawn from raw series only
    assert (tmp_path / "performance.md").read_text() == (REPO / "docs" / "performance.md").read_text()
