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


def _catalog_folders() -> set[str]:
    """The catalog's folders of YAML (no __init__.py): listed as packages of data, which setuptools ships
    without its "Package would be ignored" warning."""
    root = ROOT / PYPROJECT["package-dir"]["tiersync.scenarios"]
    return {".".join(("tiersync.scenarios", *d.relative_to(root).parts))
            for d in root.rglob("*") if d.is_dir() and "__pycache__" not in d.parts and any(d.glob("*.yaml"))}


def test_every_package_folder_is_listed():
    assert sorted({*_package_folders(), *_catalog_folders()}) == sorted(PYPROJECT["packages"])
    assert _catalog_folders() >= {"tiersync.scenarios.happy", "tiersync.scenarios.security"}  # really read
    for name in _catalog_folders():
        assert PYPROJECT["package-data"][name] == ["*.yaml"], name


def test_catalog_is_read_through_the_package():
    from tiersync.catalog import catalog_dir
    assert catalog_dir().resolve() == (ROOT / "scenarios").resolve()
    assert len(list(catalog_dir().rglob("*.yaml"))) >= 50


@pytest.fixture(scope="module")
def wheel_build(tmp_path_factory) -> tuple[list[str], str]:
    """The names in the wheel pip builds of the project, and what the build printed (verbose)."""
    import subprocess
    if sys.platform != "linux":
        pytest.skip("builds a wheel with pip")
    out_dir = tmp_path_factory.mktemp("wheel")
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(out_dir), str(ROOT)],
                         check=True, capture_output=True, text=True)
    wheel = next(out_dir.glob("tiersync-*.whl"))
    return zipfile.ZipFile(wheel).namelist(), out.stdout + out.stderr


def test_wheel_holds_only_tiersync(wheel_build):
    names, _ = wheel_build
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"tiersync"}
    assert "tiersync/receiver/app.py" in names
    assert "tiersync/scenarios/happy/upgrade-pro-card.yaml" in names
    assert "tiersync/stripe_sim/webhooks/delivery.py" in names
    catalog = ROOT / PYPROJECT["package-dir"]["tiersync.scenarios"]
    yaml = {"tiersync/scenarios/" + p.relative_to(catalog).as_posix() for p in catalog.rglob("*.yaml")}
    assert len(yaml) >= 50
    assert yaml == {n for n in names if n.endswith(".yaml")}  # the whole catalog, and no other YAML


def test_the_build_warns_of_no_ignored_package(wheel_build):
    """`make setup` once printed setuptools' "Package would be ignored" for each folder of the catalog."""
    _, output = wheel_build
    assert "Building wheel" in output or "building" in output.lower()  # the verbose output is really read
    assert "would be ignored" not in output
