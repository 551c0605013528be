# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nginx_info
short_description: Read in one call what a host's nginx is and how many files a service may open
version_added: 0.2.0
description:
  - Learns whether the nginx binary O(nginx) is installed and, if it is, how it was built (C(nginx -V)).
  - "Reads the open-files limit a service may get on the host: the hard C(Max open files) limit of PID 1
    (C(/proc/1/limits)), which systemd's services inherit, and C(fs.nr_open), the kernel's ceiling."
  - "Sizes nginx's C(worker_rlimit_nofile) and C(worker_connections) from that limit (RV(open_files)), as the
    P(realtime.nginx.realtime_proxy_open_files#filter) filter does."
  - "Reads the open-files limits of the running nginx master (O(pid_file)). A master keeps the limits it started
    with through every reload, so when its hard limit is below the C(worker_rlimit_nofile) its workers need and it
    cannot raise it (it lacks C(CAP_SYS_RESOURCE), as in most containers), its workers cannot get that limit until
    nginx restarts. The module then warns, naming C(realtime_proxy_worker_rlimit_nofile), in check mode too."
  - "Also reads, when asked, what a caller left on the host: which of O(packages) are installed, whether the
    systemd unit O(service) is active and enabled, the content and mode of O(files) and whether O(exists) exist."
  - The role C(realtime.nginx.realtime_proxy) reads all of it in this one call, so a run that changes
    nothing makes one round trip to the host for it, and skips each task whose work it finds done.
  - Only reads; the managed host needs Python's standard library only.
author:
  - realtime.nginx contributors (!UNKNOWN)
extends_documentation_fragment:
  - realtime.nginx.attributes
  - realtime.nginx.attributes.read_only
options:
  nginx:
    description:
      - The nginx binary, as an absolute path or a name looked up in E(PATH).
      - The same name as in M(realtime.nginx.nginx_config) and M(realtime.nginx.nginx_reload).
    type: str
    default: nginx
  pid_file:
    description:
      - The PID file of the running nginx master, whose open-files limits are compared with what its workers need.
      - No master is read when the file is missing or names no running nginx master.
    type: path
    default: /run/nginx.pid
    version_added: 0.3.0
  worker_rlimit_nofile:
    description:
      - The C(worker_rlimit_nofile) the configuration gives nginx's workers; V(0) sizes it from the host (its limit,
        at most 65536).
    type: int
    default: 0
    version_added: 0.3.0
  worker_connections:
    description:
      - The C(worker_connections) the configuration gives each worker; V(0) sizes it from C(worker_rlimit_nofile).
    type: int
    default: 0
    version_added: 0.3.0
  packages:
    description:
      - Packages whose installed state to report (RV(installed_packages)), asked of the package manager with
        O(package_status).
    type: list
    elements: str
    default: []
    version_added: 0.3.0
  package_status:
    description:
      - The command that prints one line per package of O(packages) appended to it, the package's name, a space
        and its state (C(installed) for an installed one), and exits 0, or 1 when it knows a package not at all.
      - "Debian's is C([dpkg-query, --show, --showformat=${Package} ${db:Status-Status}\\n])."
    type: list
    elements: str
    default: []
    version_added: 0.3.0
  service:
    description:
      - A systemd unit whose state to report (RV(service)), as C(systemctl is-active) and C(systemctl is-enabled)
        print it.
    type: str
    version_added: 0.3.0
  files:
    description:
      - "Files and directories whose mode, and for a regular file content, to report (RV(files)): small files of
        the caller's such as a systemd drop-in or a state record."
      - Never a file that holds a secret; its content is part of the result.
    type: list
    elements: path
    default: []
    version_added: 0.3.0
  exists:
    description:
      - Paths to report the existence of (RV(exists)), without reading them, such as private keys.
    type: list
    elements: path
    default: []
    version_added: 0.3.0
seealso:
  - module: realtime.nginx.nginx_config
  - plugin: realtime.nginx.realtime_proxy_nginx_features
    plugin_type: filter
  - plugin: realtime.nginx.realtime_proxy_open_files
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Read the host's nginx and open-files limits
  realtime.nginx.nginx_info:
    nginx: /usr/sbin/nginx
  register: host_nginx

