"""docs/pytest-plugin.md's examples, run as the tests they are: the webhook-sender example against the default
target (the reference receiver), and the complete CI example (pytest.ini + tests) beside the example app of
examples/starlette-receiver, run as its CI would, in a subprocess."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "pytest-plugin.md"
APP = ROOT / "examples" / "starlette-receiver" / "app.py"
FAST = ["-p", "no:playwright", "-p", "no:hypothesispytest", "-p", "no:faker"]
pytest_plugins = ["pytester"]


def doc_files() -> dict[str, str]:
    """Every fenced block of the doc whose first line is `# <file name>`, by file name."""
    files = {}
    for body in re.findall(r"^```(?:python|ini)\n(.*?)^```", DOC.read_text(), flags=re.M | re.S):
        first = body.splitlines()[0]
        match = re.fullmatch(r"# ([\w/.-]+\.(?:py|ini))", first)
        if match:
            files[match.group(1)] = body
    return files


def test_the_doc_names_its_example_files():
    assert set(doc_files()) == {"pytest.ini", "tests/test_webhooks.py", "tests/test_catalog.py",
                                "test_signatures.py"}


def test_webhook_sender_example(pytester):
    pytester.makepyfile(test_signatures=doc_files()["test_signatures.py"])
    # in a subprocess: an in-process run drops the modules it imported (the Clerk SDK's lazily imported
    # models among them) when it ends, under the tests that run after it
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *FAST)
    result.assert_outcomes(passed=1)


def test_ci_example_against_a_users_own_receiver(tmp_path):
    project = tmp_path / "myapp"
    for name, text in doc_files().items():
        if name != "test_signatures.py":
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            (project / name).write_text(text)
    shutil.copy(APP, project / "app.py")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST"):
        env.pop(name, None)
    proc = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-rfEs", *FAST],
                          cwd=project, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    # 4 broken signatures + acknowledged events + our own user + the 2 scenarios of pytest.ini
    assert re.search(r"\b8 passed\b", out) and "skipped" not in out, out[-3000:]
    assert "test_billing_scenario[upgrade-pro-with-card] PASSED" in out, out[-3000:]
    assert "test_billing_scenario[stale-timestamp] PASSED" in out, out[-3000:]
