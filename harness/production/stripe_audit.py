"""The Stripe account, read through the official SDK with one key (a restricted read-only key is enough):
each paid tier's price and product, the webhook endpoints, the Customer Portal. Only GET requests."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import stripe

from .expectations import AppExpectations
from .report import FAIL, PASS, SKIP, WARN, Check
from .settings import AppSettings

STRIPE_API = "https://api.stripe.com"


class AuditAborted(Exception):
    """The account cannot be read at all (revoked key, unreachable API): one line for the user."""


def client(key: str, api_base: str) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": api_base}, max_network_retries=0,
                               http_client=stripe.RequestsClient(timeout=15))


def _plain(obj) -> dict:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def read(call, what: str, permission: str):
    """One SDK read; the errors that make the whole audit meaningless become AuditAborted."""
    try:
        return call()
    except stripe.AuthenticationError as exc:
        raise AuditAborted(f"Stripe refused the key while reading {what}: {exc.user_message or exc} "
                           "(revoked, rolled, or from another account)") from None
    except stripe.PermissionError as exc:
        named = re.search(r"Having the '(\w+)' permission", str(exc))  # Stripe names the one missing
        raise AuditAborted(f"the Stripe key may not read {what}: give the restricted key '{permission}: Read'"
                           + (f" ({named.group(1)})" if named else "") + " (docs/production.md lists the "
                           "permissions)") from None
    except stripe.APIConnectionError:
        raise AuditAborted(f"cannot reach the Stripe API while reading {what} (network, proxy or "
                           "--stripe-api-base)") from None


def list_all(list_call, what: str, permission: str) -> list[dict]:
    page = read(lambda: list_call({"limit": 100}), what, permission)
    return [_plain(o) for o in read(lambda: list(page.auto_paging_iter()), what, permission)]


# ---- prices and products ---------------------------------------------------------------------------
def tier_checks(sc: stripe.StripeClient, exp: AppExpectations, settings: AppSettings, mode: str) -> list[Check]:
    checks = []
    for tier in exp.paid_tiers:
        price_id = settings.get(tier.price_env)
        if not price_id:
            checks.append(Check(f"price.{tier.name}", SKIP, f"{tier.price_env} is not set (see settings)",
                                f"set {tier.price_env} to the {tier.name} tier's {mode}-mode price id"))
            continue
        try:
            price = _plain(read(lambda pid=price_id: sc.v1.prices.retrieve(pid, params={"expand": ["product"]}),
                                f"price {price_id}", "Products"))
        except stripe.InvalidRequestError as exc:
            other = "test" if mode == "live" else "live"
            if f"exists in {other} mode" in str(exc):
                checks.append(Check(f"price.{tier.name}", FAIL, f"{tier.price_env}={price_id} is a {other}-mode "
                                    f"price and the key is {mode}: checkout fails with 'No such price'",
                                    f"recreate the {tier.name} product in {mode} mode (guide Step 2) and set "
                                    f"{tier.price_env} to its {mode} price id"))
            else:
                checks.append(Check(f"price.{tier.name}", FAIL, f"{tier.price_env}={price_id}: no such price in "
                                    f"this {mode}-mode account", f"copy the {tier.name} price id from Products "
                                    f"({mode} mode) into {tier.price_env}"))
            continue
        checks += _price_checks(tier, price, price_id, mode)
    return checks


def _price_checks(tier, price: dict, price_id: str, mode: str) -> list[Check]:
    out, problems = [], []
    if not price.get("active"):
        problems.append("archived (inactive)")
    if price.get("type") != "recurring" or not price.get("recurring"):
        problems.append("one-time, not recurring")
    if bool(price.get("livemode")) != (mode == "live"):
        problems.append(f"not a {mode}-mode price")
    if problems:
        out.append(Check(f"price.{tier.name}", FAIL, f"{price_id} is " + ", ".join(problems),
                         f"create an active recurring {mode}-mode price for {tier.name} and set {tier.price_env}"))
    else:
        every = (price.get("recurring") or {}).get("interval", "?")
        out.append(Check(f"price.{tier.name}", PASS, f"{price_id}: active, recurring every {every}, {mode} mode"))
    product = price.get("product")
    if not isinstance(product, dict):
        out.append(Check(f"product.{tier.name}", FAIL, f"{price_id}'s product could not be read", "check the price"))
        return out
    if not product.get("active"):
        out.append(Check(f"product.{tier.name}.active", FAIL, f"product {product['id']} is archived",
                         "unarchive the product in the Dashboard (Products) or point the tier at an active one"))
    out.append(plan_metadata_check(tier, product))
    return out


def plan_metadata_check(tier, product: dict, key: str = "plan") -> Check:
    """`metadata.plan` must be exactly the tier: `Pro`, ` pro `, a key named `tier` or none all leave the
    payer on free (the webhook handler finds no tier it knows)."""
    meta, want, pid = product.get("metadata") or {}, tier.plan_value, product.get("id")
    cid, fix = f"product.{tier.name}.metadata", (f"set metadata {key}={want} on product {pid} "
                                                  "(exactly, lower-case, no spaces; guide Step 2.3)")
    if meta.get(key) == want:
        return Check(cid, PASS, f"{pid}: metadata.{key} = {want!r}")
    if key in meta:
        return Check(cid, FAIL, f"{pid}: metadata.{key} is {meta[key]!r}, the app expects exactly {want!r}: "
                     "payers stay on free", fix)
    near = [k for k in meta if k.strip().lower() in (key, "tier", "plan")]
    if near:
        return Check(cid, FAIL, f"{pid}: no metadata.{key}; found a key named {near[0]!r} "
                     f"(= {meta[near[0]]!r}), which the app does not read", fix)
    return Check(cid, FAIL, f"{pid}: metadata.{key} is missing: the webhook cannot tell which tier was bought", fix)


# ---- webhook endpoints -------------------------------------------------------------------------------
def _norm(url: str) -> tuple[str, str]:
    parts = urlsplit(url.strip())
    return (parts.netloc.lower(), parts.path.rstrip("/") or "/")


def webhook_checks(endpoints: list[dict], app_url: str, exp: AppExpectations, mode: str) -> list[Check]:
    target = app_url.rstrip("/") + exp.webhook_path
    host, path = _norm(target)
    same_url = [e for e in endpoints if _norm(e["url"]) == (host, path)]
    enabled = [e for e in same_url if e.get("status") == "enabled"]
    add_fix = (f"add a {mode}-mode endpoint for {target} with {', '.join(exp.events)} "
               "(Dashboard > Developers > Webhooks; guide Step 5), then set STRIPE_WEBHOOK_SECRET to its secret")
    checks = []
    if not enabled:
        found = f"only disabled endpoint(s) {', '.join(e['id'] for e in same_url)}" if same_url else "none"
        checks.append(Check("webhook.endpoint", FAIL, f"no enabled {mode}-mode endpoint posts to {target} "
                            f"({found}): payments never reach the app", add_fix))
    elif len(enabled) > 1:
        checks.append(Check("webhook.endpoint", FAIL, f"{len(enabled)} enabled endpoints post to {target} "
                            f"({', '.join(e['id'] for e in enabled)}): every event arrives {len(enabled)} times, "
                            "and only one signing secret can verify", "keep one enabled endpoint; delete the others "
                            "(guide: 'Multiple webhooks firing')"))
    else:
        checks.append(Check("webhook.endpoint", PASS, f"{enabled[0]['id']} posts to {target}"))
    for e in enabled:
        subscribed = set(e.get("enabled_events") or [])
        missing = [t for t in exp.events if "*" not in subscribed and t not in subscribed]
        if missing:
            checks.append(Check(f"webhook.events.{e['id']}", FAIL, f"{e['id']} is not subscribed to "
                                f"{', '.join(missing)}, which the app handles", f"add {', '.join(missing)} to "
                                f"{e['id']}'s events"))
        else:
            checks.append(Check(f"webhook.events.{e['id']}", PASS, f"{e['id']} sends the {len(exp.events)} "
                                "event types the app handles"))
        if bool(e.get("livemode")) != (mode == "live"):
            checks.append(Check(f"webhook.mode.{e['id']}", FAIL, f"{e['id']} is not a {mode}-mode endpoint",
                                add_fix))
    others = [e for e in endpoints if _norm(e["url"])[0] == host and _norm(e["url"])[1] != path]
    for e in others:
        if e.get("status") == "enabled":
            checks.append(Check(f"webhook.extra.{e['id']}", WARN, f"{e['id']} also posts this app's host, at "
                                f"{e['url']}: a second receiver, or a path that fails every delivery",
                                f"delete {e['id']} unless another receiver really lives there"))
    for e in [e for e in same_url + others if e.get("status") != "enabled"]:
        checks.append(Check(f"webhook.disabled.{e['id']}", WARN, f"disabled endpoint {e['id']} still points at "
                            f"{e['url']}", f"delete {e['id']} so nobody re-enables the wrong one"))
    return checks


def test_endpoints_check(endpoints: list[dict], app_url: str) -> list[Check]:
    """Test-mode endpoints aimed at the production host: the guide's other cause of double deliveries."""
    host = _norm(app_url)[0]
    hits = [e for e in endpoints if _norm(e["url"])[0] == host]
    if not hits:
        return [Check("webhook.test_to_production", PASS, f"no test-mode endpoint posts to {host}")]
    enabled = [e for e in hits if e.get("status") == "enabled"]
    status = FAIL if enabled else WARN
    return [Check("webhook.test_to_production", status, f"test-mode endpoint(s) {', '.join(e['id'] for e in hits)} "
                  f"post to production ({host})" + (": test events reach the live app" if enabled else
                                                    ", disabled"),
                  "delete them in test mode, or point them at a staging URL or `stripe listen`")]


