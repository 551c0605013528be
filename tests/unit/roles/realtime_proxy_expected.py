"""What the rendered tree must contain for an inventory, as crossplane sees it.

``expected_tree(settings)`` maps each file the role writes (relative path) to
the directive tree it must parse to: crossplane's ``parsed`` list stripped to
(directive, args, block). ``actual_tree(root)`` parses what was rendered.
Comparing the two catches any injected directive, block or changed argument.

Site and upstream files are derived from the inventory alone. The per-type
presets below are written out from the product's spec (the guide and
meta/argument_specs.yml), not read back from the templates; the forwarded
headers and default timeouts come from vars/main.yml because they are inputs
of the role, like the inventory. Only sites without tls, cors and
allowed_origins are derived (the property test does not generate those).
nginx.conf and realtime_proxy/http.d/* are the baseline (empty inventory)
with the globals the property test varies put in.
"""

from __future__ import annotations

import collections
import functools
import pathlib
import tempfile

import crossplane

from ansible.module_utils.parsing.convert_bool import boolean

from realtime_testkit.render import files_for, merged_variables, render_tree

TYPE_HEADERS = {
    "http": {"Connection": ""},
    "sse": {"Connection": ""},
    "websocket": {"Upgrade": "$realtime_proxy_upgrade", "Connection": "$connection_upgrade"},
}

TYPE_EXTRA = {
    "http": [],
    "sse": [
        ("proxy_buffering", ("off",)),
        ("proxy_cache", ("off",)),
        ("gzip", ("off",)),
        ("chunked_transfer_encoding", ("on",)),
        ("add_header", ("X-Accel-Buffering", "no", "always")),
    ],
    "websocket": [],
}

def d(name, *args, block=None):
    """One directive as compared: (name, args tuple) or (name, args, block)."""
    if block is None:
        return (name, tuple(args))
    return (name, tuple(args), list(block))


def canonical(directives):
    """Order-insensitive form of a directive list (a sorted list, recursively)."""
    out = []
    for item in directives:
        if len(item) == 3:
            out.append((item[0], item[1], canonical(item[2])))
        else:
            out.append((item[0], item[1]))
    return sorted(out, key=repr)


def expected_location(location, merged):
    kind = location["type"]
    preset = merged["realtime_proxy__location_presets"][kind]
    headers = collections.OrderedDict()
    for name, value in merged["realtime_proxy__forwarded_headers"].items():
        headers[name.lower()] = (name, value)
    for name, value in TYPE_HEADERS[kind].items():
        headers[name.lower()] = (name, value)
    for name, value in (location.get("proxy_headers") or {}).items():
        headers[name.lower()] = (name, value)
    block = [d("proxy_pass", "http://%s" % location["upstream"]), d("proxy_http_version", "1.1")]
    block += [d("proxy_set_header", name, value) for name, value in headers.values()]
    block += [
        d("proxy_connect_timeout", "%ss" % location.get("connect_timeout", merged["realtime_proxy_connect_timeout"])),
        d("proxy_read_timeout", "%ss" % location.get("read_timeout", preset["read_timeout"])),
        d("proxy_send_timeout", "%ss" % location.get("send_timeout", preset["send_timeout"])),
    ]
    block += [d(name, *args) for name, args in TYPE_EXTRA[kind]]
    return d("location", location["path"], block=block)


def expected_site(site, merged):
    names = site.get("server_name", "_")
    names = names if isinstance(names, list) else [names]
    flags = ("default_server",) if site.get("default_server", False) else ()
    block = [d("listen", str(listen), *flags) for listen in site["listen"]]
    block.append(d("server_name", *names))
    block += [expected_location(location, merged) for location in site["locations"]]
    return [d("server", block=block)]


def expected_upstream(upstream):
    block = [d("server", server) for server in upstream["servers"]]
    if upstream.get("keepalive") is not None:
        block.append(d("keepalive", str(upstream["keepalive"])))
    return [d("upstream", upstream["name"], block=block)]


# Globals that the property test varies, and the nginx.conf directive each
# one becomes. Everything else in nginx.conf and in realtime_proxy/http.d/
# does not depend on sites or upstreams: it must parse exactly as in a tree
# rendered for an empty inventory (the baseline).
def _replace(directives, name, new, block=None):
    out = []
    for item in directives:
        if item[0] == name:
            out.append(new)
        elif block and item[0] == block and len(item) == 3:
            out.append((item[0], item[1], _replace(item[2], name, new)))
        else:
            out.append(item)
    return out