- name: Describe the nginx, when there is one
  ansible.builtin.debug:
    msg: "{{ host_nginx.build | realtime.nginx.realtime_proxy_nginx_features('nginx -V') }}"
  when: host_nginx.installed

- name: Size nginx's open files from what the host allows
  ansible.builtin.debug:
    msg: "{{ host_nginx.open_files }}"

- name: Read whether the running nginx can give its workers 65536 open files without a restart
  realtime.nginx.nginx_info:
    worker_rlimit_nofile: 65536
  register: host_nginx

- name: Say so
  ansible.builtin.debug:
    msg: "{{ host_nginx.open_files.shortfall or 'nothing to restart for' }}"
"""

RETURN = r"""
installed:
  description: Whether O(nginx) exists on the host and can be run.
  returned: always
  type: bool
  sample: true
binary:
  description: The path of the binary that was found; empty when it was not.
  returned: always
  type: str
  sample: /usr/sbin/nginx
build:
  description:
    - What C(nginx -V) printed (it prints to standard error), standard output after it; empty when nginx
      is not installed.
  returned: always
  type: str
  sample: "nginx version: nginx/1.22.1\nbuilt with OpenSSL 3.0.11 ...\nconfigure arguments: --with-http_v2_module ..."
limits:
  description: The text of C(/proc/1/limits); empty when it cannot be read.
  returned: always
  type: str
nr_open:
  description: The text of C(/proc/sys/fs/nr_open); empty when it cannot be read.
  returned: always
  type: str
  sample: "1048576\n"
open_files:
  description:
    - C(host_limit), the open files the host allows a service; C(rlimit) and C(connections), the values for
      C(worker_rlimit_nofile) and C(worker_connections); C(errors), one message per value the host cannot give
      nginx (empty when there is none), as the P(realtime.nginx.realtime_proxy_open_files#filter) filter returns them.
    - C(master), the running nginx master's C(pid), its C(soft) and C(hard) open-files limits (V(null) for
      unlimited) and whether it C(can_raise) them (C(CAP_SYS_RESOURCE)); V(null) when no master runs.
    - C(shortfall), the warning when the master's workers cannot get C(rlimit) files until nginx restarts, else
      an empty string.
  returned: always
  type: dict
  sample:
    host_limit: 20000
    rlimit: 8192
    connections: 7782
    errors: []
    master: {pid: 4242, soft: 4096, hard: 4096, can_raise: false}
    shortfall: "realtime_proxy_worker_rlimit_nofile: nginx's workers need 8192 open files, but the running master ..."
  version_added: 0.3.0
installed_packages:
  description: The packages of O(packages) that O(package_status) reports installed.
  returned: always
  type: list
  elements: str
  sample: [nginx]
  version_added: 0.3.0
service:
  description:
    - C(active) and C(enabled), what C(systemctl is-active) and C(systemctl is-enabled) print for O(service);
      empty without O(service) or where C(systemctl) is missing.
  returned: always
  type: dict
  sample: {active: active, enabled: enabled}
  version_added: 0.3.0
files:
  description:
    - For each path of O(files), V(null) when nothing is there, else its C(mode) (octal, as in V(0644)) and, for a
      regular file, its C(content) as text.
  returned: always
  type: dict
  sample: {/etc/systemd/system/nginx.service.d: {mode: "0755"},
           /etc/systemd/system/nginx.service.d/realtime_proxy.conf: {mode: "0644", content: "[Service]\n..."}}
  version_added: 0.3.0
exists:
  description: For each path of O(exists), whether something is there.
  returned: always
  type: dict
  sample: {/etc/letsencrypt/live/realtime_proxy-demo/privkey.pem: true}
  version_added: 0.3.0
page_size:
  description:
    - The size of the host's memory pages in bytes. nginx refuses a shared memory zone under 8 pages; the role
      sizes each upstream's zone from it.
  returned: always
  type: int
  sample: 4096
  version_added: 0.3.0
