#!/usr/bin/python
# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nginx_reload
short_description: Reload nginx and confirm that the new configuration took effect
version_added: "0.1.0"
description:
  - Asks a running nginx to reload, then waits until the master process has started a new
    generation of worker processes.
  - A successful C(nginx -s reload) or C(systemctl reload) only means that a signal was sent.
    When the master cannot apply the new configuration, for example because a listen port is
    held by another process, it logs an C([emerg]) line and keeps serving the old one.
    This module reads the error log written since the signal and fails with those lines.
  - Never restarts nginx, so open connections are not dropped by this module.
  - When nginx is not running, nothing is reloaded and RV(running) is C(false).
author:
  - realtime.nginx contributors (!UNKNOWN)
options:
  pid_file:
    description: The nginx master's PID file.
    type: path
    default: /run/nginx.pid
  error_log:
    description: The error log the master writes to, as set by C(error_log) in the main context.
    type: path
    default: /var/log/nginx/error.log
  service:
    description:
      - The systemd unit to reload with C(systemctl reload), so systemd keeps track of the reload.
      - Without it, or on a host without systemd, the master is sent C(SIGHUP) directly.
    type: str
  timeout:
    description: Seconds to wait for the new workers.
    type: int
    default: 15
  state_dir:
    description:
      - The state directory M(realtime.nginx.nginx_config) keeps. When nginx does not apply the reload, the copy
        of the previous configuration directory kept there is put back into O(conf_dir) and reloaded before the
        module fails, so the live files match what nginx serves.
      - After a confirmed reload, or when nginx is not running (it will load the files when it starts), what
        M(realtime.nginx.nginx_config) last wrote is recorded there as activated.
      - Without it, nothing is rolled back or recorded.
    type: path
  conf_dir:
    description: The nginx configuration directory.
    type: path
    default: /etc/nginx
  nginx:
    description:
      - The nginx binary. When given, the live configuration is tested with C(nginx -t) before the reload,
        and a failing test counts as a failed reload.
    type: path
  rollback:
    description:
      - Instead of activating the live configuration, put back the previous one kept in O(state_dir) and reload
        it, confirming the new generation of workers. For a change that nginx applied but that failed a check
        afterwards, such as the C(realtime.nginx.realtime_proxy) role's C(verify_url) probes.
      - Needs O(state_dir). Fails when there is no previous configuration.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: In check mode nothing is reloaded.
  diff_mode:
    support: none
    details: There is nothing to compare.
  platform:
    details: Reads C(/proc), so it needs Linux.
extends_documentation_fragment:
  - realtime.nginx.attributes
notes:
  - Uses only the Python standard library on the managed host.
  - The C(realtime.nginx.realtime_proxy) role activates every configuration change with this module.
"""

EXAMPLES = r"""
- name: Reload nginx and confirm the new workers
  realtime.nginx.nginx_reload:
    service: nginx
    timeout: 10
"""

RETURN = r"""
running:
  description: Whether an nginx master was running.
  returned: always
  type: bool
master_pid:
  description: The master's process ID.
  returned: when running
  type: int
old_workers:
  description: Worker process IDs before the reload.
  returned: when running
  type: list
  elements: int
new_workers:
  description: Worker process IDs started by the reload.
  returned: when running
  type: list
  elements: int
rolled_back:
  description: Whether the previous configuration was put back (O(rollback=true)).
  returned: with O(rollback=true)
  type: bool
log:
  description: Lines the master wrote to the error log during the reload.
  returned: when running
  type: list
  elements: str
