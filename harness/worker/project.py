"""A Cloudflare Worker project as tiersync runs it: its entry module and the bindings its wrangler.toml
(or wrangler.json) declares. Only what Miniflare can give it in memory is supported: `[vars]`, KV
namespaces, D1 databases and R2 buckets; any other binding is refused with its name, not silently left out."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_NAMES = ("wrangler.toml", "wrangler.json", "wrangler.jsonc")
SUPPORTED_KEYS = {"kv_namespaces", "d1_databases", "r2_buckets", "vars"}
# wrangler.toml keys that declare bindings (a Worker reading one we don't provide would fail confusingly)
BINDING_KEYS = {"durable_objects", "services", "queues", "analytics_engine_datasets", "ai", "vectorize",
                "hyperdrive", "browser", "mtls_certificates", "dispatch_namespaces", "send_email",
                "workflows", "images", "version_metadata", "tail_consumers", "pipelines", "secrets_store_secrets"}
DEFAULT_COMPAT_DATE = "2024-09-23"


class ProjectError(Exception):
    """The path is not a Worker tiersync can run: the message names the file and what is wrong."""


@dataclass
class WorkerProject:
    root: Path            # the folder of wrangler.toml, or of the entry file
    entry: Path
    config_file: Path | None
    name: str
    compatibility_date: str
    compatibility_flags: list[str] = field(default_factory=list)
    vars: dict = field(default_factory=dict)
    kv_namespaces: list[str] = field(default_factory=list)
    d1_databases: list[str] = field(default_factory=list)
    r2_buckets: list[str] = field(default_factory=list)

    @property
    def package_root(self) -> Path | None:
        """The nearest folder with a package.json (its dependencies get bundled)."""
        for folder in (self.entry.parent, *self.entry.parent.parents):
            if (folder / "package.json").exists():
                return folder
            if folder == self.root.parent:
                break
        return None


def _read_config(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            return tomllib.loads(text)
        # JSONC: drop // and /* */ comments outside strings, then trailing commas
        text = re.sub(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', lambda m: m.group(1) or "", text, flags=re.S)
        return json.loads(re.sub(r",(\s*[}\]])", r"\1", text))
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ProjectError(f"{path}: not valid {path.suffix.lstrip('.').upper()}: {exc}") from None


def _bindings(config: dict, key: str, path: Path) -> list[str]:
    out = []
    for i, item in enumerate(config.get(key) or []):
        if not isinstance(item, dict) or not isinstance(item.get("binding"), str):
            raise ProjectError(f"{path}: {key}[{i}] has no `binding` name")
        out.append(item["binding"])
    return out


def load_project(path: str | Path) -> WorkerProject:
    """`path`: a folder holding wrangler.toml (its `main` is the entry), a wrangler.toml itself, or an entry
    file (.ts/.js/.mjs; a wrangler.toml beside it or one folder up gives the bindings)."""
    p = Path(path).expanduser().resolve()
    if not p.exists():
        raise ProjectError(f"{path}: no such file or folder")
    config_file = None
    entry = None
    if p.is_dir():
        config_file = next((p / n for n in CONFIG_NAMES if (p / n).exists()), None)
        if config_file is None:
            raise ProjectError(f"{path}: no {' / '.join(CONFIG_NAMES)} in this folder; give the folder of your "
                               "Worker's wrangler.toml, or its entry file")
    elif p.name in CONFIG_NAMES:
        config_file = p
    else:
        entry = p
        config_file = next((d / n for d in (p.parent, p.parent.parent) for n in CONFIG_NAMES
                            if (d / n).exists()), None)
    config = _read_config(config_file) if config_file else {}
    root = config_file.parent if config_file else p.parent
    if entry is None:
        main = config.get("main")
        if not isinstance(main, str) or not main:
            raise ProjectError(f"{config_file}: no `main` (the Worker's entry module); "
                               "give the entry file instead")
        entry = (root / main).resolve()
        if not entry.exists():
            raise ProjectError(f"{config_file}: main = {main!r}, but {entry} does not exist")
    unsupported = sorted(k for k in config if k in BINDING_KEYS)
    if unsupported:
        raise ProjectError(f"{config_file}: tiersync runs Workers with [vars], KV, D1 and R2 bindings only; "
                           f"this one also declares {', '.join(unsupported)}")
    vars_ = config.get("vars") or {}
    if not isinstance(vars_, dict):
        raise ProjectError(f"{config_file}: [vars] is not a table")
    flags = config.get("compatibility_flags") or []
    return WorkerProject(
        root=root, entry=entry, config_file=config_file, name=str(config.get("name") or entry.stem),
        compatibility_date=str(config.get("compatibility_date") or DEFAULT_COMPAT_DATE),
        compatibility_flags=[str(f) for f in flags], vars=dict(vars_),
        kv_namespaces=_bindings(config, "kv_namespaces", config_file) if config_file else [],
        d1_databases=_bindings(config, "d1_databases", config_file) if config_file else [],
        r2_buckets=_bindings(config, "r2_buckets", config_file) if config_file else [])
