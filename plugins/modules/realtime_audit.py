# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the action plugin plugins/action/realtime_audit.py does the work.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: realtime_audit
short_description: Audit an nginx configuration for SSE and WebSocket proxying pitfalls
version_added: 0.1.0
description:
  - Reads the complete nginx configuration as C(nginx -T) prints it, either by running C(nginx -T)
    on the managed host or from O(config), parses it on the controller with crossplane and reports
    findings, each with a severity, the file and line, a message and a fix.
  - "Checks: buffering left on (C(proxy_buffering)) or gzip of C(text/event-stream) where responses are
    event streams; C(proxy_http_version) below 1.1 on streaming and upgrade locations; a WebSocket
    location without the Upgrade/Connection pair; C(map $http_upgrade) outside C(http {});
    an Upgrade forwarded for every token (h2c smuggling); C(Connection: close) sent to keepalive
    upstreams; C(proxy_read_timeout) under 60 s (or unset) on streaming locations; no
    C(worker_shutdown_timeout); C(worker_connections) and C(worker_rlimit_nofile) too low for
    O(expected_streams); C(Access-Control-Allow-Origin *) with credentials; C(proxy_connect_timeout)
    over 60 s; in a location that includes a snippet of the C(realtime.nginx.realtime_proxy) role, the
    C(add_header) and C(proxy_set_header) directives of the server or C(http {}) that the snippet's own hide,
    and headers set again beside it."
  - An Upgrade map that no directive reads is not reported (a hand-written map left beside the role's snippets).
  - A finding in a streaming location written by hand names the C(realtime.nginx.realtime_proxy) snippet that
    replaces it (RV(findings[].replace_with)).
  - "A location counts as SSE when its path has a C(sse), C(event), C(events) or C(stream) segment,
    when it adds an C(X-Accel-Buffering) header, or when it is listed in O(sse_locations). It counts as
    WebSocket when its path has a C(ws), C(wss), C(websocket) or C(socket) segment, when it sets
    the Upgrade request header, or when it is listed in O(websocket_locations). Only locations with
    C(proxy_pass) are checked."
  - Fails when any finding is at or above O(fail_on).
  - This is an action plugin; the configuration is parsed on the controller, which needs the
    C(crossplane) Python library. The managed host needs only nginx.
author:
  - realtime.nginx contributors (!UNKNOWN)
attributes:
  check_mode:
    details: C(nginx -T) only reads, so it runs in check mode as well.
extends_documentation_fragment:
  - realtime.nginx.attributes
  - realtime.nginx.attributes.read_only
  - realtime.nginx.attributes.controller
options:
  config:
    description:
      - The configuration text, as printed by C(nginx -T) (several files, each preceded by
        C(# configuration file PATH:)), or the text of a single C(nginx.conf).
      - When set, nothing runs on the managed host.
    type: str
  nginx:
    description:
      - The nginx binary run on the managed host when O(config) is not set. The same name as in
        M(realtime.nginx.nginx_config) and M(realtime.nginx.nginx_reload).
    type: str
    default: nginx
    aliases: [nginx_path]
  config_file:
    description:
      - The main configuration file passed to C(nginx -T -c) when O(config) is not set.
      - Defaults to the file compiled into nginx (C(/etc/nginx/nginx.conf) on Debian).
    type: path
  fail_on:
    description:
      - Fail when any finding has this severity or a higher one.
      - V(never) only reports.
    type: str
    choices: [low, medium, high, never]
    default: high
  expected_streams:
    description:
      - The number of concurrent SSE or WebSocket streams the proxy must hold.
      - Enables the capacity checks. Each stream holds two connections, so
        C(worker_processes x worker_connections >= 2 x expected_streams) and
        C(worker_rlimit_nofile >= worker_connections) are required.
    type: int
  cpu_count:
    description:
      - The number of CPUs used for C(worker_processes auto) in the capacity checks.
      - Defaults to the C(processor_vcpus) fact when facts were gathered, else 1.
    type: int
  sse_locations:
    description:
      - Location paths (for example C(/feed/)) or full location arguments (for example C(~ ^/api/live))
        to treat as SSE in addition to those recognised by their path.
    type: list
    elements: str
    default: []
  websocket_locations:
    description:
      - Location paths or full location arguments to treat as WebSocket in addition to those
        recognised by their path or their Upgrade header.
    type: list
    elements: str
    default: []
  ignore:
    description:
      - Finding codes to leave out of the report, for example V(read_timeout_default).
    type: list
    elements: str
    default: []
requirements:
  - crossplane (Python library, on the controller)
notes:
  - C(nginx -T) usually needs root to read the configuration; use O(ignore) rather than
    loosening O(fail_on) for a finding that is a deliberate choice.
  - The collection ships a playbook that audits every host of an inventory, prints the report and
    fails on findings at or above a chosen severity, C(ansible-playbook realtime.nginx.audit -i INVENTORY).
seealso:
  - module: realtime.nginx.realtime_probe
"""

EXAMPLES = r"""
- name: Audit the live configuration, fail on high findings
  realtime.nginx.realtime_audit:
  become: true

- name: Audit for 5000 concurrent streams and fail on medium findings too
  realtime.nginx.realtime_audit:
    expected_streams: 5000
    fail_on: medium
  become: true
  register: audit

- name: Audit a configuration dump kept on the controller, report only
  realtime.nginx.realtime_audit:
    config: "{{ lookup('ansible.builtin.file', 'nginx-T.txt') }}"
    fail_on: never
  delegate_to: localhost
"""

RETURN = r"""
findings:
  description: The findings, most severe first.
  returned: success
  type: list
  elements: dict
  contains:
    code:
      description: Identifier of the check, for example C(sse_proxy_buffering) or C(h2c_smuggling).
      type: str
    severity:
      description: V(low), V(medium) or V(high).
      type: str
    file:
      description: The configuration file.
      type: str
    line:
      description: The line of the directive at fault, or of the block that lacks a directive.
      type: int
    location:
      description: The location path the finding is about, if any.
      type: str
    message:
      description: What is wrong.
      type: str
    fix:
      description: How to fix it.
      type: str
    replace_with:
      description:
        - For a finding in a streaming location written by hand, the C(realtime.nginx.realtime_proxy) configuration
          that replaces its directives (with C(realtime_proxy_manage_nginx_conf=false)).
        - C(snippet) is the C(realtime_proxy_snippets) entry (C(name), C(type), C(upstream), and C(upstream_path) or
          timeouts where the location has its own), C(include) the line that becomes the location's body, and
          C(upstream) the C(realtime_proxy_upstreams) entry it needs (C(name), C(servers) of the location's upstream
          block or the address it proxies to).
      type: dict
      returned: for a finding in a hand-written SSE or WebSocket location
      version_added: 0.3.0
  sample:
    - code: sse_proxy_buffering
      severity: high
      file: /etc/nginx/sites-enabled/app.conf
      line: 14
      location: /sse/
      message: "location /sse/ looks like an SSE stream but proxy_buffering is on (the default): nginx holds events back."
      fix: "Add \"proxy_buffering off;\" to the SSE location (and to every proxy layer in front of it)."
blocking:
  description: The findings at or above O(fail_on).
  returned: success
  type: list
  elements: dict
summary:
  description: Number of findings per severity.
  returned: success
  type: dict
  sample: {"high": 1, "medium": 0, "low": 2}
files:
  description: The configuration files that were audited, main file first.
  returned: success
  type: list
  elements: str
  sample: ["/etc/nginx/nginx.conf", "/etc/nginx/sites-enabled/app.conf"]
locations:
  description:
    - The proxied locations and how they were classified.
    - C(snippet) is the C(realtime.nginx.realtime_proxy) snippet the location includes, or null (since 0.3.0).
  returned: success
  type: list
  elements: dict
  sample: [{"file": "/etc/nginx/sites-enabled/app.conf", "line": 12, "location": "/sse/", "sse": true, "websocket": false,
            "snippet": null}]
report:
  description: A readable report of the findings (also in C(msg)).
  returned: success
  type: str
report_lines:
  description: The report split into lines, convenient for M(ansible.builtin.debug).
  returned: success
  type: list
  elements: str
msg:
  description: The report, or why the audit could not run.
  returned: always
  type: str
"""
