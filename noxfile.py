"""realtime.nginx against every ansible-core that meta/runtime.yml admits.

    make matrix                            # every session below (tools/matrix.sh)
    tools/nox.sh -l                        # list the sessions
    tools/nox.sh -s "ansible_test(2.16)"   # one of them

`tools/nox.sh` puts nox (pinned in tools/nox-requirements.txt) in
build/venvs/nox and runs this file. The sessions' virtualenvs live in
build/nox/ and are reused while the requirements they were built from are
the same (a stamp file in each); change a pin and the next run reinstalls.
`make matrix` runs molecule_oldest beside the ansible_test sessions: one
waits on apt and streams, the others on the CPU.

* ansible_test(2.16) ... ansible_test(2.19): tools/ansible-test.sh with that
  ansible-core: `ansible-test units` on tests/unit/plugins/, and sanity.
  Sanity runs in full on the oldest and the newest version; the middle ones
  run MIDDLE_SANITY only. 2.19 is the toolchain's own ansible-core (.venv),
  so that session is exactly `make sanity`.
* molecule_oldest: molecule scenario oldest_core (molecule/oldest_core/) with
  the oldest ansible-core on Debian 12: converge, idempotence, SSE and
  WebSocket through the proxy, and the audit playbook. molecule 26 declares
  ansible-core ">=2.16.19,!=2.17.*" and runs with 2.16.19, so this is the
  same molecule, docker driver and testinfra verifier as `make molecule`.

Every other tool is pinned once, in requirements.txt; only ansible-core
differs between the sessions.
"""

from __future__ import annotations

import hashlib
import pathlib
import re

import nox
from nox.command import CommandFailed

ROOT = pathlib.Path(__file__).resolve().parent
PYTHON = "3.11"

# The newest patch release of every minor version meta/runtime.yml admits,
# oldest first. The newest is the development toolchain's own (requirements.txt,
# .venv): ansible-core 2.20 needs Python 3.12 on the controller, so 2.19 is
# the newest that runs on this project's Python 3.11.
OLDER_CORES = {
    "2.16": "ansible-core==2.16.19",
    "2.17": "ansible-core==2.17.14",
    "2.18": "ansible-core==2.18.19",
}
NEWEST = "2.19"
CORES = list(OLDER_CORES) + [NEWEST]
OLDEST = CORES[0]
# Sanity on the middle versions: the tests whose verdict depends on what that
# ansible-core accepts - module documentation and argument specs, imports,
# compiling, runtime metadata, ansible-doc. The others are linters of the
# source (pylint, pep8, yamllint, shebang, ...) with their own pinned
# versions; the oldest and newest cover them, and pylint alone is most of a
# sanity run's time.
MIDDLE_SANITY = ["validate-modules", "import", "compile", "runtime-metadata", "ansible-doc", "action-plugin-docs"]

# What molecule-plugins' docker driver needs, from .venv (driver_collections_path).
DRIVER_COLLECTIONS = ["community.docker", "community.library_inventory_filtering_v1", "ansible.posix"]

nox.options.envdir = str(ROOT / "build" / "nox")
nox.options.reuse_venv = "yes"
nox.options.error_on_missing_interpreters = True
nox.options.sessions = ["ansible_test", "molecule_oldest"]


def pinned(*names: str) -> list[str]:
    """The lines of requirements.txt that pin NAMES (extras included)."""
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.-]+)(\[[^]]*\])?==", line)
        if match:
            pins[match.group(1).lower()] = line.strip()
    missing = [name for name in names if name.lower() not in pins]
    if missing:
        raise ValueError("requirements.txt pins no %s" % ", ".join(missing))
    return [pins[name.lower()] for name in names]


def install(session: nox.Session, *requirements: str) -> None:
    """Install REQUIREMENTS unless this venv was built from exactly them."""
    stamp = pathlib.Path(session.virtualenv.location) / ".realtime-nginx-requirements"
    want = hashlib.sha256("\n".join(requirements).encode()).hexdigest()
    if stamp.is_file() and stamp.read_text() == want:
        session.log("requirements unchanged since this venv was built; not installing")
        return
    session.install(*requirements)
    stamp.write_text(want)


