"""Pebble, Let's Encrypt's ACME test CA, on the controller's loopback for scenario tests.

``start(directory, ports)`` runs Debian's ``pebble`` (tools/ensure-pebble.sh
installs it) and ``pebble-challtestsrv`` as pebble's DNS server, which
answers every name with 127.0.0.1 unless told otherwise (``add_a``). Pebble
validates HTTP-01 for real: it fetches ``http://NAME:HTTP_PORT/.well-known/
acme-challenge/TOKEN`` from the address the name resolves to, so HTTP_PORT is
the site's plain listener. No "always valid", no random sleeps, no rejected
nonces (``PEBBLE_VA_NOSLEEP=1``, ``PEBBLE_WFE_NONCEREJECT=0``).

Its own listener gets a throwaway certificate (tls.generate_self_signed,
``DIRECTORY/listener/cert.pem``), which certbot must trust: a site's
``tls.acme.ca_bundle``. The CA that issues the sites' certificates is made
anew by every start; ``root_pem`` fetches it from the management port
(``/roots/0``), for a client that trusts it alone.

Both servers are started in their own session, under ``timeout LIFETIME``,
so they end by themselves even if ``stop`` is never called; ``stop`` ends
them by the process ids kept in DIRECTORY. As a script (PYTHONPATH=tests)::

    python -m realtime_testkit.acme start DIR ACME MANAGEMENT DNS DNS_MANAGEMENT HTTP_PORT TLS_PORT
    python -m realtime_testkit.acme add-a DNS_MANAGEMENT NAME ADDRESS
    python -m realtime_testkit.acme stop DIR
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass

from .tls import generate_self_signed

__all__ = ["PebblePorts", "start", "stop", "add_a", "root_pem", "listener_certificate", "log_offset", "log_since",
           "LIFETIME"]

LIFETIME = 5400  # s: the longest a scenario keeps its pebble
_SERVERS = ("challtestsrv", "pebble")


@dataclass
class PebblePorts:
    acme: int  # the ACME directory, https://127.0.0.1:ACME/dir
    management: int  # https: /roots/0, the issuing root
    dns: int  # pebble-challtestsrv's DNS, pebble's resolver
    dns_management: int  # pebble-challtestsrv's management API (add-a)
    http: int  # where pebble fetches HTTP-01 challenges: the site's plain listener
    tls: int  # where pebble would try TLS-ALPN-01 (unused, but pebble needs one)


def _pid_file(directory, name):
    return os.path.join(directory, name + ".pid")


def listener_certificate(directory):
    """The certificate of pebble's own listener (what a client of the ACME directory trusts)."""
    return os.path.join(directory, "listener", "cert.pem")


def _wait_for(port, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("nothing listens on 127.0.0.1:%d after %.0f s" % (port, timeout))


def _spawn(directory, name, argv, env=None):
    log = open(os.path.join(directory, name + ".log"), "ab")  # noqa: SIM115 - the child keeps it
    proc = subprocess.Popen(["timeout", str(LIFETIME)] + argv, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=dict(os.environ, **(env or {})), start_new_session=True)
    log.close()
    with open(_pid_file(directory, name), "w") as handle:
        handle.write(str(proc.pid))


def start(directory, ports: PebblePorts):
    """Start pebble-challtestsrv and pebble for PORTS, after stopping any that DIRECTORY's pid files name."""
    stop(directory)
    os.makedirs(directory, exist_ok=True)
    cert, key = generate_self_signed(os.path.join(directory, "listener"))
    config = {"pebble": {
        "listenAddress": "127.0.0.1:%d" % ports.acme, "managementListenAddress": "127.0.0.1:%d" % ports.management,
        "certificate": cert, "privateKey": key, "httpPort": ports.http, "tlsPort": ports.tls,
        "ocspResponderURL": "", "externalAccountBindingRequired": False}}
    config_path = os.path.join(directory, "pebble-config.json")
    with open(config_path, "w") as handle:
        json.dump(config, handle)
    # Only DNS and the management API: the challenge servers would take ports of other scenarios.
    _spawn(directory, "challtestsrv", [
        "pebble-challtestsrv", "-dns01", "127.0.0.1:%d" % ports.dns, "-management", "127.0.0.1:%d" % ports.dns_management,
        "-http01", "", "-https01", "", "-tlsalpn01", "", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
    _wait_for(ports.dns_management)
    _spawn(directory, "pebble", ["pebble", "-config", config_path, "-dnsserver", "127.0.0.1:%d" % ports.dns],
           env={"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"})
    _wait_for(ports.acme)
    _wait_for(ports.management)


def stop(directory):
    """End the servers whose process ids DIRECTORY keeps (their whole process groups)."""
    for name in _SERVERS:
        path = _pid_file(directory, name)
        try:
            with open(path) as handle:
                pid = int(handle.read().strip())
        except (OSError, ValueError):
            continue
        try:
            os.killpg(pid, signal.SIGTERM)
        except OSError:
            pass
        os.unlink(path)


def add_a(dns_management_port, name, address):
    """Make pebble's DNS answer NAME with ADDRESS (instead of 127.0.0.1)."""
    body = json.dumps({"host": name, "addresses": [address]}).encode()
    request = urllib.request.Request("http://127.0.0.1:%d/add-a" % dns_management_port, data=body, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        if response.status != 200:
            raise RuntimeError("pebble-challtestsrv refused add-a: %d" % response.status)


def root_pem(directory, management_port) -> str:
    """The PEM of the root that issues this pebble's certificates (management /roots/0)."""
    context = ssl.create_default_context(cafile=listener_certificate(directory))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    with opener.open("https://127.0.0.1:%d/roots/0" % management_port, timeout=10) as response:
        return response.read().decode()


def log_since(directory, offset=0) -> str:
    """What pebble logged after byte OFFSET (its requests, orders and validations)."""
    with open(os.path.join(directory, "pebble.log"), "rb") as handle:
        handle.seek(offset)
        return handle.read().decode("utf-8", "replace")


def log_offset(directory) -> int:
    return os.path.getsize(os.path.join(directory, "pebble.log"))


def _main(argv) -> int:
    if len(argv) == 9 and argv[1] == "start":
        start(argv[2], PebblePorts(*(int(port) for port in argv[3:9])))
    elif len(argv) == 5 and argv[1] == "add-a":
        add_a(int(argv[2]), argv[3], argv[4])
    elif len(argv) == 3 and argv[1] == "stop":
        stop(argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv))
