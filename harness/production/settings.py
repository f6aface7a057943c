"""The app's settings as deployed: `.dev.vars` / `.env` files, `wrangler.toml` `[vars]`, the environment.

Later sources win: wrangler `[vars]` first, then each env file in the order given (Wrangler's secrets
override `[vars]` the same way), then, with `from_environment`, this process's environment for the
names the app reads. A malformed file is a `SettingsError` naming the file and line."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SettingsError(Exception):
    """A settings file tiersync cannot read; the message names the file (and line)."""


@dataclass
class AppSettings:
    values: dict[str, str] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # name -> where it was read ("api/.dev.vars")

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if value not in (None, "") else None

    def where(self, name: str) -> str:
        return self.origin.get(name, "the settings")

    def sources(self) -> list[str]:
        return list(dict.fromkeys(self.origin.values()))


def parse_env_file(path: Path) -> dict[str, str]:
    """`NAME=value` lines (`export` allowed, `#` comments, single or double quotes); nothing else."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not _NAME.match(name):
            raise SettingsError(f"{path}:{number}: expected NAME=value, found {_shape(raw)}")
        values[name] = _unquote(value.strip(), path, number)
    return values


def _unquote(value: str, path: Path, number: int) -> str:
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = value.find(quote, 1)
        if end < 0:
            raise SettingsError(f"{path}:{number}: the value opens a {quote} quote it never closes")
        return value[1:end]
    return value.split(" #", 1)[0].strip()


def _shape(raw: str) -> str:
    """A malformed line described without repeating it (it may hold a secret)."""
    words = raw.strip().split()
    return f"a line of {len(words)} word(s) without NAME=" if words else "an empty line"


def parse_wrangler_vars(path: Path, environment: str | None = None) -> dict[str, str]:
    """`[vars]` of a wrangler.toml (or `[env.NAME.vars]`), values as strings like Wrangler passes them."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML ({exc})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read it ({getattr(exc, 'strerror', None) or exc})") from None
    table = data
    if environment:
        table = (data.get("env") or {}).get(environment)
        if not isinstance(table, dict):
            raise SettingsError(f"{path}: no [env.{environment}] section")
    found = table.get("vars", {})
    if not isinstance(found, dict):
        raise SettingsError(f"{path}: [vars] is not a table")
    return {k: v if isinstance(v, str) else str(v) for k, v in found.items() if not isinstance(v, dict | list)}


def load_settings(env_files: list[str] = (), wrangler: str | None = None, wrangler_env: str | None = None,
                  from_environment: bool = False, names: list[str] = (),
                  prefixes: tuple[str, ...] = ("STRIPE_PRICE_ID_",)) -> AppSettings:
    settings = AppSettings()

    def add(values: dict[str, str], origin: str):
        for name, value in values.items():
            settings.values[name], settings.origin[name] = value, origin

    if wrangler:
        add(parse_wrangler_vars(Path(wrangler), wrangler_env), f"{wrangler} [vars]")
    for env_file in env_files:
        add(parse_env_file(Path(env_file)), env_file)
    if from_environment:
        add({n: v for n, v in os.environ.items() if v and (n in names or n.startswith(prefixes))},
            "the environment")
    return settings


def add_settings_arguments(parser):
    parser.add_argument("--env-file", action="append", default=[], help="a .dev.vars / .env file (repeatable)")
    parser.add_argument("--wrangler", help="a wrangler.toml whose [vars] the app gets")
    parser.add_argument("--wrangler-env", help="read [env.NAME.vars] instead of [vars]")
    parser.add_argument("--from-env", action="store_true", help="read the app's variables from this environment")


def settings_from(args, names: list[str], required: bool = True) -> AppSettings:
    if required and not (args.env_file or args.wrangler or args.from_env):
        raise SettingsError("no settings given: pass --env-file (.dev.vars / .env), --wrangler wrangler.toml "
                            "and/or --from-env")
    return load_settings(args.env_file, args.wrangler, args.wrangler_env, args.from_env, names=names)
