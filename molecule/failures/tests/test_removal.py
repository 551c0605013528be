"""Removal: what the inventory no longer describes stops being served.

A site or upstream with ``state: absent``, or a site that is simply gone from
the inventory, loses its file in /etc/nginx/realtime_proxy, nginx is reloaded
(new workers), the removed site stops answering and the others keep answering.
"""

import copy

from conftest import backend_of, tail
from realtime_testkit.hosts import http_get, nginx_processes, port_accepts
from realtime_testkit.playbook import config_checksums, run_role

SITES = "/etc/nginx/realtime_proxy/sites/"
UPSTREAMS = "/etc/nginx/realtime_proxy/upstreams/"


def changed_paths(before, after):
    return sorted(path for path in set(before) | set(after) if before.get(path) != after.get(path))


def assert_other_site_answers(variables):
    answer = http_get("http://127.0.0.1:%d/info" % variables["realtime_test_other_port"], timeout=5)
    assert backend_of(answer).endswith("-18201")


def test_state_absent_removes_site_and_upstream(host, name, variables, base, good_inventory):
    other_port = variables["realtime_test_other_port"]
    assert_other_site_answers(variables)
    assert backend_of(http_get("http://%s/extra/info" % base)).endswith("-18203")
    upstreams = copy.deepcopy(variables["realtime_proxy_upstreams"])
    sites = copy.deepcopy(variables["realtime_proxy_sites"])
    [extra] = [u for u in upstreams if u["name"] == "extra"]
    extra["state"] = "absent"
    sites[0]["locations"] = [loc for loc in sites[0]["locations"] if loc["upstream"] != "extra"]
    sites[1]["state"] = "absent"
    before = config_checksums(host)
    unused, workers = nginx_processes(host)

    run = run_role(name, {"realtime_proxy_upstreams": upstreams, "realtime_proxy_sites": sites})

    assert run.rc == 0, tail(run.messages)
    after = config_checksums(host)
    assert changed_paths(before, after) == [SITES + "main.conf", SITES + "other.conf", UPSTREAMS + "extra.conf"]
    assert SITES + "other.conf" not in after and UPSTREAMS + "extra.conf" not in after
    assert not workers & nginx_processes(host)[1], "nginx was not reloaded"
    dump = host.run("nginx -T").stdout
    assert "upstream extra" not in dump and "18202" not in dump
    assert not port_accepts(other_port), "the removed site still answers"
    # /extra/ now falls through to the main site's "/" location.
    assert backend_of(http_get("http://%s/extra/info" % base)).endswith("-18201")
    assert backend_of(http_get("http://%s/api/info" % base)).endswith("-18201")


def test_site_missing_from_inventory_is_removed(host, name, variables, base, good_inventory):
    other_port = variables["realtime_test_other_port"]
    assert_other_site_answers(variables)
    sites = [site for site in variables["realtime_proxy_sites"] if site["name"] != "other"]
    before = config_checksums(host)

    run = run_role(name, {"realtime_proxy_sites": sites})

    assert run.rc == 0, tail(run.messages)
    assert changed_paths(before, config_checksums(host)) == [SITES + "other.conf"]
    assert "18202" not in host.run("nginx -T").stdout
    assert not port_accepts(other_port), "a site gone from the inventory still answers"
    assert backend_of(http_get("http://%s/api/info" % base)).endswith("-18201")
