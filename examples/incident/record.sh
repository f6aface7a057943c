#!/usr/bin/env bash
# Records the sample incident: the story played against the naive receiver, Stripe's events and the
# endpoint's delivery attempts written as stale-update.events.json / stale-update.deliveries.json.
set -euo pipefail
cd "$(dirname "$0")"
tiersync run story.yaml --profile tiersync.toml --target-cmd "python naive_receiver.py" --record .
