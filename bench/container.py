"""The bench container: start it, provision it with the role, look at its nginx from the host.

The container is the same systemd container the molecule scenarios use
(host network, see molecule/default/molecule.yml), started with ``docker
run``; the role is applied with ``ansible-playbook`` and the
``community.docker.docker`` connection plugin (from the ``ansible`` package in
the venv), using ``molecule/resources/converge.yml``. Nothing here needs
molecule.

nginx is observed from the HOST's /proc: the container shares the kernel, so
its processes are visible there with host PIDs; that is cheap enough to sample
several times a second, unlike ``docker exec``.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shlex
import subprocess
import tempfile
import time
from typing import Optional

REPO = pathlib.Path(__file__).resolve().parents[1]
CONVERGE = REPO / "molecule" / "resources" / "converge.yml"
IMAGE = os.environ.get("REALTIME_NGINX_IMAGE_DEBIAN12", "realtime-nginx-test/debian:12")
RUN_FLAGS = ["--cap-add", "SYS_ADMIN", "--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
             "--tmpfs", "/run", "--tmpfs", "/run/lock", "--network", "host"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


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

    # ------------------------------------------------------------ ansible

    def converge(self, variables: dict, *, timeout: float = 900) -> dict:
        """Apply the role with VARIABLES; return wall time, recap and the slowest tasks."""
        with tempfile.TemporaryDirectory(prefix="rtn-bench-") as tmp:
            inventory = pathlib.Path(tmp, "inventory.yml")
            inventory.write_text(json.dumps({"all": {"hosts": {self.name: {
                "ansible_connection": "community.docker.docker",
                "ansible_host": self.name,
                "ansible_python_interpreter": "/usr/bin/python3"}}}}))
            extra = pathlib.Path(tmp, "vars.json")
            extra.write_text(json.dumps(variables))
            env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
                       PROFILE_TASKS_TASK_OUTPUT_LIMIT="8", PROFILE_TASKS_SORT_ORDER="descending",
                       ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
                       ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
            env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / "build" / "collections"))
            # Pipelining, as most users run over SSH: without it every task also
            # copies its module into the container with a separate `docker cp`.
            env.setdefault("ANSIBLE_PIPELINING", "True")
            started = time.monotonic()
            done = subprocess.run(["ansible-playbook", "-i", str(inventory), "-e", "@%s" % extra,
                                   str(CONVERGE)], capture_output=True, text=True, env=env,
                                  timeout=timeout, check=False, cwd=str(REPO))
            wall = time.monotonic() - started
        out = done.stdout + done.stderr
        if done.returncode != 0:
            raise RuntimeError("ansible-playbook failed (rc %d):\n%s" % (done.returncode, out[-4000:]))
        recap = {}
        m = re.search(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)", out)
        if m:
            recap = dict(zip(("ok", "changed", "unreachable", "failed", "skipped"), map(int, m.groups())))
        tasks = []
        # profile_tasks lines: "realtime.nginx.realtime_proxy : Install nginx ---- 12.34s"
        for line in out.splitlines():
            t = re.match(r"^(.*\S)\s+-{3,}\s+(\d+\.\d+)s\s*$", line)
            if t:
                tasks.append({"task": t.group(1).strip(), "seconds": float(t.group(2))})
        return {"wall_s": round(wall, 2), "recap": recap, "slowest_tasks": tasks[:8]}

    # ------------------------------------------------------------ nginx from the host's /proc

    def nginx_masters(self) -> dict:
        """{master host pid: cmdline} of nginx masters in this container."""
        if self.init_pid is None:
            return {}
        table = _proc_table()
        return {pid: info["cmd"] for pid, info in table.items()
                if info["ppid"] == self.init_pid and info["cmd"].startswith("nginx: master")}

    def sample(self, conf_marker: Optional[str] = None) -> dict:
        """Workers of the master whose cmdline contains CONF_MARKER (None: the systemd one)."""
        table = _proc_table()
        master = None
        for pid, info in table.items():
            if info["ppid"] == self.init_pid and info["cmd"].startswith("nginx: master"):
                marked = conf_marker is not None and conf_marker in info["cmd"]
                if (conf_marker is None and " -c " not in info["cmd"]) or marked:
                    master = pid
        out = {"t": time.time(), "master": master, "workers": {}}
        if master is None:
            return out
        out["master_rss_kb"] = _status_kb(master, "VmRSS")
        for pid, info in table.items():
            if info["ppid"] == master:
                out["workers"][pid] = {
                    "rss_kb": _status_kb(pid, "VmRSS"),
                    "pss_kb": _pss_kb(pid),
                    "cpu_s": info["cpu_ticks"] / CLK_TCK,
                    "shutting_down": "shutting down" in info["cmd"],
                }
        ws = out["workers"].values()
        out["rss_kb"] = sum(w["rss_kb"] for w in ws)
        out["pss_kb"] = sum(w["pss_kb"] for w in ws)
        out["cpu_s"] = sum(w["cpu_s"] for w in ws)
        out["n_workers"] = len(out["workers"])
        out["n_old_workers"] = sum(w["shutting_down"] for w in ws)
        return out


def _proc_table() -> dict:
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as handle:
                stat = handle.read()
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                cmd = handle.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        table[int(entry)] = {"ppid": int(fields[1]), "cmd": cmd,
                             "cpu_ticks": int(fields[11]) + int(fields[12])}
    return table


def _status_kb(pid: int, key: str) -> int:
    try:
        with open("/proc/%d/status" % pid) as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: int) -> int:
    try:
        with open("/proc/%d/smaps_rollup" % pid) as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
