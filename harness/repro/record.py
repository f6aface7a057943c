"""Record what the Stripe simulator holds after a run, in the shapes `tiersync repro` reads: the events as
`GET /v1/events` pages them (newest first) and the target endpoint's delivery attempts, so a scenario run
becomes an incident file like one a team exports from Stripe."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

# what an attempt keeps: enough to replay the delivery order (no signatures, no answers' bodies)
ATTEMPT_FIELDS = ("event", "type", "at", "attempt", "copy", "status", "outcome")


def fetch_events(stripe_url: str, key: str, *, since: int | None = None) -> list[dict]:
    """Every test-mode event (created >= since), newest first, through the API's pagination."""
    events, after = [], None
    with httpx.Client(base_url=stripe_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        while True:
            params = {"limit": 100, **({"starting_after": after} if after else {}),
                      **({"created[gte]": since} if since is not None else {})}
            page = http.get("/v1/events", params=params)
            page.raise_for_status()
            body = page.json()
            events += body["data"]
            if not body.get("has_more") or not body["data"]:
                return events
            after = body["data"][-1]["id"]


def fetch_deliveries(stripe_url: str, endpoint: str | None) -> list[dict]:
    params = {"limit": 100000, **({"endpoint": endpoint} if endpoint else {})}
    r = httpx.get(f"{stripe_url}/_sim/webhooks/log", params=params, timeout=30)
    r.raise_for_status()
    return [{k: a.get(k) for k in ATTEMPT_FIELDS} for a in r.json()["data"]]


def sim_now(stripe_url: str) -> int:
    """The simulator's clock (virtual time runs ahead of the wall clock after `let_retries_run`)."""
    r = httpx.post(f"{stripe_url}/_sim/webhooks/advance", data={"seconds": 0}, timeout=30)
    r.raise_for_status()
    return int(r.json()["now"])


def record(target, prefix: str | Path, *, since: int | None = None) -> tuple[Path, Path]:
    """Write `<prefix>.events.json` (a Stripe list object) and `<prefix>.deliveries.json`; return both paths.
    With `since`, only events created from then on, and the catalog's product and price events of before (the
    plans a replay needs; they hold no personal data)."""
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    events = fetch_events(target.stripe_url, target.stripe_key)
    if since is not None:
        events = [e for e in events if e["created"] >= since or e["type"].startswith(("product.", "price."))]
    events_path = prefix.with_name(prefix.name + ".events.json")
    events_path.write_text(json.dumps({"object": "list", "data": events, "has_more": False, "url": "/v1/events"},
                                      indent=2) + "\n", encoding="utf-8")
    deliveries_path = prefix.with_name(prefix.name + ".deliveries.json")
    deliveries_path.write_text(json.dumps(fetch_deliveries(target.stripe_url, target.endpoint_id), indent=2) + "\n",
                               encoding="utf-8")
    return events_path, deliveries_path


def recorder(target, folder: str | Path, *, then=None):
    """An `on_result` callback for `run_scenarios`: after each scenario, its incident files in `folder`."""
    state = {"since": sim_now(target.stripe_url)}

    def on_result(result):
        since = state["since"] if target.kind != "reference" else None  # the reference target starts afresh
        record(target, Path(folder) / result.name, since=since)
        state["since"] = sim_now(target.stripe_url)
        if then:
            then(result)

    return on_result