"""

import os
import signal
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.realtime.nginx.plugins.module_utils._nginx_tree import mark_active, mark_rolled_back, restore_previous
from ansible_collections.realtime.nginx.plugins.module_utils._proc import children


def master_pid(pid_file):
    """The PID in PID_FILE if that process is alive, else None."""
    try:
        with open(pid_file) as handle:
            pid = int(handle.read().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def log_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def read_from(path, offset):
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read(1024 * 1024)
    except OSError:
        return []
    return [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            pid_file=dict(type="path", default="/run/nginx.pid"),
            error_log=dict(type="path", default="/var/log/nginx/error.log"),
            service=dict(type="str"),
            timeout=dict(type="int", default=15),
            state_dir=dict(type="path"),
            conf_dir=dict(type="path", default="/etc/nginx"),
            nginx=dict(type="path"),
            rollback=dict(type="bool", default=False),
        ),
        required_if=[("rollback", True, ("state_dir",))],
        supports_check_mode=True,
    )
    params = module.params
    if params["rollback"]:
        roll_back(module)
    pid = master_pid(params["pid_file"])
    if pid is None:
        if params["state_dir"] and not module.check_mode:
            mark_active(params["state_dir"])
        module.exit_json(changed=False, running=False, msg="nginx is not running; nothing to reload")
    old = children(pid)
    result = dict(changed=True, running=True, master_pid=pid, old_workers=sorted(old), new_workers=[], log=[])
    if module.check_mode:
        module.exit_json(**result)

    problem = None
    if params["nginx"]:
        rc, out, err = module.run_command([params["nginx"], "-t", "-q"])
        if rc != 0:
            problem = "nginx -t rejected the live configuration: %s" % (err or out).strip()
    if problem is None:
        problem = reload_and_wait(module, pid, old, result)
    if problem is None:
        if params["state_dir"]:
            mark_active(params["state_dir"])
        module.exit_json(**result)
    if params["state_dir"] and restore_previous(params["state_dir"], params["conf_dir"]):
        # Reload what was put back, so a later reload does not pick up the
        # failed files either; its outcome is reported alongside.
        mark_rolled_back(params["state_dir"])
        again = reload_and_wait(module, pid, children(pid), dict(result))
        problem += (". The previous configuration was put back and reloaded; nginx keeps serving it"
                    if again is None else ". The previous configuration was put back, but reloading it failed too: " + again)
    module.fail_json(msg=problem, **result)


def roll_back(module):
    """Put the previous configuration back and reload it; exit or fail the module."""
    params = module.params
    pid = master_pid(params["pid_file"])
    result = dict(changed=True, running=pid is not None, rolled_back=True, new_workers=[], log=[])
    if module.check_mode:
        module.exit_json(**result)
    if not restore_previous(params["state_dir"], params["conf_dir"]):
        module.fail_json(msg="there is no previous configuration in %s to put back" % params["state_dir"], **result)
    mark_rolled_back(params["state_dir"])
    if pid is None:
        module.exit_json(msg="the previous configuration was put back; nginx is not running", **result)
    problem = reload_and_wait(module, pid, children(pid), result)
    if problem is not None:
        module.fail_json(msg="the previous configuration was put back, but reloading it failed: " + problem, **result)
    module.exit_json(msg="the previous configuration was put back and nginx serves it", **result)


def reload_and_wait(module, pid, old, result):
    """Signal a reload and wait for new workers. None on success, else why not."""
    params = module.params
    offset = log_size(params["error_log"])
    systemctl = module.get_bin_path("systemctl")
    if params["service"] and systemctl and os.path.isdir("/run/systemd/system"):
        rc, out, err = module.run_command([systemctl, "reload", params["service"]])
        if rc != 0:
            result["log"] = read_from(params["error_log"], offset)
            return "systemctl reload %s failed: %s" % (params["service"], (err or out).strip())
    else:
        os.kill(pid, signal.SIGHUP)

    # Only the master's own lines decide: old workers finishing their streams
    # may log alerts of their own while the new generation starts.
    master_tag = " %d#" % pid
    deadline = time.monotonic() + params["timeout"]
    while True:
        lines = read_from(params["error_log"], offset)
        emerg = [line for line in lines if ("[emerg]" in line or "[alert]" in line) and master_tag in line]
        new = children(pid) - old
        result.update(log=lines, new_workers=sorted(new))
        if emerg:
            # The master retries a failing bind() a few times, 500 ms apart;
            # let it finish before anything else is signalled.
            settle_deadline = time.monotonic() + 10
            size = log_size(params["error_log"])
            while time.monotonic() < settle_deadline:
                time.sleep(1.0)
                if log_size(params["error_log"]) == size:
                    break
                size = log_size(params["error_log"])
            emerg = [line for line in read_from(params["error_log"], offset)
                     if ("[emerg]" in line or "[alert]" in line) and master_tag in line]
            unique = [line for index, line in enumerate(emerg) if line not in emerg[:index]]
            return "nginx did not apply the new configuration: %s" % " | ".join(unique)
        if new:
            return None
        if time.monotonic() > deadline:
            return "nginx started no new workers within %d s of the reload signal" % params["timeout"]
        time.sleep(0.1)


if __name__ == "__main__":
    main()
