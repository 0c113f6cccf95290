"""Running one tool in its own process: its command, its environment, a time limit, and the peak resident
memory of it and all its descendants together (DataLoader workers, process pools), sampled from /proc.

Summed RSS counts pages that forked processes share once per process, as `ps` and `top` do: the figure a
machine's memory limit sees is somewhat lower for tools with worker processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Outcome:
    """What one process run gave: its JSON result line (None when it failed), peak RSS, and its stderr tail."""

    result: dict[str, Any] | None
    peak_rss: int
    error: str


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (from /proc/PID/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:  # a process may end at any point of this walk
            for task in Path(f"/proc/{p}/task").glob("*/children"):
                todo.extend(int(c) for c in task.read_text().split())
        except OSError:
            pass
    return out


def rss(pids: list[int]) -> int:
    """Resident bytes of `pids` together (those gone already count 0)."""
    total = 0
    for p in pids:
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            pass
    return total


def run(command: list[str], env: dict[str, str], cwd: Path, timeout: float) -> Outcome:
    """Run `command`; its last stdout line that parses as JSON is the result. RSS sampled every 20 ms."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, rss(descendants(process.pid)))
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for p in reversed(descendants(process.pid)):
            try:
                os.kill(p, 9)
            except ProcessLookupError:
                pass
        out, err = process.communicate()
        err += f"\n(killed after {timeout:.0f} s)"
    finally:
        stop.set()
        sampler.join()
    result = None
    for line in reversed(out.splitlines()):
        try:
            result = json.loads(line)
            break
        except json.JSONDecodeError:
            continue
    if process.returncode != 0:
        result = None
    return Outcome(result, peak, err.strip()[-2000:])


def wait_idle(seconds: float = 0.5) -> None:
    """A short pause between runs, so one tool's exit (page-cache writeback, freed memory) does not land in
    the next one's time."""
    time.sleep(seconds)
