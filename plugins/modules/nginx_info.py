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
  - The role C(realtime.nginx.realtime_proxy) reads all of it in this one call, so a run that changes
    nothing makes one round trip to the host for it instead of four.
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
    msg: "{{ host_nginx.limits | realtime.nginx.realtime_proxy_open_files(host_nginx.nr_open, 0, 0) }}"
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

from ansible.module_utils.basic import AnsibleModule

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


def main():
    module = AnsibleModule(argument_spec=dict(nginx=dict(type="str", default="nginx")), supports_check_mode=True)
    binary = find_binary(module, module.params["nginx"])
    build = ""
    if binary:
        rc, out, err = module.run_command([binary, "-V"])
        if rc != 0:
            module.fail_json(msg="%s -V failed (rc %d): %s" % (binary, rc, (err or out).strip()[-500:]))
        build = err + out
    module.exit_json(changed=False, installed=bool(binary), binary=binary, build=build,
                     page_size=os.sysconf("SC_PAGE_SIZE"), **{key: read_text(path) for key, path in SOURCES.items()})


if __name__ == "__main__":
    main()
