"""Regenerate `shapes.py` (every field of each object type the simulator serves, and its empty value).

    .venv/bin/python -m tiersync.stripe_sim.gen_shapes           # rewrite shapes.py
    .venv/bin/python -m tiersync.stripe_sim.gen_shapes --check   # exit 1 when shapes.py is stale

The source is the official `stripe` npm package's type files for the pinned API version, parsed with the
TypeScript compiler by `scripts/vendor_reference.py` into `tests/data/reference/stripe_fields_<date>.json`:
for each object type (and each object nested in one), which fields are always present (`name: T`), which may
be absent (`name?: T`), which may be null (`T | null`), and which are arrays, maps or list objects.

A field that is always present gets an empty value: None when it may be null, else [] (an array), {} (a map
such as metadata), an empty list object (which needs its url from the resource), or REQUIRED (a scalar or
object the resource must compute). Besides the top-level types, NESTED names the nested objects the
simulator builds with `shape()` (as `"<type>:<path>"`, e.g. `"invoice:status_transitions"`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .routing import API_VERSION

OUT = Path(__file__).with_name("shapes.py")
REFERENCE = (Path(__file__).resolve().parents[2] / "tests" / "data" / "reference"
             / f"stripe_fields_{API_VERSION.split('.')[0]}.json")
REQUIRED = "REQUIRED"  # written as the name of the marker shapes.py defines
LIST = {"object": "list", "data": [], "has_more": False, "url": None}

# nested objects the resources build through shape(): "<object type>:<path in its reference>"
NESTED: list[str] = [
    "balance_transaction:fee_details[]",
    "billing_portal.configuration:features", "billing_portal.configuration:features.payment_method_update",
    "billing_portal.configuration:features.subscription_cancel.cancellation_reason",
    "cash_balance:settings",
    "customer_cash_balance_transaction:applied_to_payment", "customer_cash_balance_transaction:funded",
    "customer_cash_balance_transaction:funded.bank_transfer",
    *(f"customer_cash_balance_transaction:funded.bank_transfer.{kind}_bank_transfer"
      for kind in ("eu", "gb", "jp", "us")),
    "funding_instructions:bank_transfer", "funding_instructions:bank_transfer.financial_addresses[]",
    *(f"funding_instructions:bank_transfer.financial_addresses[].{kind}"
      for kind in ("aba", "iban", "sort_code", "spei", "zengin")),
    "dispute:evidence", "dispute:evidence_details", "dispute:payment_method_details",
    "dispute:payment_method_details.card",
    "charge:outcome", "charge:payment_method_details", "charge:payment_method_details.card",
    "charge:payment_method_details.sepa_debit",
    "discount:source",
    "invoice:payment_settings", "invoice:payment_settings.payment_method_options",
    "invoice:payment_settings.payment_method_options.customer_balance",
    "invoice:payment_settings.payment_method_options.customer_balance.bank_transfer",
    "invoice_payment:payment", "invoiceitem:pricing",
    "line_item:parent", "line_item:parent.invoice_item_details", "line_item:parent.subscription_item_details",
    "line_item:pricing",
    "payment_intent:amount_details", "payment_intent:next_action",
    "payment_intent:next_action.display_bank_transfer_instructions", "payment_intent:payment_method_options",
    "payment_intent:payment_method_options.customer_balance",
    "payment_intent:payment_method_options.customer_balance.bank_transfer",
    "mandate:customer_acceptance", "mandate:customer_acceptance.online", "mandate:payment_method_details",
    "mandate:payment_method_details.sepa_debit",
    "payment_link:after_completion", "payment_link:automatic_tax", "payment_link:custom_text",
    "payment_link:subscription_data", "payment_link:subscription_data.invoice_settings",
    "payment_method:billing_details", "payment_method:card", "payment_method:sepa_debit",
    "quote:automatic_tax", "quote:computed", "quote:computed.recurring", "quote:computed.upfront",
    "quote:invoice_settings", "quote:status_transitions", "quote:subscription_data", "quote:total_details",
    "refund:destination_details", "refund:destination_details.card",
    "setup_intent:payment_method_options", "setup_intent:payment_method_options.card",
    "subscription:payment_settings", "subscription:payment_settings.payment_method_options",
    "subscription:payment_settings.payment_method_options.customer_balance",
    "subscription:payment_settings.payment_method_options.customer_balance.bank_transfer",
    "subscription:cancellation_details", "subscription:invoice_settings", "subscription:trial_settings.end_behavior",
    "subscription_schedule:default_settings", "subscription_schedule:default_settings.automatic_tax",
    "subscription_schedule:default_settings.invoice_settings", "subscription_schedule:phases[]",
    "subscription_schedule:phases[].items[]",
    "tax_id:owner", "tax_id:verification",
]


def _field_order(names) -> list[str]:
    """As Stripe writes objects: `id`, `object`, then the rest alphabetically."""
    first = [n for n in ("id", "object") if n in names]
    return first + sorted(n for n in names if n not in first)


def _spec(ref: dict, object_name: str | None) -> dict:
    optional, nullable = set(ref["optional"]), set(ref["nullable"])
    arrays, hashes, lists = (set(ref.get(key, ())) for key in ("arrays", "hashes", "lists"))

    def empty(name):
        if name in nullable:
            return None
        if name in arrays:
            return []
        if name in hashes:
            return {}
        return dict(LIST) if name in lists else REQUIRED

    fields = {}
    for name in _field_order(set(ref["required"]) | optional):
        fields[name] = object_name if name == "object" and object_name and name not in optional else empty(name)
    return {"fields": fields, "optional": [n for n in fields if n in optional]}


def derive() -> dict[str, dict]:
    reference = json.loads(REFERENCE.read_text())["resources"]
    table = {}
    for kind, ref in reference.items():
        table[kind] = _spec(ref, kind.removeprefix("deleted_"))
    for name in NESTED:
        kind, path = name.split(":", 1)
        table[name] = _spec(reference[kind]["nested"][path], None)
    return table


def _source() -> str:
    return json.loads(REFERENCE.read_text())["source"].split(" ")[1]


def _literal(value) -> str:
    return "REQUIRED" if value == REQUIRED else repr(value)


def render(table: dict[str, dict]) -> str:
    lines = [f'"""Every top-level field of each object type and its empty value (API version {API_VERSION}).', "",
             "GENERATED by `python -m tiersync.stripe_sim.gen_shapes` from the official stripe npm package's",
             f"types ({_source()}, in tests/data/reference/); do not edit by hand. FIELDS lists, in Stripe's order, each",
             "field with the value it has while unset (REQUIRED: the resource must give it); OPTIONAL, the fields",
             "Stripe leaves out of an object unless they are set. Build objects with `objects.shape(kind, values)`.",
             '"""', "", "REQUIRED = object()  # no empty value: the resource must compute it", "",
             "FIELDS: dict[str, dict[str, object]] = {"]
    for kind, spec in table.items():
        lines.append(f"    {kind!r}: {{")
        lines += [f"        {name!r}: {_literal(value)}," for name, value in spec["fields"].items()]
        lines.append("    },")
    lines += ["}", "", "OPTIONAL: dict[str, frozenset[str]] = {"]
    for kind, spec in table.items():
        lines.append(f"    {kind!r}: frozenset({{")
        lines += [f"        {name!r}," for name in spec["optional"]]
        lines.append("    }),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    pinned = json.loads(REFERENCE.read_text())["api_version"]
    if pinned != API_VERSION:
        print(f"{REFERENCE.name} describes {pinned}, the simulator serves {API_VERSION}: run "
              "scripts/vendor_reference.py for the simulator's version first", file=sys.stderr)
        return 1
    text = render(derive())
    if "--check" in argv:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is stale: run python -m tiersync.stripe_sim.gen_shapes", file=sys.stderr)
            return 1
        print(f"{OUT} is up to date")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
