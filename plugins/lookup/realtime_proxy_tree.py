# Copyright: realtime.nginx contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
name: realtime_proxy_tree
version_added: 0.3.0
short_description: The configuration files of the realtime_proxy role, rendered from its templates
description:
  - "Renders the C(realtime.nginx.realtime_proxy) role's C(templates/tree.j2), found as the
    P(ansible.builtin.template#lookup) lookup finds it, and returns what it renders: one C(path) and C(content)
    per configuration file the role owns."
  - It reads every public variable of the role (C(realtime_proxy_*)), the variables that
    C(realtime_proxy__tree_variables) names and C(ansible_managed), each templated once with ansible-core's
    templar. The files to render are those the P(realtime.nginx.realtime_proxy_files#filter) filter lists for
    the role's mode (none with C(realtime_proxy_state=absent) in an nginx the role does not own). Jinja2's
    sandboxed environment then renders them with the template lookup's options (C(trim_blocks)) and
    ansible.builtin's filters and tests, on plain Python values. The text is the same as the template
    lookup's, for about a tenth of the controller's CPU.
  - The compiled templates are kept in a directory of their own beside ansible-core's local temporary
    directories (C(local_tmp), by default C(~/.ansible/tmp/realtime_nginx-templates)), keyed by each template's
    text, so that a host's task loads them instead of compiling them again. The directory is used only while it
    belongs to the user running Ansible and nobody else may write to it.
author:
  - realtime.nginx contributors (!UNKNOWN)
options:
  _terms:
    description:
      - The template to render, found as the template lookup finds it (in the role, its C(templates/) directory);
        V(tree.j2) when none is given.
    type: list
    elements: str
notes:
  - Used by the role's C(tasks/configure.yml); the role's own unit tests render with it too.
seealso:
  - plugin: ansible.builtin.template
    plugin_type: lookup
  - module: realtime.nginx.nginx_config
"""

EXAMPLES = r"""
- name: Show the paths of the files the role would write
  ansible.builtin.debug:
    msg: "{{ query('realtime.nginx.realtime_proxy_tree', 'tree.j2') | map(attribute='path') }}"
  vars:
    realtime_proxy__files: "{{ realtime_proxy_upstreams | realtime.nginx.realtime_proxy_files(realtime_proxy_sites) }}"
"""

RETURN = r"""
_raw:
  description: One entry per file, with C(path) (relative to the nginx configuration directory) and C(content); use
    it with C(query), as C(lookup) would join the entries into one string.
  type: list
  elements: dict
"""

import os
import stat

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

from ansible_collections.realtime.nginx.plugins.plugin_utils._render import INPUTS, ansible_managed, render_tree, tree_values


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        variables = variables or {}
        if INPUTS not in variables:
            raise AnsibleError("%s is not defined: the realtime_proxy_tree lookup renders the realtime_proxy "
                               "role's templates, within the role" % INPUTS)
        values = tree_values(variables, self._templar.template)
        out = []
        for term in terms or ["tree.j2"]:
            path = self.find_file_in_search_path(variables, "templates", term)
            if not path:
                raise AnsibleError("the template file %s could not be found for the lookup" % term)
            values["ansible_managed"] = ansible_managed(self._templar, variables, term, path)
            # Found in its own directory, the first of the search path: its includes are found as the template
            # lookup finds them.
            out.extend(render_tree(values, self._searchpath(variables, path), self._cache_dir(), os.path.basename(path)))
        return out

    @staticmethod
    def _searchpath(variables, path):
        """Where includes and imports are found: the template's directory, then, as the template lookup
        searches, each of the task's search paths with and without templates/."""
        searchpath = [os.path.dirname(path)]
        for base in variables.get("ansible_search_path", []):
            searchpath += [os.path.join(base, "templates"), base]
        return searchpath

    @staticmethod
    def _cache_dir():
        """Where compiled templates are kept between tasks and runs: beside ansible-core's own local temporary
        directories (local_tmp), when it is this user's alone; None (compile every time) otherwise."""
        directory = os.path.join(os.path.dirname(C.DEFAULT_LOCAL_TMP), "realtime_nginx-templates")
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            info = os.lstat(directory)
        except OSError:
            return None
        # Compiled code is loaded from it: nobody else may write there.
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
            return None
        return directory