"""

import os
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.realtime.nginx.plugins.module_utils._open_files import (
    can_raise_limits, host_limit, master_shortfall, open_files_plan, process_open_files)
from ansible_collections.realtime.nginx.plugins.module_utils._proc import cmdline

SOURCES = {"limits": "/proc/1/limits", "nr_open": "/proc/sys/fs/nr_open"}


def read_text(path: str) -> str:
    """The text of PATH, or empty when it cannot be read (a /proc that hides PID 1, say)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def find_binary(module: AnsibleModule, name: str) -> str:
    if os.path.isabs(name):
        return name if os.access(name, os.X_OK) and os.path.isfile(name) else ""
    return module.get_bin_path(name, opt_dirs=["/usr/sbin", "/usr/local/sbin"]) or ""


def running_master(pid_file: str):
    """{pid, soft, hard, can_raise} of the nginx master PID_FILE names, or None when none runs."""
    text = read_text(pid_file).strip()
    if not text.isdigit() or not cmdline(text).startswith("nginx: master process"):
        return None
    try:
        soft, hard = process_open_files(read_text("/proc/%s/limits" % text))
    except ValueError:
        return None
    return {"pid": int(text), "soft": soft, "hard": hard, "can_raise": can_raise_limits(read_text("/proc/%s/status" % text))}


def installed_packages(module, names, status_command):
    """The packages of NAMES that STATUS_COMMAND (argv, NAMES appended) reports installed."""
    if not names or not status_command:
        return []
    rc, out, err = module.run_command(list(status_command) + list(names))
    if rc not in (0, 1):  # 1: a package the package manager has never heard of, which is not installed
        module.fail_json(msg="%s failed (rc %d): %s" % (" ".join(status_command), rc, (err or out).strip()[-500:]))
    found = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1] == "installed":
            found.add(fields[0])
    return [name for name in names if name in found]


def service_state(module, name):
    """{active, enabled} of systemd unit NAME, as systemctl prints them; empty without one or without systemctl."""
    systemctl = module.get_bin_path("systemctl") if name else None
    if not systemctl:
        return {}
    state = {}
    for key, verb in (("active", "is-active"), ("enabled", "is-enabled")):
        unused, out, unused2 = module.run_command([systemctl, verb, name])
        state[key] = out.strip()
    return state


def file_state(path):
    """None when nothing is at PATH, else its mode and, for a regular file, its content."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    found = {"mode": "%04o" % stat.S_IMODE(info.st_mode)}
    if stat.S_ISREG(info.st_mode):
        found["content"] = read_text(path)
    return found


def main():
    module = AnsibleModule(argument_spec=dict(
        nginx=dict(type="str", default="nginx"),
        pid_file=dict(type="path", default="/run/nginx.pid"),
        worker_rlimit_nofile=dict(type="int", default=0),
        worker_connections=dict(type="int", default=0),
        packages=dict(type="list", elements="str", default=[]),
        package_status=dict(type="list", elements="str", default=[]),
        service=dict(type="str"),
        files=dict(type="list", elements="path", default=[]),
        exists=dict(type="list", elements="path", default=[]),
    ), supports_check_mode=True)
    binary = find_binary(module, module.params["nginx"])
    build = ""
    if binary:
        rc, out, err = module.run_command([binary, "-V"])
        if rc != 0:
            module.fail_json(msg="%s -V failed (rc %d): %s" % (binary, rc, (err or out).strip()[-500:]))
        build = err + out
    texts = {key: read_text(path) for key, path in SOURCES.items()}
    try:
        open_files = open_files_plan(host_limit(texts["limits"], texts["nr_open"]), module.params["worker_rlimit_nofile"],
                                     module.params["worker_connections"])
    except ValueError as error:
        module.fail_json(msg="cannot read the open files this host allows a service from %s and %s: %s"
                         % (SOURCES["limits"], SOURCES["nr_open"], error), **texts)
    open_files["master"] = running_master(module.params["pid_file"])
    open_files["shortfall"] = master_shortfall(open_files["rlimit"], open_files["master"]) or ""
    if open_files["shortfall"]:
        module.warn(open_files["shortfall"])
    params = module.params
    module.exit_json(changed=False, installed=bool(binary), binary=binary, build=build, open_files=open_files,
                     page_size=os.sysconf("SC_PAGE_SIZE"),
                     installed_packages=installed_packages(module, params["packages"], params["package_status"]),
                     service=service_state(module, params["service"]),
                     files={path: file_state(path) for path in params["files"]},
                     exists={path: os.path.lexists(path) for path in params["exists"]}, **texts)


if __name__ == "__main__":
    main()
