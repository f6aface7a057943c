"""py-spy helpers for the benchmarks: sample a process (only the thread holding the GIL: where its CPU goes) and
summarise the samples as inclusive shares of the project's code and the self time of the busiest functions."""

from __future__ import annotations

import collections
import re
import signal
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYSPY = ROOT / ".venv" / "bin" / "py-spy"

def profile_start(pid: int, seconds: float, out: str) -> subprocess.Popen | None:
    if not PYSPY.exists():
        return None
    return subprocess.Popen([str(PYSPY), "record", "--pid", str(pid), "-r", "250", "-d", str(max(1, round(seconds))),
                             "-f", "raw", "-o", out, "--nonblocking", "--gil"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def profile_stop(spy: subprocess.Popen | None):
    if spy is None:
        return
    spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
    try:
        spy.wait(30)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait()


def profile_report(path: str, top: int = 24) -> list[str]:
    """Lines for a report from py-spy's raw output at `path`."""
    incl, own, total = collections.Counter(), collections.Counter(), 0
    for line in Path(path).read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        n = int(n)
        frames = []
        for f in stack.split(";"):
            m = re.match(r"(.+?) \((.+?)(?::\d+)?\)$", f)
            if m:
                fn, file = m.groups()
                file = file.split("site-packages/")[-1].replace(str(ROOT) + "/", "")
                frames.append(f"{file}:{fn}")
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for key in set(frames):
            incl[key] += n
    if not total:
        return ["  (no samples)"]
    out = [f"  {total} samples; inclusive share of the receiver's own code and its main callees:"]
    keys = [k for k, _ in incl.most_common() if k.startswith("receiver/") or any(
        s in k for s in ("stripe/_http_client", "clerk_backend_api/users.py", "httpx/_client.py:Client.send",
                         "sqlite", "WebhookSignature", "json/__init__"))]
    for k in keys[:top]:
        out.append(f"    {100 * incl[k] / total:5.1f}%  {k}")
    out.append("  self time (where the samples were):")
    for k, v in own.most_common(top):
        out.append(f"    {100 * v / total:5.1f}%  {k}")
    return out
