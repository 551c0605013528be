# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""nginx_config's pure steps: what it plans to remove, and the staged copy nginx -t reads."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

from ansible_collections.realtime.nginx.plugins.modules.nginx_config import apply, plan, point_into


def _write(path, text=""):
    if not os.path.isdir(os.path.dirname(path)):
        os.makedirs(os.path.dirname(path))
    with open(path, "w") as handle:
        handle.write(text)


def test_an_absent_directory_goes_with_everything_in_it(tmp_path):
    conf = str(tmp_path / "conf")
    _write(os.path.join(conf, "realtime_proxy", "snippets", "sse.conf"))
    _write(os.path.join(conf, "realtime_proxy", "snippets", "ws.conf"))
    _write(os.path.join(conf, "conf.d", "realtime_proxy.conf"))
    _write(os.path.join(conf, "conf.d", "mine.conf"))
    os.symlink("/elsewhere", os.path.join(conf, "realtime_proxy", "link"))
    writes, removals = plan(conf, [], [], ["conf.d/realtime_proxy.conf", "realtime_proxy", "sites-enabled/default"])
    assert writes == []
    assert removals == ["conf.d/realtime_proxy.conf", "realtime_proxy/snippets/sse.conf", "realtime_proxy/snippets/ws.conf",
                        "realtime_proxy/snippets", "realtime_proxy/link", "realtime_proxy"]
    apply(conf, writes, removals, [])
    assert sorted(os.listdir(conf)) == ["conf.d"] and os.listdir(os.path.join(conf, "conf.d")) == ["mine.conf"]


def test_the_staged_copy_reads_itself_where_the_live_files_name_the_live_directory(tmp_path):
    live, staged = "/etc/nginx", str(tmp_path / "proposed")
    nginx_conf = ("include /etc/nginx/modules-enabled/*.conf;\nhttp {\n\tinclude /etc/nginx/mime.types;\n"
                  "    include \"/etc/nginx/conf.d/*.conf\";include /etc/nginx/sites-enabled/*;\n"
                  "    include /etc/nginxother/x.conf;\n    # include /usr/share/nginx/x;\n    error_log /etc/nginx/log;\n}\n")
    _write(os.path.join(staged, "nginx.conf"), nginx_conf)
    _write(os.path.join(staged, "sites-available", "app"), "server { location / { include /etc/nginx/realtime_proxy/snippets/sse.conf; } }\n")
    os.makedirs(os.path.join(staged, "sites-enabled"))
    os.symlink("/etc/nginx/sites-available/app", os.path.join(staged, "sites-enabled", "app"))
    os.symlink("/usr/share/nginx/modules-available/mod.conf", os.path.join(staged, "sites-enabled", "elsewhere"))
    point_into(staged, live)
    with open(os.path.join(staged, "nginx.conf")) as handle:
        assert handle.read() == nginx_conf.replace("include /etc/nginx/", "include %s/" % staged).replace(
            'include "/etc/nginx/', 'include "%s/' % staged)
    with open(os.path.join(staged, "sites-available", "app")) as handle:
        assert handle.read() == "server { location / { include %s/realtime_proxy/snippets/sse.conf; } }\n" % staged
    assert os.readlink(os.path.join(staged, "sites-enabled", "app")) == os.path.join(staged, "sites-available", "app")
    assert os.readlink(os.path.join(staged, "sites-enabled", "elsewhere")) == "/usr/share/nginx/modules-available/mod.conf"
