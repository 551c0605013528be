"""Fixtures of the platforms scenario (ports: see molecule.yml).

sslyze and the HTTP/3 client run from a private venv that
tools/ensure-tls-clients.sh creates (build/tls-clients-venv): their
cryptography and OpenSSL bindings need not agree with the shared toolchain.
"""

import os
import subprocess

import pytest
from realtime_testkit.fixtures import base, name, variables  # pylint: disable=unused-import  # noqa: F401 shared fixtures


@pytest.fixture(scope="session")
def clients_python():
    """The python of the private venv that has sslyze, aioquic and the test kit's dependencies."""
    script = os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "tools", "ensure-tls-clients.sh")
    return subprocess.run(["bash", script], capture_output=True, text=True, check=True, timeout=900).stdout.strip()


@pytest.fixture(scope="module")
def tls_port(variables):
    """The TLS site's port: TCP, and UDP too where tls.http3 is on."""
    return variables["realtime_test_tls_port"]


@pytest.fixture(scope="module")
def cafile():
    """The self-signed certificate prepare.yml wrote and the inventory hands to the role."""
    return os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "tls", "cert.pem")
