"""An execution environment with realtime.nginx gets crossplane and nothing else.

    check-ee.py TARBALL WORKDIR    (run with a Python that has ansible-builder;
                                    tools/check-collection.sh does)

Writes an execution environment definition (ansible-builder schema 3) that
installs the collection from TARBALL, runs `ansible-builder create` (the build
context only: building the image needs a registry), and then does locally
what the image build would do with that context: installs the collection the
way the context's galaxy stage does (`ansible-galaxy collection install -r
requirements.yml` in _build/) and runs the context's own introspect.py, which
is what writes the image's Python and system requirements. Those must be
exactly the requirements in meta/ee-requirements.txt and meta/ee-bindep.txt:
crossplane for the audit, and no system package - so none of the development
toolchain (requirements.txt) can leak into a user's execution environment.
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
META = ROOT / "meta"

DEFINITION = """\
---
version: 3
dependencies:
  ansible_core:
    package_pip: ansible-core
  ansible_runner:
    package_pip: ansible-runner
  galaxy:
    collections:
      - name: collections/{tarball}
        type: file
additional_build_files:
  - src: {tarball}
    dest: collections
"""


def requirement_lines(path):
    """The requirement lines of a pip or bindep file, comments and blanks left out."""
    lines = []
    for line in pathlib.Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def name_of(requirement):
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def run(command, **kwargs):
    done = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if done.returncode != 0:
        sys.exit("check-ee: %s failed (rc %d):\n%s%s" % (" ".join(command), done.returncode, done.stdout, done.stderr))
    return done


def main():
    tarball, work = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shutil.copy(tarball, work / tarball.name)
    (work / "execution-environment.yml").write_text(DEFINITION.format(tarball=tarball.name))

    builder = pathlib.Path(sys.executable).with_name("ansible-builder")
    run([str(builder), "create", "-f", "execution-environment.yml", "-c", "context"], cwd=work)
    build = work / "context" / "_build"
    # The definition has no Python or system requirements of its own: every
    # requirement the image gets comes from introspecting the collections.
    extra = sorted(p.name for p in build.iterdir() if p.name in ("requirements.txt", "bindep.txt"))
    assert not extra, "the context has requirement files of its own: %s" % extra

    collections = work / "collections"
    run(["ansible-galaxy", "collection", "install", "--offline", "-r", "requirements.yml",
         "--collections-path", str(collections)], cwd=build,
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections)))
    pip, bindep = work / "requirements.txt", work / "bindep.txt"
    run([sys.executable, str(build / "scripts" / "introspect.py"), "introspect",
         "--write-pip", str(pip), "--write-bindep", str(bindep), str(collections)])

    # introspect.py writes no file for an empty list.
    python, system = [requirement_lines(path) if path.exists() else [] for path in (pip, bindep)]
    want_python = requirement_lines(META / "ee-requirements.txt")
    want_system = requirement_lines(META / "ee-bindep.txt")
    assert python == want_python, "the image would get Python %s, not %s" % (python, want_python)
    assert system == want_system, "the image would get system packages %s, not %s" % (system, want_system)
    assert [name_of(r) for r in python] == ["crossplane"], python
    toolchain = {name_of(r) for r in requirement_lines(ROOT / "requirements.txt")} - {"crossplane"}
    leaked = sorted(toolchain & {name_of(r) for r in python + system})
    assert not leaked, "development toolchain in the execution environment: %s" % leaked
    print("check-ee: an execution environment with %s gets Python %s and system packages %s"
          % (tarball.name, python, system or "none"))


if __name__ == "__main__":
    main()
