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
    assert set(recorded["repeat"]["verdicts"]) == {goal for goal, unused, unused2 in verdicts(results)}
    assert _derived(recorded)["same_verdicts"] is True
    assert recorded["repeat"]["quick"] is False  # the recorded run measured 1, 30, 150 and 300 sites


def test_a_verdict_that_flips_is_reported(tmp_path, capsys):
    results = json.loads(RECORDED.read_text())
    slower = copy.deepcopy(results)
    slower["converge"]["noop"]["wall_s"] = 60.0  # the no-op goal is met in the recorded run
    assert main(["compare", write(tmp_path, "a.json", results), write(tmp_path, "b.json", slower),
                 "--record"]) == 1
    out = capsys.readouterr().out
    assert "DIFFERS" in out and "verdicts differ" in out
    assert _derived(json.loads((tmp_path / "b.json").read_text()))["same_verdicts"] is False
