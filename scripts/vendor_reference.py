"""Regenerate tests/data/reference/ from the reference folder beside the project (`../shared/reference`).

A fresh clone has no `../shared`, so the tests read these derived files instead. Each keeps only what the
tests use, sorted, so a regeneration shows as a readable diff:

- `stripe_fields_<version>.json`: for each of the 14 resources (and the deleted_* variants), the required
  fields, the optional ones and which fields may be null (from `stripe/schemas_<version>.json`).
- `stripe_event_types_<version>.json`: every event type and the object type under `data.object`
  (from `stripe/event_types_<version>.json`).

Usage: python scripts/vendor_reference.py [--source DIR] [--check]
--check exits 1 when the committed files differ from what the source gives (nothing is written).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "reference"
TARGET = ROOT / "tests" / "data" / "reference"
VERSION = "2026-10-28"


def stripe_fields(schemas_file: Path) -> dict:
    raw = json.loads(schemas_file.read_text())
    resources = {}
    for kind, schema in raw["schemas"].items():
        resources[kind] = {
            "interface": schema["interface"],
            "required": sorted(schema["required"]),
            "optional": sorted(schema["optional"]),
            "nullable": sorted(name for name, prop in schema["properties"].items() if prop["nullable"]),
        }
    return {"source": raw["source"], "api_version": raw["api_version"],
            "derived_by": "scripts/vendor_reference.py", "resources": resources}


def stripe_event_types(event_types_file: Path) -> dict:
    raw = json.loads(event_types_file.read_text())
    by_type = dict(sorted(raw["data_object_by_type"].items()))
    return {"source": raw["source"], "derived_by": "scripts/vendor_reference.py", "count": len(by_type),
            "data_object_by_type": by_type}


def derived(source: Path) -> dict[str, str]:
    """File name -> text of every derived file."""
    stripe_dir = source / "stripe"
    files = {
        f"stripe_fields_{VERSION}.json": stripe_fields(stripe_dir / f"schemas_{VERSION}.json"),
        f"stripe_event_types_{VERSION}.json": stripe_event_types(stripe_dir / f"event_types_{VERSION}.json"),
    }
    return {name: json.dumps(data, indent=1, sort_keys=False) + "\n" for name, data in files.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="the reference folder to read")
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a difference")
    args = parser.parse_args(argv)
    if not (args.source / "stripe").is_dir():
        print(f"reference folder not found: {args.source}", file=sys.stderr)
        return 2
    stale = []
    for name, text in derived(args.source).items():
        path = TARGET / name
        if path.is_file() and path.read_text() == text:
            continue
        stale.append(name)
        if not args.check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    verb = "differ from the source" if args.check else "written"
    print(f"{len(stale)} file(s) {verb}: {', '.join(stale) or '-'}")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
