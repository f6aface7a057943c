"""The production commands' registration (one call from tiersync.cli)."""

from __future__ import annotations


def add_commands(sub):
    from .preflight import add_commands as add_preflight
    add_preflight(sub)
    from .smoke_cli import add_commands as add_smoke
    add_smoke(sub)
