"""docs/interop.md is the page of the results committed beside it, docs/interop/results.json.

`SCENARIOS=interop make molecule` writes a run's results to build/; `make
interop-report` copies them beside the page and renders it
(tests/interop/report.py). A page edited by hand, or a generator changed
without rendering the page again, fails here.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[3]
_SPEC = importlib.util.spec_from_file_location("interop_report", REPO / "tests" / "interop" / "report.py")
report = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(report)

RESULTS = json.loads((REPO / "docs" / "interop" / "results.json").read_text())


def test_the_committed_page_is_rendered_from_the_committed_results():
    assert report.markdown(RESULTS) == (REPO / "docs" / "interop.md").read_text()


def test_the_committed_results_are_a_passing_run_of_every_kind_of_cell():
    cells = RESULTS["cells"]
    assert RESULTS["counts"]["fail"] == 0 == sum(cell["status"] == "fail" for cell in cells)
    assert {cell["group"] for cell in cells} == {"matrix", "behaviour", "n/a"}
    assert {cell["http_version"] for cell in cells if cell["status"] == "pass"} >= {"http/1.1", "http/2", "http/3"}


def test_a_failed_cell_is_on_the_page_with_what_was_wrong():
    results = copy.deepcopy(RESULTS)
    cell = next(cell for cell in results["cells"] if cell["group"] == "matrix" and cell["http_version"] == "http/3")
    cell.update(status="fail", reason="host: None, not 'localhost:17461'")
    results["counts"] = dict(results["counts"], fail=1, **{"pass": results["counts"]["pass"] - 1})
    page = report.markdown(results)
    assert "## Failed cells" in page and "host: None, not 'localhost:17461'" in page
    assert "**FAIL**" in page and ", 1 failed," in page
