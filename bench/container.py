"""The bench container: start it, run commands in it, look at its nginx from the host.

The container is the same systemd container the molecule scenarios use
(host network, see molecule/default/molecule.yml), started with ``docker
run``. Its name never starts with ``rtn-``: that prefix belongs to the molecule
scenarios, and ``make molecule`` removes every container that has it.

nginx is observed from the HOST's /proc, with the collection's one /proc
reader (plugins/module_utils/_proc.py): the container shares the kernel, so its
processes are visible there with host PIDs; that is cheap enough to sample
several times a second, unlike ``docker exec``.
"""

from __future__ import annotations

import fcntl
import os
import pathlib
import shlex
import subprocess
import time
from typing import Optional

from realtime_testkit.collection import ensure_importable

ensure_importable()
from ansible_collections.realtime.nginx.plugins.module_utils import _proc  # noqa: E402  pylint: disable=wrong-import-position

REPO = pathlib.Path(__file__).resolve().parents[1]
IMAGE = os.environ.get("REALTIME_NGINX_IMAGE_DEBIAN12", "realtime-nginx-test/debian:12")
RUN_FLAGS = ["--cap-add", "SYS_ADMIN", "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
             "--tmpfs", "/run", "--tmpfs", "/run/lock", "--network", "host"]
CLK_TCK = os.sysconf("SC_CLK_TCK")
NAME = "realtime-bench"
SMOKE_NAME = "realtime-bench-smoke"
# A smoke run takes one of SMOKE_SLOTS slots, free at run time: slot N is
# container SMOKE_NAME-N and ports SMOKE_PORT_BASE + N * SMOKE_PORT_SPAN and up
# (20000-23999: no scenario and no full run uses them), held under a lock in
# /run/lock for as long as the run lasts. Two checkouts' smoke runs never share
# a container or a port.
SMOKE_SLOTS = 8
SMOKE_PORT_BASE = 20000
SMOKE_PORT_SPAN = 500


def take_smoke_slot(lock_dir: str = "/run/lock"):
    """(open lock file, container name, first port) of the first smoke slot no other run holds.

    The slot is the caller's while the returned file stays open (the process's life, at most).
    """
    for slot in range(SMOKE_SLOTS):
        lock = open(os.path.join(lock_dir, "realtime-nginx-bench-smoke-%d.lock" % slot), "a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        return lock, "%s-%d" % (SMOKE_NAME, slot), SMOKE_PORT_BASE + slot * SMOKE_PORT_SPAN
    raise RuntimeError("all %d smoke slots are taken by other runs (%s/realtime-nginx-bench-smoke-*.lock)"
                       % (SMOKE_SLOTS, lock_dir))


def sh(cmd, *, timeout: float = 120, check: bool = True, **kw) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, **kw)
    if check and done.returncode != 0:
        raise RuntimeError("%s failed (rc %d): %s" % (" ".join(map(str, cmd))[:200], done.returncode,
                                                      (done.stderr or done.stdout)[-2000:]))
    return done


def docker_answers() -> Optional[str]:
    """None when a Docker engine answers, else why not."""
    try:
        done = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                              text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "docker: %s" % exc
    if done.returncode != 0:
        return "no Docker engine answers: %s" % (done.stderr.strip()[-300:] or done.stdout.strip())
    return None


class Container:
    def __init__(self, name: str, image: str = IMAGE):
        if name.startswith("rtn-"):
            raise ValueError("%s: bench containers must not be named rtn-* (make molecule removes those)" % name)
        self.name, self.image = name, image
        self.init_pid: Optional[int] = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self.remove()
        sh(["docker", "run", "-d", "--name", self.name, *RUN_FLAGS, self.image, "/lib/systemd/systemd"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = self.exec("systemctl is-system-running || true", check=False).stdout.strip()
            if state in ("running", "degraded"):
                break
            time.sleep(0.5)
        else:
            raise RuntimeError("systemd in %s did not come up (state %r)" % (self.name, state))
        self.init_pid = int(sh(["docker", "inspect", "-f", "{{.State.Pid}}", self.name]).stdout.strip())

    def remove(self) -> None:
        subprocess.run(["docker", "rm", "-f", self.name], capture_output=True, timeout=60, check=False)

    def exec(self, script: str, *, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        return sh(["docker", "exec", self.name, "bash", "-c", script], check=check, timeout=timeout)

    def put(self, path: str, content: str) -> None:
        self.exec("mkdir -p %s && cat > %s <<'BENCH_EOF'\n%s\nBENCH_EOF" % (
            shlex.quote(os.path.dirname(path)), shlex.quote(path), content))

    # ------------------------------------------------------------ nginx from the host's /proc

    def sample(self, conf_marker: Optional[str] = None) -> dict:
        """Workers of the master whose cmdline contains CONF_MARKER (None: the systemd one)."""
        out = {"t": time.time(), "master": None, "workers": {}}
        if self.init_pid is None:
            return out
        table = _proc.process_table(with_cmdline=True)
        for pid in _proc.children(self.init_pid, table):
            cmd = table[pid]["cmd"]
            if cmd.startswith("nginx: master"):
                marked = conf_marker is not None and conf_marker in cmd
                if (conf_marker is None and " -c " not in cmd) or marked:
                    out["master"] = pid
        master = out["master"]
        if master is None:
            return out
        out["master_rss_kb"] = _proc.status_kb(master, "VmRSS")
        for pid in _proc.children(master, table):
            out["workers"][pid] = {
                "rss_kb": _proc.status_kb(pid, "VmRSS"),
                # of which pages of files (code and data of nginx and its libraries) and of shared memory
                # (zones such as the TLS session cache); the rest is anonymous: heap and stacks
                "rss_file_kb": _proc.status_kb(pid, "RssFile"),
                "rss_shmem_kb": _proc.status_kb(pid, "RssShmem"),
                "pss_kb": _proc.pss_kb(pid),
                "cpu_s": table[pid]["cpu_ticks"] / CLK_TCK,
                "shutting_down": "shutting down" in table[pid]["cmd"],
            }
        ws = out["workers"].values()
        out["rss_kb"] = sum(w["rss_kb"] for w in ws)
        out["pss_kb"] = sum(w["pss_kb"] for w in ws)
        out["rss_file_kb"] = sum(w["rss_file_kb"] for w in ws)
        out["rss_shmem_kb"] = sum(w["rss_shmem_kb"] for w in ws)
        out["cpu_s"] = sum(w["cpu_s"] for w in ws)
        out["n_workers"] = len(out["workers"])
        out["n_old_workers"] = sum(w["shutting_down"] for w in ws)
        return out
