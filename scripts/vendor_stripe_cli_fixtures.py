"""Copy the billing-relevant Stripe CLI trigger fixtures into the project (tests/stripe_sim/data/).

Source: the public Stripe CLI repository (https://github.com/stripe/stripe-cli), `pkg/fixtures/triggers/`,
commit f5f390bc (2026-08-21), Apache-2.0. The files are copied byte for byte; the ones about Connect,
Issuing, Identity, payouts, top-ups, transfers, balances and reporting are left out (not billing).

    python scripts/vendor_stripe_cli_fixtures.py [--source DIR]

DIR is a `pkg/fixtures/triggers` folder of a stripe-cli checkout at that commit, or the team's reference
copy `../shared/reference/stripe-cli-fixtures` (the default). Re-running it replaces the vendored set.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEST = ROOT / "tests" / "stripe_sim" / "data" / "stripe-cli-fixtures"
DEFAULT_SOURCE = ROOT.parent / "shared" / "reference" / "stripe-cli-fixtures"
SOURCE_COMMIT = "f5f390bc"
# trigger files whose event families are not billing (Connect, Issuing, Identity, treasury-like flows)
NOT_BILLING = ("account.", "balance.", "cash_balance.", "identity.", "issuing_", "payout.", "reporting.",
               "topup.", "transfer.")

README = f"""# Stripe CLI trigger fixtures (billing-relevant subset)

Copied unmodified from the public Stripe CLI repository, `pkg/fixtures/triggers/`, commit {SOURCE_COMMIT}
(2026-08-21): https://github.com/stripe/stripe-cli/tree/{SOURCE_COMMIT}/pkg/fixtures/triggers
Licence: Apache-2.0 (Copyright Stripe, Inc.), http://www.apache.org/licenses/LICENSE-2.0

These are the files `stripe trigger <event>` runs. {{count}} of the 121 files concern billing; the others
(Connect accounts, Issuing, Identity, payouts, top-ups, transfers, balances, reporting) are left out.
tests/stripe_sim/test_cli_triggers.py runs every one against the simulator.

Regenerate with `python scripts/vendor_stripe_cli_fixtures.py --source <stripe-cli>/pkg/fixtures/triggers`.
"""


def billing_relevant(name: str) -> bool:
    return name.endswith(".json") and not name.startswith(NOT_BILLING)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    args = ap.parse_args(argv)
    files = sorted(p for p in args.source.glob("*.json") if billing_relevant(p.name)) if args.source.is_dir() else []
    if not files:
        print(f"error: no Stripe CLI trigger fixtures in {args.source}", file=sys.stderr)
        return 1
    if DEST.exists():
        shutil.rmtree(DEST)
    DEST.mkdir(parents=True)
    for src in files:
        shutil.copyfile(src, DEST / src.name)
    (DEST / "README.md").write_text(README.format(count=len(files)))
    print(f"copied {len(files)} fixtures to {DEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
