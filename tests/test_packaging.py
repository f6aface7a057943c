"""The wheel installs one import package, `tiersync`, mapped over the project's folders, with the
scenario catalog as package data."""

import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _package_folders() -> dict[str, Path]:
    """Every folder with an __init__.py under the mapped roots, by the import name it must have."""
    found = {}
    for name, folder in PYPROJECT["package-dir"].items():
        root = ROOT / folder
        for init in root.rglob("__init__.py"):
            rel = init.parent.relative_to(root).parts
            if "__pycache__" in rel:
                continue
            sub = ".".join((name, *rel))
            if not any(sub.startswith(other + ".") or sub == other for other in PYPROJECT["package-dir"]
                       if other != name and other.startswith(name + ".")):
                found[sub] = init.parent
    return found


def test_every_package_folder_is_listed():
    assert sorted(_package_folders()) == sorted(PYPROJECT["packages"])


def test_catalog_is_read_through_the_package():
    from tiersync.catalog import catalog_dir
    assert catalog_dir().resolve() == (ROOT / "scenarios").resolve()
    assert len(list(catalog_dir().rglob("*.yaml"))) >= 50


@pytest.mark.skipif(sys.platform != "linux", reason="builds a wheel with pip")
def test_wheel_holds_only_tiersync(tmp_path):
    import subprocess
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("tiersync-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"tiersync"}
    assert "tiersync/receiver/app.py" in names
    assert "tiersync/scenarios/happy/upgrade-pro-card.yaml" in names
    assert "tiersync/stripe_sim/webhooks/delivery.py" in names
