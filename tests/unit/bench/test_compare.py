"""`python -m bench compare`: two runs' verdicts, goal by goal (pure: results JSONs only)."""

from __future__ import annotations

import copy
import json
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))

from bench.__main__ import main  # noqa: E402
from bench.goals import verdicts  # noqa: E402
from bench.report import _derived  # noqa: E402

RECORDED = pathlib.Path(__file__).with_name("recorded_results.json")


def write(tmp_path, name, results) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(results))
    return str(path)


def test_a_run_compared_with_itself_has_the_same_verdicts_and_records_them(tmp_path, capsys):
    results = json.loads(RECORDED.read_text())
    first, second = write(tmp_path, "a.json", results), write(tmp_path, "b.json", results)
    assert main(["compare", first, second, "--record"]) == 0
    assert "every goal has the same verdict" in capsys.readouterr().out
    recorded = json.loads(pathlib.Path(second).read_text())
    assert [set(run["verdicts"]) for run in recorded["repeats"]] == [
        {goal for goal, unused, unused2 in verdicts(results)}]
    assert _derived(recorded)["same_verdicts"] is True
    assert recorded["repeats"][0]["quick"] is False  # the recorded run measured 1, 30, 150 and 300 sites


def test_three_runs_keep_every_earlier_runs_verdicts_and_the_page_shows_each(tmp_path, capsys):
    results = json.loads(RECORDED.read_text())
    runs = []
    for n, date in enumerate(["2026-12-08 01:00 UTC", "2026-12-08 02:00 UTC", "2026-12-08 03:00 UTC"]):
        run = copy.deepcopy(results)
        run["machine"]["date"] = date
        runs.append(write(tmp_path, "%d.json" % n, run))
    assert main(["compare", runs[0], runs[1], "--record"]) == 0
    assert main(["compare", runs[1], runs[2], "--record"]) == 0
    last = json.loads(pathlib.Path(runs[2]).read_text())
    assert [run["date"] for run in last["repeats"]] == ["2026-12-08 01:00 UTC", "2026-12-08 02:00 UTC"]
    derived = _derived(last)
    assert derived["same_verdicts"] is True and derived["newer_goals"] == 0
    # A verdict that flipped in the first run only still shows on the third run's page.
    first = last["repeats"][0]["verdicts"]
    goal = next(iter(first))
    first[goal]["met"] = not first[goal]["met"]
    assert _derived(last)["same_verdicts"] is False


def test_a_verdict_that_flips_is_reported(tmp_path, capsys):
    results = json.loads(RECORDED.read_text())
    slower = copy.deepcopy(results)
    slower["converge"]["noop"]["wall_s"] = 60.0  # the no-op goal is met in the recorded run
    assert main(["compare", write(tmp_path, "a.json", results), write(tmp_path, "b.json", slower),
                 "--record"]) == 1
    out = capsys.readouterr().out
    assert "DIFFERS" in out and "verdicts differ" in out
    assert _derived(json.loads((tmp_path / "b.json").read_text()))["same_verdicts"] is False
