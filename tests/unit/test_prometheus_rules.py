"""The alert rules that ship with the collection: each is documented, says what to do, and has a promtool test
that it fires and one that it does not (promtool itself runs them in `make lint`)."""

from __future__ import annotations

import pytest
import yaml

from realtime_testkit.prometheus import RULES, rule_names, rules_holding_for
from realtime_testkit.render import REPO_ROOT

TESTS = REPO_ROOT / "tests" / "prometheus" / "realtime_nginx.rules.test.yml"
ALERTS = rule_names()


def alert_rules():
    return {rule["alert"]: rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]
            if "alert" in rule}


def test_the_rules_are_the_ones_documented():
    readme = (REPO_ROOT / "README.md").read_text()
    assert len(ALERTS) >= 7
    for name in ALERTS + rule_names(kind="record"):
        assert "`%s`" % name in readme, "%s is not in the README" % name


@pytest.mark.parametrize("name", ALERTS)
def test_each_alert_says_what_to_do(name):
    rule = alert_rules()[name]
    assert rule["labels"]["severity"] in ("warning", "critical")
    assert set(rule["annotations"]) == {"summary", "description"}
    assert len(rule["annotations"]["description"]) > 200


@pytest.mark.parametrize("name", ALERTS)
def test_each_alert_is_tested_firing_and_quiet(name):
    cases = [case for group in yaml.safe_load(TESTS.read_text())["tests"] for case in group.get("alert_rule_test", [])
             if case["alertname"] == name]
    assert any(case["exp_alerts"] for case in cases), "no promtool test that %s fires" % name
    assert any(not case["exp_alerts"] for case in cases), "no promtool test that %s stays quiet" % name


def test_the_scenario_s_copy_changes_only_the_hold_times():
    shipped, copy = yaml.safe_load(RULES.read_text()), yaml.safe_load(rules_holding_for("2s"))
    for group, group_copy in zip(shipped["groups"], copy["groups"]):
        for rule, rule_copy in zip(group["rules"], group_copy["rules"]):
            if "alert" in rule:
                assert rule_copy.pop("for") == "2s"
                rule.pop("for", None)
            assert rule_copy == rule