# ---- Customer Portal ---------------------------------------------------------------------------------
def portal_checks(sc: stripe.StripeClient, exp: AppExpectations, settings: AppSettings, mode: str) -> list[Check]:
    configs = list_all(lambda p: sc.v1.billing_portal.configurations.list(params=p), "the Customer Portal "
                   "configurations", "Customer portal")
    active = [c for c in configs if c.get("active")]
    activate = (f"activate the Customer Portal in {mode} mode (Settings > Billing > Customer portal; "
                "guide Step 4)")
    checks = [Check("portal.active", PASS, f"{len(active)} active {mode}-mode portal configuration(s)") if active
              else Check("portal.active", FAIL, f"no active Customer Portal configuration in {mode} mode: "
                         "'Manage billing' fails", activate)]
    env = exp.portal_config_env
    wanted = settings.get(env) if env else None
    if not env or not wanted:
        return checks  # a missing variable the app reads is reported by the settings check
    found = next((c for c in configs if c["id"] == wanted), None)
    if found is None:
        try:
            found = _plain(sc.v1.billing_portal.configurations.retrieve(wanted))
        except stripe.InvalidRequestError as exc:
            other = "test" if mode == "live" else "live"
            where = f"a {other}-mode configuration" if f"exists in {other} mode" in str(exc) else "not in this account"
            checks.append(Check("portal.config_id", FAIL, f"{env}={wanted} is {where}",
                                f"set {env} to the {mode}-mode configuration id"
                                + (f" ({active[0]['id']})" if active else "")))
            return checks
    if not found.get("active"):
        checks.append(Check("portal.config_id", FAIL, f"{env}={wanted} is deactivated", activate))
    else:
        checks.append(Check("portal.config_id", PASS, f"{env}={wanted} is active in {mode} mode"))
    return checks


