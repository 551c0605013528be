"""A change that nginx rejects leaves everything as it was.

Each change passes the role's input checks but not nginx: the play must fail
with nginx's own message, leave every file under /etc/nginx byte for byte as
it was, keep nginx serving the old configuration, and the next run with good
inventory must apply a new configuration normally.
"""

import copy
import json
import re
import socket

import pytest
from conftest import FOREIGN, assert_serving_old_config, flat, tail
from realtime_testkit.hosts import file_state, held_port, http_get, nginx_processes, port_accepts
from realtime_testkit.playbook import config_checksums, run_role


def unresolvable_upstream(variables):
    upstreams = copy.deepcopy(variables["realtime_proxy_upstreams"])
    upstreams[0]["servers"] = ["no-such-host.invalid:18299"]
    return {"realtime_proxy_upstreams": upstreams}


def duplicate_default_server(variables):
    sites = copy.deepcopy(variables["realtime_proxy_sites"])
    for site in ("dup-a", "dup-b"):
        sites.append({"name": site, "server_name": site + ".test", "listen": ["127.0.0.1:18240"],
                      "default_server": True, "locations": [{"path": "/", "type": "http", "upstream": "app"}]})
    return {"realtime_proxy_sites": sites}


def missing_certificate(variables):
    sites = copy.deepcopy(variables["realtime_proxy_sites"])
    sites[0]["tls"] = {"listen": ["127.0.0.1:18241"], "certificate": "/etc/ssl/realtime-missing.crt",
                       "certificate_key": "/etc/ssl/realtime-missing.key"}
    return {"realtime_proxy_sites": sites}


REJECTED = {
    "missing-certificate": (
        missing_certificate,
        [r'\[emerg\] \d+#\d+: cannot load certificate "/etc/ssl/realtime-missing\.crt"']),
    "unresolvable-upstream": (
        unresolvable_upstream,
        [r'\[emerg\] \d+#\d+: host not found in upstream "no-such-host\.invalid:18299" '
         r'in /etc/nginx/realtime_proxy/upstreams/app\.conf:\d+']),
    "duplicate-default-server": (
        duplicate_default_server,
        [r'\[emerg\] \d+#\d+: a duplicate default server for 127\.0\.0\.1:18240 '
         r'in /etc/nginx/realtime_proxy/sites/dup-b\.conf:\d+']),
}


def with_new_location(variables, case):
    """The scenario's inventory plus a location that only the new configuration has."""
    sites = copy.deepcopy(variables["realtime_proxy_sites"])
    sites[0]["locations"].append({"path": "/new/", "type": "http", "upstream": "app",
                                  "proxy_headers": {"X-Rtn-Case": case}})
    return {"realtime_proxy_sites": sites}


def assert_new_location_serves(base, case):
    answer = http_get("http://%s/new/info" % base, timeout=5)
    assert answer.status == 200, (answer.status, answer.error, answer.body[:300])
    assert json.loads(answer.body)["headers"].get("X-Rtn-Case") == case


def staging_dirs(host):
    """The role's staging directories on the host (their names have varied: match any 'realtime')."""
    return host.check_output("find /tmp /var/tmp -maxdepth 1 -name '*realtime*' | sort")


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_change_rejected_by_nginx_changes_nothing(host, name, variables, base, good_inventory, case):
    make_vars, messages = REJECTED[case]
    before = config_checksums(host)
    workers = nginx_processes(host)
    staged = staging_dirs(host)

    run = run_role(name, make_vars(variables))

    assert run.rc != 0, "nginx should have rejected %s:\n%s" % (case, tail(run.messages))
    output = flat(run.messages)
    assert "nginx rejected the proposed configuration" in output, tail(run.messages)
    for message in messages:
        assert re.search(message, output), "nginx's message %r is not in the output:\n%s" % (message, tail(run.messages))
    assert "/proposed" not in output, "the message names the staging copy, not /etc/nginx"
    assert config_checksums(host) == before
    assert nginx_processes(host) == workers, "nginx was reloaded although nothing should have changed"
    assert staging_dirs(host) == staged, "the staging copy was left behind"
    assert_serving_old_config(base)

    good = run_role(name, with_new_location(variables, case))
    assert good.rc == 0, tail(good.messages)
    assert_new_location_serves(base, case)
    assert_serving_old_config(base)


def test_listen_port_held_by_another_process_rolls_back(host, name, variables, base, good_inventory):
    """nginx -t does not bind listen sockets: only the reload fails, and the role must undo it."""
    sites = copy.deepcopy(variables["realtime_proxy_sites"])
    sites.append({"name": "taken", "server_name": "_", "listen": ["127.0.0.1:18220"],
                  "locations": [{"path": "/", "type": "http", "upstream": "app",
                                 "proxy_headers": {"X-Rtn-Case": "taken"}}]})
    before = config_checksums(host)
    staged = staging_dirs(host)
    foreign_states = {path: file_state(host, path) for path in FOREIGN}
    assert host.run("nginx -T").stdout.count("18220") == 0

    with held_port(18220) as foreign:
        run = run_role(name, {"realtime_proxy_sites": sites})

        assert run.rc != 0, "the reload cannot bind 127.0.0.1:18220:\n%s" % tail(run.messages)
        output = flat(run.messages)
        assert re.search(r"\[emerg\] .*bind\(\) to 127\.0\.0\.1:18220 failed \(98: Address already in use\)", output), \
            tail(run.messages)
        assert "previous configuration was put back" in output, tail(run.messages)
        # nginx retries bind() 5 times, 0.5 s apart: a rollback reload sent meanwhile must
        # not read the failed reload's later lines as its own failure.
        assert "reloading it failed too" not in output, tail(run.messages)
        after = config_checksums(host)
        assert after == before, "files differ after the rollback: %s" % sorted(
            path for path in set(before) | set(after) if before.get(path) != after.get(path))
        assert host.run("nginx -t").rc == 0
        assert "18220" not in host.run("nginx -T").stdout
        assert staging_dirs(host) == staged, "the staging copy was left behind"
        touched = {path: (foreign_states[path], file_state(host, path)) for path in FOREIGN
                   if file_state(host, path) != foreign_states[path]}
        # The rollback touches only what differs: files the role does not own
        # keep their inode, owner and timestamps.
        assert not touched, "the rollback rewrote files the role does not own (before, after): %s" % touched
        assert_serving_old_config(base)
        # The port still belongs to the other process, not to nginx.
        client = socket.create_connection(("127.0.0.1", 18220), timeout=2)
        conn, unused = foreign.accept()
        client.close()  # the client closes first: no TIME_WAIT on 18220
        conn.close()

    # The port is free again: the same inventory now goes live.
    assert not port_accepts(18220)
    good = run_role(name, {"realtime_proxy_sites": sites})
    assert good.rc == 0, tail(good.messages)
    answer = http_get("http://127.0.0.1:18220/info", timeout=5)
    assert answer.status == 200, (answer.status, answer.error)
    assert json.loads(answer.body)["headers"].get("X-Rtn-Case") == "taken"
    assert_serving_old_config(base)
