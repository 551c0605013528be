"""The files tls.acme's renewal runs on: the deploy hook certbot runs after a renewal, and certbot's service drop-in.

The hook is the role's template rendered with the role's variables and run
with /bin/sh, with stand-ins for nginx and systemctl that record how they
were called (the scenario runs it for real, molecule/acme).
"""

from __future__ import annotations

import os
import subprocess

import pytest

from realtime_testkit.render import merged_variables, role

STAND_IN = """#!/bin/sh
echo "$0 $*" >> "%(calls)s"
%(body)s
"""


def render(template, settings=None, **overrides):
    variables = merged_variables(settings or {})
    variables.update(overrides)
    return role().render(template, variables)


@pytest.fixture()
def hook(tmp_path):
    """Run the rendered hook for a lineage with nginx -t passing or failing: (rc, stderr, calls)."""
    def stand_in(name, body):
        path = tmp_path / "bin" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(STAND_IN % {"calls": tmp_path / "calls", "body": body})
        path.chmod(0o755)
        return str(path)

    def run(lineage, nginx_t_ok=True):
        (tmp_path / "calls").write_text("")
        nginx = stand_in("nginx", "exit 0" if nginx_t_ok else "echo 'nginx: [emerg] cannot load certificate' >&2; exit 1")
        stand_in("systemctl", "exit 0")
        script = tmp_path / "hook"
        script.write_text(render("acme-deploy-hook.sh.j2", realtime_proxy__binary=nginx))
        script.chmod(0o755)
        env = dict(os.environ, PATH="%s:/usr/bin:/bin" % (tmp_path / "bin"))
        if lineage is not None:
            env["RENEWED_LINEAGE"] = lineage
        done = subprocess.run(["/bin/sh", str(script)], env=env, capture_output=True, text=True, timeout=30, check=False)
        calls = [line.split(" ", 1)[1] if " " in line else "" for line in (tmp_path / "calls").read_text().splitlines()]
        names = [os.path.basename(line.split(" ", 1)[0]) for line in (tmp_path / "calls").read_text().splitlines()]
        return done.returncode, done.stderr, list(zip(names, calls))
    return run


def test_a_renewed_certificate_of_a_site_is_tested_then_reloaded(hook):
    rc, stderr, calls = hook("/etc/letsencrypt/live/realtime_proxy-live")
    assert rc == 0, stderr
    assert calls == [("nginx", "-t -q"), ("systemctl", "reload nginx")]


def test_a_configuration_nginx_rejects_is_not_reloaded(hook):
    rc, stderr, calls = hook("/etc/letsencrypt/live/realtime_proxy-live", nginx_t_ok=False)
    assert rc == 1
    assert calls == [("nginx", "-t -q")]
    assert "nginx -t failed, so nginx was not reloaded for /etc/letsencrypt/live/realtime_proxy-live" in stderr
    assert "cannot load certificate" in stderr


@pytest.mark.parametrize("lineage", ["/etc/letsencrypt/live/mail.example.com", "", None])
def test_other_certificates_are_left_to_their_own_hooks(hook, lineage):
    assert hook(lineage) == (0, "", [])


def test_the_hook_never_restarts():
    text = render("acme-deploy-hook.sh.j2")
    assert "restart" not in text.replace("never restarts", "")
    assert text.startswith("#!/bin/sh\n")


def test_certbots_service_trusts_the_sites_ca_bundle():
    site = {"name": "live", "server_name": "live.example.com", "listen": [80],
            "tls": {"listen": [443], "acme": {"email": "ops@example.com", "ca_bundle": "/etc/ssl/private-ca.pem"}},
            "locations": []}
    text = render("acme-service-dropin.conf.j2", {"realtime_proxy_sites": [site]},
                  realtime_proxy__acme_requests=[{"ca_bundle": "/etc/ssl/private-ca.pem"}])
    assert "[Service]\nEnvironment=REQUESTS_CA_BUNDLE=/etc/ssl/private-ca.pem\n" in text
    text = render("acme-service-dropin.conf.j2", realtime_proxy__acme_requests=[{"ca_bundle": None}])
    assert "Environment" not in text.replace("# ", "")