# ---- delivery history (Verification Checklist: "Webhook logs show successful deliveries") ----------------------
RECENT_S = 300  # younger undelivered events may simply be in flight


def delivery_checks(sc: stripe.StripeClient, exp: AppExpectations, now: int) -> list[Check]:
    since = now - 3 * 86400
    events = list_all(lambda p: sc.v1.events.list(params={**p, "delivery_success": False, "types": list(exp.events),
                                                       "created": {"gte": since}}), "the events", "Events")
    old = sorted((e for e in events if now - e["created"] > RECENT_S), key=lambda e: e["created"])
    if old:
        first = old[0]
        hours = max(1, round((now - first["created"]) / 3600))
        types = ", ".join(sorted({e["type"] for e in old}))
        return [Check("webhook.deliveries", FAIL, f"{len(old)} event(s) of the last 3 days ({types}) were not "
                      f"delivered to every endpoint; the oldest, {first['id']}, about {hours} h ago: payers may "
                      "hold the wrong tier", "make the endpoint answer 2xx (tiersync smoke), then resend them "
                      f"(Dashboard > Webhooks > the endpoint > Resend, or stripe events resend {first['id']})")]
    if events:
        return [Check("webhook.deliveries", WARN, f"{len(events)} event(s) of the last {RECENT_S // 60} minutes not "
                      "delivered yet", "run preflight again in a few minutes; if they stay, see smoke")]
    return [Check("webhook.deliveries", PASS, "every event of the last 3 days of the types the app handles "
                  "was delivered")]
