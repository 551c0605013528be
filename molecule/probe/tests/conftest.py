"""Fixtures of the probe scenario.

Ports (see molecule.yml): 18601 test backend, 18610 the role's site, 18620 the
naive hand-written server in /etc/nginx/conf.d/naive.conf. The probe module
runs ON the test host (an ad-hoc ``ansible -m realtime.nginx.realtime_probe``
with the scenario's inventory), as the role runs it.
"""

import json
import os
import subprocess
import tempfile

import pytest
from realtime_testkit.fixtures import address_fixture, name, variables  # pylint: disable=unused-import  # noqa: F401 shared fixtures


class Probe:
    """Run realtime.nginx.realtime_probe on the test host with an ad-hoc ``ansible`` command.

    Not testinfra's ``host.ansible()``: the result file that ``ansible --tree``
    writes has no ``failed`` key, so the verdict is read from the exit status
    (0 ok, 2 the module failed), as a play would.
    """

    def __init__(self, name):
        self._name = name

    def __call__(self, check=False, **args):
        with tempfile.TemporaryDirectory() as tree:
            command = ["ansible", "-i", os.environ["MOLECULE_INVENTORY_FILE"], self._name,
                       "-m", "realtime.nginx.realtime_probe", "-a", json.dumps(args), "--tree", tree]
            if check:
                command.append("--check")
            done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
            assert done.returncode in (0, 2), done.stdout + done.stderr
            with open(os.path.join(tree, self._name)) as handle:
                result = json.load(handle)
        # a module that did not run at all (unknown module, no python) has no mode
        assert result.get("mode") in ("sse", "websocket"), result
        result["failed"] = done.returncode == 2
        return result


@pytest.fixture(scope="module")
def probe(name):
    return Probe(name)


good = address_fixture("realtime_test_proxy_port", doc="The role's site.")
naive = address_fixture("realtime_test_naive_port", doc="The hand-written server with nginx's defaults.")
