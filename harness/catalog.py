"""The bundled scenario catalog: the YAML files of `scenarios/`, installed as the package data of
`tiersync.scenarios`. Every part of tiersync finds the catalog here, and only here."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def catalog_dir() -> Path:
    """The folder holding the bundled catalog (installed or editable, the same call)."""
    return Path(str(files("tiersync.scenarios")))
