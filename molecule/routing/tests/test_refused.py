"""Directives and regexes that must not go live never reach the host.

A directive the location's type owns is refused by the role's own checks
before anything on the host is touched, with a message naming the variable
and the type. What only nginx can judge (an unknown directive, a regex that
does not compile) fails the play with nginx's own message from nginx -t on
the staged proposal, and /etc/nginx stays byte for byte as it was.
"""

import copy
import re

import pytest
from conftest import flat, tail
from realtime_testkit.playbook import run_role


def with_location(variables, **location):
    sites = copy.deepcopy(variables["realtime_proxy_sites"])
    sites[0]["locations"].append(dict({"path": "/refused/", "type": "http", "upstream": "a"}, **location))
    return {"realtime_proxy_sites": sites}, "realtime_proxy_sites[0].locations[%d]" % (len(sites[0]["locations"]) - 1)


def test_directive_owned_by_the_type_is_refused_by_name(host, name, variables, unchanged):
    extra, where = with_location(variables, type="sse", directives=[{"proxy_buffering": "on"}])

    run = run_role(name, extra)

    assert run.rc != 0, "the role accepted proxy_buffering on an sse location:\n%s" % tail(run.output)
    message = "%s.directives[0].proxy_buffering: is set by the location type sse" % where
    assert message in flat(run.output), "the play does not say %r:\n%s" % (message, tail(run.output))
    assert "Test the proposed configuration" not in run.output, tail(run.output)


REJECTED_BY_NGINX = {
    "unknown-directive": (
        {"directives": [{"no_such_directive": "x"}]},
        r'\[emerg\] \d+#\d+: unknown directive "no_such_directive" in /etc/nginx/realtime_proxy/sites/routing\.conf:\d+'),
    "invalid-regex": (
        {"path": "(unclosed", "match": "regex"},
        r'\[emerg\] \d+#\d+: pcre2?_compile\(\) failed: missing closing parenthesis in "\(unclosed" '
        r'in /etc/nginx/realtime_proxy/sites/routing\.conf:\d+'),
}


@pytest.mark.parametrize("case", sorted(REJECTED_BY_NGINX))
def test_what_only_nginx_judges_fails_with_its_message_and_changes_nothing(host, name, variables, unchanged, case):
    location, message = REJECTED_BY_NGINX[case]
    extra, unused = with_location(variables, **location)

    run = run_role(name, extra)

    assert run.rc != 0, "nginx should have rejected %s:\n%s" % (case, tail(run.output))
    output = flat(run.output)
    assert "nginx rejected the proposed configuration" in output, tail(run.output)
    assert re.search(message, output), "nginx's message %r is not in the output:\n%s" % (message, tail(run.output))