@functools.lru_cache(maxsize=1)
def _baseline():
    """{path: directives} of the files rendered for an empty inventory."""
    with tempfile.TemporaryDirectory(prefix="rtn-baseline.") as tmp:
        written = render_tree({}, tmp)
        return {rel: tuple(items) for rel, items in actual_tree(tmp, written).items()}


def expected_nginx_conf(merged):
    """The baseline nginx.conf with the varied globals put in.

    A bool option means what Ansible's bool conversion says it means
    (``"false"`` is false), as the argument spec accepts it.
    """
    conf = list(_baseline()["nginx.conf"])
    conf = _replace(conf, "worker_processes", d("worker_processes", str(merged["realtime_proxy_worker_processes"])))
    conf = _replace(conf, "worker_rlimit_nofile", d("worker_rlimit_nofile", str(merged["realtime_proxy_worker_rlimit_nofile"])))
    conf = _replace(conf, "worker_shutdown_timeout",
                    d("worker_shutdown_timeout", "%ss" % merged["realtime_proxy_worker_shutdown_timeout"]))
    conf = _replace(conf, "worker_connections", d("worker_connections", str(merged["realtime_proxy_worker_connections"])),
                    block="events")
    conf = _replace(conf, "server_tokens", d("server_tokens", "on" if boolean(merged["realtime_proxy_server_tokens"]) else "off"),
                    block="http")
    http = [item for item in conf if item[0] == "http"][0]
    body = [item for item in http[2] if item[0] not in ("gzip", "gzip_vary", "gzip_proxied", "gzip_types")]
    if boolean(merged["realtime_proxy_gzip"]):
        body += [d("gzip", "on"), d("gzip_vary", "on"), d("gzip_proxied", "any"),
                 d("gzip_types", *merged["realtime_proxy_gzip_types"])]
    else:
        body.append(d("gzip", "off"))
    return [item if item[0] != "http" else d("http", block=body) for item in conf]


def expected_tree(settings):
    """{relative path: directive list} for an inventory the checks accept."""
    merged = merged_variables(settings)
    tree = {}
    for item in files_for(settings):
        if item["template"] == "nginx.conf.j2":
            tree[item["path"]] = expected_nginx_conf(merged)
        elif item["template"] == "upstream.conf.j2":
            tree[item["path"]] = expected_upstream(item["upstream"])
        elif item["template"] == "site.conf.j2":
            tree[item["path"]] = expected_site(item["site"], merged)
        elif item["path"].startswith("realtime_proxy/http.d/"):
            tree[item["path"]] = list(_baseline()[item["path"]])
        else:
            raise AssertionError("no expectation for %r (template %r)" % (item["path"], item["template"]))
    return tree


def _strip(parsed):
    out = []
    for item in parsed:
        if "block" in item:
            out.append(d(item["directive"], *item["args"], block=_strip(item["block"])))
        else:
            out.append(d(item["directive"], *item["args"]))
    return out


def parse_file(path, main=False):
    """crossplane's directive list of one file (includes not followed).

    Files other than nginx.conf are included inside http {}; parsed alone
    their directives would be out of context, so context checks are off for
    them (the expected tree places them). Any crossplane error fails.
    """
    payload = crossplane.parse(str(path), single=True, comments=False, check_ctx=main, check_args=True)
    if payload["status"] != "ok" or payload["errors"]:
        raise AssertionError("crossplane could not parse %s: %r" % (path, payload["errors"]))
    return _strip(payload["config"][0]["parsed"])


def actual_tree(root, paths):
    root = pathlib.Path(root)
    tree = {}
    for path in paths:
        rel = str(pathlib.Path(path).relative_to(root))
        tree[rel] = parse_file(path, main=(rel == "nginx.conf"))
    return tree


def all_files(root):
    """Every regular file under ROOT, relative."""
    root = pathlib.Path(root)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink())


def iter_args(directives):
    for item in directives:
        yield item[0]
        yield from item[1]
        if len(item) == 3:
            yield from iter_args(item[2])
