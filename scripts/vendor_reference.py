"""Regenerate tests/data/reference/ from the official `stripe` npm package's type files (the pinned API version).

    python scripts/vendor_reference.py                  # fetch (npm pack, cached), parse, write
    python scripts/vendor_reference.py --check          # exit 1 when the committed files differ
    python scripts/vendor_reference.py --cross-check DIR  # compare with an earlier derivation (a reference folder)

Source: the `stripe` npm package (stripe-node, MIT) at STRIPE_NPM, whose `cjs/apiVersion.d.ts` must pin the
simulator's API version, parsed by the TypeScript compiler (`typescript` npm package at TYPESCRIPT_NPM) through
`scripts/stripe_types.cjs`. Both tarballs are fetched once with `npm pack` into a cache outside the project
(`~/.cache/tiersync/npm`, or $TIERSYNC_CACHE/npm); nothing of them is copied into the project. A fresh clone
runs every test from the committed files without network.

Written (sorted, so a regeneration shows as a readable diff):
- `stripe_fields_<date>.json`: for every object type the Stripe simulator serves (OBJECTS, and the `deleted_*`
  stubs of DELETED) the fields always present (`required`), those Stripe may leave out (`optional`, `name?:`)
  and those that may be null (`nullable`, `| null`); under `nested`, the same for every object nested in it
  that has its own interface (`invoice_settings`, `status_transitions`; not `lines`, a list of another
  object type), keyed by path (`a.b`; `a[]` for the items of an array). `arrays`, `hashes` (maps such as
  metadata) and `lists` (list objects) name the fields of those types: what an empty value looks like.
- `stripe_event_types_<date>.json`: every event type and the type under `data.object`.

For a new API version: set STRIPE_NPM to the stripe-node release that pins it (its CHANGELOG says which), run
this script, then `python -m tiersync.stripe_sim.gen_shapes`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "tests" / "data" / "reference"
PARSER = Path(__file__).with_name("stripe_types.cjs")
STRIPE_NPM = "23.1.0"
TYPESCRIPT_NPM = "5.6.3"
API_VERSION = "2026-10-28.endive"
VERSION = API_VERSION.split(".")[0]

# the object types the Stripe simulator serves (the value of their `object` field)
OBJECTS = [
    "customer", "product", "price", "coupon", "promotion_code", "checkout.session", "subscription",
    "subscription_item", "invoice", "billing_portal.session", "billing_portal.configuration", "webhook_endpoint",
    "event", "test_helpers.test_clock",
    "balance_transaction", "card", "charge", "credit_note", "credit_note_line_item", "customer_balance_transaction",
    "discount", "dispute", "invoice_payment", "invoiceitem", "item", "line_item", "mandate", "payment_intent",
    "payment_link", "payment_method", "plan", "quote", "refund", "setup_intent", "subscription_schedule", "tax_id",
    "tax_rate", "cash_balance", "customer_cash_balance_transaction", "funding_instructions",
]
# and those the simulator deletes, answering Stripe's `deleted: true` stub
DELETED = [
    "customer", "product", "coupon", "subscription_item", "webhook_endpoint", "test_helpers.test_clock",
    "card", "discount", "invoice", "invoiceitem", "plan", "tax_id",
]


def cache_dir() -> Path:
    base = Path(os.environ.get("TIERSYNC_CACHE") or Path.home() / ".cache" / "tiersync")
    return base / "npm"


def fetched(package: str, version: str) -> Path:
    """The unpacked npm package (fetched with `npm pack` on first use, which checks the registry's integrity)."""
    cache = cache_dir()
    unpacked = cache / f"{package}-{version}"
    if (unpacked / "package" / "package.json").is_file():
        return unpacked / "package"
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / f"{package}-{version}.tgz"
    if not tarball.is_file():
        subprocess.run(["npm", "pack", f"{package}@{version}", "--pack-destination", str(cache), "--silent"],
                       check=True, stdout=subprocess.DEVNULL)
    with tarfile.open(tarball) as tar:
        tar.extractall(unpacked, filter="data")
    return unpacked / "package"


def parse_types() -> dict:
    stripe_dir, ts_dir = fetched("stripe", STRIPE_NPM), fetched("typescript", TYPESCRIPT_NPM)
    out = subprocess.run(["node", str(PARSER), str(ts_dir), str(stripe_dir)], check=True, capture_output=True,
                         text=True).stdout
    parsed = json.loads(out)
    if parsed["api_version"] != API_VERSION:
        raise SystemExit(f"stripe@{STRIPE_NPM} pins {parsed['api_version']}, not {API_VERSION}")
    return parsed


def field_lists(interface: str, fields: dict) -> dict:
    lists = {
        "interface": interface,
        "required": sorted(n for n, f in fields.items() if not f["optional"]),
        "optional": sorted(n for n, f in fields.items() if f["optional"]),
        "nullable": sorted(n for n, f in fields.items() if f["nullable"]),
    }
    for kind, key in (("array", "arrays"), ("hash", "hashes"), ("list", "lists")):
        names = sorted(n for n, f in fields.items() if f["kind"] == kind)
        if names:
            lists[key] = names
    return lists


def nested_lists(fields: dict, prefix: str = "") -> dict:
    """path -> field lists of every nested interface under `fields`, depth first, sorted by path."""
    out = {}
    for name in sorted(fields):
        for key, suffix in (("object", ""), ("items", "[]")):
            if key in fields[name]:
                path = f"{prefix}{name}{suffix}"
                inner = fields[name][key]
                out[path] = field_lists(inner["interface"], inner["fields"])
                out.update(nested_lists(inner["fields"], path + "."))
    return out


def stripe_fields(parsed: dict) -> dict:
    by_object = {}
    for obj in parsed["objects"]:
        key = ("deleted_" if obj["deleted"] else "") + obj["object"]
        if key in by_object:
            raise SystemExit(f"two interfaces declare object {key!r}: {by_object[key]['interface']}, "
                             f"{obj['interface']}")
        by_object[key] = obj
    resources = {}
    for key in OBJECTS + [f"deleted_{name}" for name in DELETED]:
        if key not in by_object:
            raise SystemExit(f"stripe@{STRIPE_NPM} declares no interface with object {key!r}")
        obj = by_object[key]
        resources[key] = field_lists(obj["interface"], obj["fields"])
        nested = nested_lists(obj["fields"])
        if nested:
            resources[key]["nested"] = nested
    return {"source": f"npm stripe@{STRIPE_NPM} cjs/resources/*.d.ts", "api_version": parsed["api_version"],
            "derived_by": f"scripts/vendor_reference.py (typescript@{parsed['typescript_version']})",
            "resources": resources}


def stripe_event_types(parsed: dict) -> dict:
    by_type = dict(sorted(parsed["event_types"].items()))
    return {"source": f"npm stripe@{STRIPE_NPM} cjs/resources/Events.d.ts", "derived_by": "scripts/vendor_reference.py",
            "count": len(by_type), "data_object_by_type": by_type}


def derived() -> dict[str, dict]:
    parsed = parse_types()
    return {f"stripe_fields_{VERSION}.json": stripe_fields(parsed),
            f"stripe_event_types_{VERSION}.json": stripe_event_types(parsed)}


def as_text(data: dict) -> str:
    return json.dumps(data, indent=1) + "\n"


def cross_check(files: dict[str, dict], folder: Path) -> list[str]:
    """Differences from an earlier derivation of the same package (`stripe/schemas_<date>.json` and
    `stripe/event_types_<date>.json` of a reference folder): same field lists, same event types."""
    problems = []
    schemas = json.loads((folder / "stripe" / f"schemas_{VERSION}.json").read_text())["schemas"]
    ours = files[f"stripe_fields_{VERSION}.json"]["resources"]
    for kind, schema in schemas.items():
        theirs = {"interface": schema["interface"], "required": sorted(schema["required"]),
                  "optional": sorted(schema["optional"]),
                  "nullable": sorted(n for n, p in schema["properties"].items() if p["nullable"])}
        mine = {k: v for k, v in ours.get(kind, {}).items() if k in theirs}
        if mine != theirs:
            problems.append(f"{kind}: {mine} != {theirs}")
    events = json.loads((folder / "stripe" / f"event_types_{VERSION}.json").read_text())["data_object_by_type"]
    if files[f"stripe_event_types_{VERSION}.json"]["data_object_by_type"] != events:
        problems.append("event types differ")
    if not problems:
        print(f"cross-check: the {len(schemas)} object types and {len(events)} event types of {folder} are "
              "derived identically")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a difference")
    parser.add_argument("--cross-check", type=Path, metavar="DIR",
                        help="also compare with an earlier derivation in a reference folder; exit 1 on a difference")
    args = parser.parse_args(argv)
    files = derived()
    if args.cross_check:
        problems = cross_check(files, args.cross_check)
        if problems:
            print("cross-check failed:\n" + "\n".join(problems), file=sys.stderr)
            return 1
    stale = []
    for name, data in files.items():
        path, text = TARGET / name, as_text(data)
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
