"""The example user project (examples/starlette-receiver): its own receiver app, tested in "its CI" with the
tiersync pytest plugin — signed-webhook expectations and catalog scenarios against the app that tiersync
starts (`tiersync_target_cmd` in its pytest.ini). Run as its CI would, in a subprocess."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "starlette-receiver"
# the venv's unrelated plugins only cost start-up time here
FAST = ["-p", "no:playwright", "-p", "no:hypothesispytest", "-p", "no:faker"]


def test_starlette_receiver_example_passes_its_ci():
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    # from the repository root, as `pytest examples/starlette-receiver`: the ini's command runs in its folder
    proc = subprocess.run([sys.executable, "-m", "pytest", str(EXAMPLE.relative_to(ROOT)), "-q", "-n", "2",
                           "-rfE", *FAST], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    summary = re.search(r"(\d+) passed", out)
    assert summary and int(summary.group(1)) >= 12, out[-3000:]
    assert "failed" not in out.splitlines()[-1] and "error" not in out.splitlines()[-1], out[-3000:]
