# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the action plugin plugins/action/realtime_proxy_plan.py does the work.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: realtime_proxy_plan
short_description: Check the realtime_proxy role's inventory and read the host once, for the role's run
version_added: 0.3.0
description:
  - What one host's run of the C(realtime.nginx.realtime_proxy) role needs to know, learned in one task
    (the role's C(tasks/plan.yml)); the role gives its result the names its tasks and templates read.
  - "First the inventory: every public variable of the role (a name that starts with C(realtime_proxy_)
    followed by a letter or digit) is templated once and checked, as the
    P(realtime.nginx.realtime_proxy_errors#filter) filter checks it. A refusal names each variable, and
    nothing on the host has been read."
  - "Then the host, in one call of M(realtime.nginx.nginx_info), which only reads: nginx's build, the open
    files a service may have and what the running master gives its workers, which of O(packages) are
    installed, the state of O(service), the content of O(files), and which certificates certbot keeps for the
    sites with C(tls.acme) (by existence only)."
  - "Then what this nginx cannot serve is refused by name: open files the host cannot give it, and settings
    that need a module it was built without (before nginx is installed, the release's package build
    O(packaged_nginx) stands in for it; a check-mode run warns that it renders for that build)."
  - Runs on the controller, but for the one call of M(realtime.nginx.nginx_info) on the host. Changes nothing.
author:
  - realtime.nginx contributors (!UNKNOWN)
extends_documentation_fragment:
  - realtime.nginx.attributes
  - realtime.nginx.attributes.read_only
  - realtime.nginx.attributes.controller
options:
  nginx:
    description: The nginx binary, as in M(realtime.nginx.nginx_info).
    type: str
    required: true
  pid_file:
    description: The running nginx master's PID file, as in M(realtime.nginx.nginx_info).
    type: path
    required: true
  service:
    description: nginx's systemd unit, whose state is read (RV(host.service)).
    type: str
  packages:
    description: Every package the role may install, whose installed state is read (RV(host.installed_packages)).
    type: list
    elements: str
    default: []
  package_status:
    description: How the package manager is asked, as in M(realtime.nginx.nginx_info).
    type: list
    elements: str
    default: []
  files:
    description:
      - Files of the role's to read back (RV(host.files)), as in M(realtime.nginx.nginx_info); never a secret.
    type: list
    elements: path
    default: []
  packaged_nginx:
    description:
      - The build of the release's nginx package, C(version) and C(modules), assumed until nginx is installed
        (the role's C(realtime_proxy__packaged_nginx)).
    type: dict
    required: true
  release:
    description: The host's distribution and major release, as messages name it (V(Debian 12)).
    type: str
    required: true
  acme_live_dir:
    description: Where certbot keeps each certificate's C(fullchain.pem) and C(privkey.pem), by certificate name.
    type: path
    required: true
  metrics_exporters:
    description: The OS family's exporters, for the metrics plan (the role's C(realtime_proxy__metrics_exporters)).
    type: dict
    required: true
  service_dropin_template:
    description:
      - A template of the role's (found as the P(ansible.builtin.template#lookup) lookup finds it) to render as the
        M(ansible.builtin.template) module would for this host (RV(service_dropin)), with the public variables and
        C(realtime_proxy__open_files).
      - The role's systemd drop-in, so that a run compares it with the file on the host (RV(host.files)) and skips
        writing it when they are the same.
    type: str
notes:
  - Made for the C(realtime.nginx.realtime_proxy) role, which runs it first on every host.
seealso:
  - module: realtime.nginx.nginx_info
  - plugin: realtime.nginx.realtime_proxy_errors
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Check the inventory and read the host, as the role does
  realtime.nginx.realtime_proxy_plan:
    nginx: /usr/sbin/nginx
    pid_file: /run/nginx.pid
    service: nginx
    packages: [nginx, certbot]
    package_status: [dpkg-query, --show, "--showformat=${Package} ${db:Status-Status}\n"]
    packaged_nginx: {version: 1.22.1, modules: [http_ssl, http_v2, http_realip, http_stub_status]}
    release: Debian 12
    acme_live_dir: /etc/letsencrypt/live
    metrics_exporters: "{{ realtime_proxy__metrics_exporters }}"
    service_dropin_template: service-dropin.conf.j2
  register: realtime_proxy__plan
"""

RETURN = r"""
host:
  description: What M(realtime.nginx.nginx_info) read, as it returns it.
  returned: success
  type: dict
  contains:
    installed:
      description: Whether nginx is installed.
      type: bool
    installed_packages:
      description: The packages of O(packages) that are installed.
      type: list
      elements: str
    service:
      description: C(active) and C(enabled) of O(service), as C(systemctl) prints them.
      type: dict
    files:
      description: For each path of O(files), V(null) when nothing is there, else its C(mode) and, for a regular file, its C(content).
      type: dict
nginx:
  description: The nginx's version, modules and syntax, as P(realtime.nginx.realtime_proxy_nginx_features#filter) gives them.
  returned: success
  type: dict
open_files:
  description: C(worker_rlimit_nofile) and C(worker_connections) sized for the host, and the running master's shortfall.
  returned: success
  type: dict
acme_requests:
  description: What certbot is asked for, one entry per present site with C(tls.acme).
  returned: success
  type: list
  elements: dict
acme_issued:
  description: The sites with C(tls.acme) whose certificate and key exist, by name, with their paths.
  returned: success
  type: dict
metrics_plan:
  description: The exporters C(realtime_proxy_metrics) asks of the host, as P(realtime.nginx.realtime_proxy_metrics_plan#filter) gives them.
  returned: success
  type: dict
service_dropin:
  description: The text O(service_dropin_template) renders for this host.
  returned: with O(service_dropin_template)
  type: str
msg:
  description:
    - On a refusal, its lines; the first says which kind it is.
    - Before nginx is installed, what the run assumes of it.
  returned: on a refusal, or before nginx is installed
  type: raw
"""
