"""What nginx's workers hold on their heap: glibc's own count, read with gdb from the host.

RSS per stream says how much memory a held stream costs, not what it is. A
worker's RSS also keeps the pages of memory that was allocated and freed again,
for instance during a TLS handshake, as long as glibc keeps them in its heap.
glibc knows which is which: ``malloc_info()`` writes, per arena, the bytes it
got from the system and the bytes of its free chunks. ``heap_of()`` attaches
gdb to each worker (from the host: the container shares the kernel; the
worker's own libraries are read through /proc/PID/root), has the worker write
that report to its /tmp, and sums it over the workers:

* ``in_use_kb``: bytes handed out by malloc and not freed (arena minus free
  chunks, plus mmapped chunks): what the held streams keep;
* ``free_kb``: free chunks inside the heap (the top chunk included), which stay
  resident once touched;
* with ``trim``, ``malloc_trim(0)`` afterwards and the workers' RSS again: what
  of the freed memory glibc can give back.

The worker stops for the moment gdb is attached (about a second); a held stream
does not notice. Without gdb on the host, ``heap_of()`` returns None and the
figures are left out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from typing import Optional

from .container import Container

GDB = shutil.which("gdb")


def _report_path(pid: int) -> str:
    return "/tmp/realtime-bench-heap-%d.xml" % pid  # in the worker's own file system


def malloc_report(pid: int, trim: bool = False) -> Optional[dict]:
    """glibc's malloc_info() of process PID, as {arena, free, mmap, in_use} bytes; None when gdb cannot get it."""
    inner = _report_path(pid)
    commands = ["set sysroot /proc/%d/root" % pid, "set confirm off",
                'call (void*)fopen("%s", "w")' % inner, "call (int)malloc_info(0, $1)", "call (int)fclose($1)"]
    if trim:
        commands.append("call (int)malloc_trim(0)")
    args = [GDB, "-nx", "-batch", "-p", str(pid)]
    for command in commands:
        args += ["-ex", command]
    try:
        subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
        seen = "/proc/%d/root%s" % (pid, inner)
        with open(seen, encoding="ascii") as handle:
            text = handle.read()
        os.unlink(seen)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_malloc_info(text)


def parse_malloc_info(text: str) -> Optional[dict]:
    """The process-wide totals of a malloc_info() report: {arena, free, mmap, in_use} in bytes."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return None
    totals = {t.get("type"): int(t.get("size")) for t in root.findall("total")}
    current = root.find("system[@type='current']")
    if current is None or not {"fast", "rest", "mmap"} <= set(totals):
        return None
    arena = int(current.get("size"))
    free = totals["fast"] + totals["rest"]
    return {"arena": arena, "free": free, "mmap": totals["mmap"], "in_use": arena - free + totals["mmap"]}


def heap_of(container: Container, marker: Optional[str], trim: bool = False) -> Optional[dict]:
    """The malloc totals of the workers of the master marked MARKER (container.sample()), in KB, summed.

    With TRIM, each worker then gives free memory back (malloc_trim) and ``rss_after_trim_kb`` is their RSS."""
    if not GDB:
        return None
    workers = container.sample(marker).get("workers", {})
    reports = [malloc_report(pid, trim) for pid in workers]
    if not workers or None in reports:
        return None
    out = {key + "_kb": round(sum(r[key] for r in reports) / 1024.0, 1) for key in ("arena", "free", "mmap", "in_use")}
    if trim:
        out["rss_after_trim_kb"] = container.sample(marker).get("rss_kb")
    return out


def per_stream(step: dict) -> dict:
    """KB per held stream of a step's heap figures (capacity.step with a heap probe): in use, free, and the
    RSS that malloc_trim gave back; {} without the figures."""
    probe, held = step.get("heap") or {}, step.get("held")
    before, after = probe.get("before"), probe.get("held")
    if not (before and after and held):
        return {}
    out = {"heap_in_use": round((after["in_use_kb"] - before["in_use_kb"]) / held, 2),
           "heap_free": round((after["free_kb"] - before["free_kb"]) / held, 2)}
    if after.get("rss_after_trim_kb") is not None and step.get("nginx_rss_kb") is not None:
        out["rss_trimmed"] = round((after["rss_after_trim_kb"] - step["nginx_rss_idle_kb"]) / held, 2)
    return out
