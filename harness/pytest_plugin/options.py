"""The plugin's command-line options and their ini twins, and how a value is read (command line first,
then the ini file, whose relative paths start at the ini file's folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ..catalog import catalog_dir

CATALOG_PREFIX = "catalog:"


# ---- options ---------------------------------------------------------------------------------------------
_OPTIONS = [
    ("scenarios", "append", "PATH", "scenario files or folders (repeatable); 'catalog:happy' names part of the "
                                    "bundled catalog; default: the whole catalog"),
    ("target-cmd", "store", "CMD", "start the receiver under test with this shell command ({port} is filled in; "
                                   "the seed's environment variables are set)"),
    ("worker", "store", "PATH", "run this Cloudflare Worker (its wrangler.toml folder or entry file) in Miniflare "
                                "as the receiver under test (docs/worker.md)"),
    ("profile", "store", "FILE", "your app's profile (tiersync.toml: tiers, limits, env names, endpoints; "
                                 "docs/profile.md); default: the reference receiver's, or a tiersync.toml beside "
                                 "the Worker"),
    ("stack", "store", "FILE", "a running stack: the JSON line of `tiersync serve --json` saved to FILE"),
    ("target", "store", "URL", "with --tiersync-stack: the base URL of the receiver under test"),
    ("webhook-secret", "store", "WHSEC", "with --tiersync-stack: the whsec_ your receiver verifies with"),
    ("webhook-path", "store", "PATH", "the receiver's webhook path (default: the profile's, /webhook/stripe)"),
    ("target-timeout", "store", "SECONDS", "how long --tiersync-target-cmd may take to listen (default 60)"),
    ("isolation", "store", "scenario|session", "with --tiersync-target-cmd: a fresh world and process for every "
                                               "scenario (default: 'scenario') or one for the session"),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tiersync", "tiersync: Stripe + Clerk billing simulators and scenarios")
    for name, action, metavar, help_text in _OPTIONS:
        dest = "tiersync_" + name.replace("-", "_")
        group.addoption(f"--tiersync-{name}", action=action, dest=dest, metavar=metavar, default=None,
                        help=help_text)
        parser.addini(dest, help=help_text, type="linelist" if action == "append" else "string", default=None)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "tiersync_scenarios(*paths): parametrize this test's tiersync_scenario "
                                       "over these scenario files or folders (relative to the test file)")
    isolation(config)  # a wrong value is a usage error now, not a failure per test


def option(config: pytest.Config, name: str):
    """Command line first, then the ini file; ini paths are relative to the ini file's folder."""
    dest = "tiersync_" + name.replace("-", "_")
    value = config.getoption(dest)
    if value:
        return value, Path(config.invocation_params.dir)
    value = config.getini(dest)
    if value:
        base = Path(config.inipath).parent if config.inipath else Path(config.rootpath)
        return value, base
    return None, None


def resolve_path(raw: str, base: Path) -> Path:
    raw = raw.strip()
    if raw.startswith(CATALOG_PREFIX):
        return catalog_dir() / raw[len(CATALOG_PREFIX):].lstrip("/")
    p = Path(raw).expanduser()
    return p if p.is_absolute() else base / p



def isolation(config: pytest.Config) -> str:
    value = (option(config, "isolation")[0] or "scenario").strip()
    if value not in ("scenario", "session"):
        raise pytest.UsageError(f"tiersync: --tiersync-isolation is 'scenario' or 'session', not {value!r}")
    return value