@nox.session(python=PYTHON, venv_backend="venv")
@nox.parametrize("core", CORES, ids=CORES)
def ansible_test(session: nox.Session, core: str) -> None:
    """ansible-test units and sanity with one ansible-core."""
    if core == NEWEST:
        # The toolchain's .venv and tree, as `make sanity`: this session is
        # that run, and this session's own venv stays empty.
        env = {}
        if not pinned("ansible-core")[0].startswith("ansible-core==%s." % NEWEST):
            session.error("requirements.txt pins %s, not ansible-core %s" % (pinned("ansible-core")[0], NEWEST))
    else:
        install(session, OLDER_CORES[core])
        env = {
            "ANSIBLE_TEST_VENV": session.virtualenv.location,
            # One tree per version: each keeps its own tests/output.
            "ANSIBLE_TEST_TREE": str(ROOT / "build" / ("ansible-test-%s" % core)),
        }
    sanity = []
    if core not in (OLDEST, NEWEST):
        sanity = [arg for test in MIDDLE_SANITY for arg in ("--test", test)]
    # Sanity runs also when units failed: the report then says both.
    failed = []
    for what, args in (("units", []), ("sanity", sanity)):
        try:
            session.run("bash", str(ROOT / "tools" / "ansible-test.sh"), what, *args, env=env, external=True)
        except CommandFailed:
            failed.append(what)
    if failed:
        session.error("ansible-core %s: ansible-test %s failed" % (core, " and ".join(failed)))


@nox.session(python=PYTHON, venv_backend="venv")
def molecule_oldest(session: nox.Session) -> None:
    """molecule scenario oldest_core with the oldest ansible-core, on Debian 12."""
    install(session, OLDER_CORES[OLDEST], *pinned(
        "molecule", "molecule-plugins", "docker", "pytest", "pytest-testinfra",
        # the verifier's SSE and WebSocket clients (tests/realtime_testkit)
        "httpx", "h2", "websockets",
        # the audit playbook's action plugin parses nginx -T on the controller
        "crossplane"))
    session.run("bash", str(ROOT / "tools" / "setup-venv.sh"), external=True)
    collections = ROOT / "build" / "collections"
    env = {
        "PYTHONPATH": str(ROOT / "tests"),
        "ANSIBLE_COLLECTIONS_PATH": "%s:%s" % (collections, driver_collections_path()),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_PIPELINING": "True",
        "MOLECULE_NO_LOG": "false",
        "PY_COLORS": "0",
        "REALTIME_NGINX_EXPECT_ANSIBLE_CORE": OLDEST,
    }
    session.run("ansible", "--version", env=env)
    # Under the scenario's machine-wide lock, as tools/run-scenarios.sh runs the others.
    session.run("bash", str(ROOT / "tools" / "with-scenario-lock.sh"), "oldest_core", "molecule", "test", "-s",
                "oldest_core", env=env, external=True)


def driver_collections_path() -> str:
    """A collections path with the collections molecule's docker driver uses, and no others.

    The driver's playbooks need community.docker (and what it depends on) and
    ansible.posix. Galaxy cannot be reached, and these come only in the
    `ansible` package, which the toolchain's .venv has (requirements.txt).
    They declare ansible-core >=2.15, so this links those copies instead of
    installing a second `ansible` package of 590 MB next to the oldest core.
    """
    found = sorted(ROOT.glob(".venv/lib/python*/site-packages/ansible_collections"))
    if not found:
        raise RuntimeError("no ansible_collections in .venv: run tools/setup-venv.sh (make venv) first")
    path = ROOT / "build" / "matrix-collections"
    for name in DRIVER_COLLECTIONS:
        source = (found[-1] / name.replace(".", "/")).resolve()
        link = path / "ansible_collections" / name.replace(".", "/")
        if not source.is_dir():
            raise RuntimeError("no %s in .venv's ansible package" % name)
        if link.is_symlink() and link.resolve() == source:
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():
            link.unlink()
        link.symlink_to(source)
    return str(path)
