"""Bundle a Worker with esbuild, as wrangler does (`--platform=browser --conditions=worker,browser`,
ES module output), around tiersync's console-collecting wrapper."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from .project import WorkerProject
from .toolchain import HERE, app_node_modules, esbuild_path

WRAPPER = HERE / "wrapper.mjs"
ENTRY_MARK = "__TIERSYNC_WORKER_ENTRY__"


class BundleError(Exception):
    """esbuild refused the Worker: the message quotes esbuild."""


def bundle(project: WorkerProject, toolchain: Path, out_dir: Path, *, timeout: float = 60) -> tuple[Path, float]:
    """Write `out_dir/worker.mjs`; return its path and how long esbuild took (seconds)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    entry = out_dir / "entry.mjs"
    entry.write_text(WRAPPER.read_text(encoding="utf-8").replace(f'"{ENTRY_MARK}"', json.dumps(str(project.entry))),
                     encoding="utf-8")
    out = out_dir / "worker.mjs"
    env = dict(os.environ)
    root = project.package_root
    modules = app_node_modules(root) if root else None
    if modules is not None:  # esbuild looks here when the project's own folders have no node_modules
        env["NODE_PATH"] = str(modules)
    cmd = ["node", str(esbuild_path(toolchain)), str(entry), "--bundle", "--format=esm", "--platform=browser",
           "--conditions=worker,browser", "--main-fields=browser,module,main", "--target=es2022",
           "--external:node:*", "--external:cloudflare:*", f"--outfile={out}", "--log-level=error",
           "--log-limit=20", "--color=false"]
    started = time.monotonic()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=project.root)
    except subprocess.TimeoutExpired:
        raise BundleError(f"esbuild did not finish bundling {project.entry} within {timeout:g}s") from None
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().replace(str(entry), "(tiersync wrapper)")
        raise BundleError(f"esbuild could not bundle {project.entry}:\n{message}")
    return out, time.monotonic() - started
