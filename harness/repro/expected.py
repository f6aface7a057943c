"""What a correct app shows a user, from what Stripe holds: the highest tier among the user's subscriptions
that still entitle (active, trialing, past due while Stripe retries the payment), by the product's
`metadata.plan`; nothing entitled means the free tier; only pending first payments (`incomplete`) change
nothing yet. A product without a plan (or with one that is no tier of the app) changes nothing either: the
user keeps what they had, as the catalog expects (a sync error to look at, never a silent downgrade). A
product the incident does not carry at all makes the tier unknown: nothing is judged then."""

from __future__ import annotations

ENTITLED = ("active", "trialing", "past_due")
UNKNOWN = None  # the plan of a subscription's product is not known (not in the file, or no tier of the app)


def _tier_of_plan(plan, profile) -> str | None:
    if not isinstance(plan, str):
        return UNKNOWN
    wanted = plan.strip().lower()
    for name in profile.tier_names:
        if profile.tier(name).plan_value.strip().lower() == wanted:
            return name
    return UNKNOWN


def _product_of(item: dict, state: dict[str, dict]) -> dict | None:
    price = item.get("price") or item.get("plan")
    if isinstance(price, str):
        price = state.get(price)
    if not isinstance(price, dict):
        return None
    product = price.get("product")
    if isinstance(product, str):
        product = state.get(product)
    return product if isinstance(product, dict) else None


def subscriptions_of(user_id: str, state: dict[str, dict], customer_user: dict[str, str],
                     user_key: str = "userId") -> list[dict]:
    subs = []
    for obj in state.values():
        if obj.get("object") != "subscription":
            continue
        owner = (obj.get("metadata") or {}).get(user_key) or customer_user.get(obj.get("customer"))
        if owner == user_id:
            subs.append(obj)
    return subs


def expected_tier(user_id: str, state: dict[str, dict], customer_user: dict[str, str], profile,
                  previous: str | None, unknown_products: frozenset[str] | set[str] = frozenset()) -> str | None:
    """The tier a correct app shows now; `previous` is what it showed before (kept while payment is pending)."""
    subs = subscriptions_of(user_id, state, customer_user)
    entitled = [s for s in subs if s.get("status") in ENTITLED]
    if not entitled:
        if not subs or all(s.get("status") == "incomplete" for s in subs):
            return previous if previous is not None else profile.free_tier  # nothing (paid) yet
        return profile.free_tier
    rank = {name: i for i, name in enumerate(profile.tier_names)}
    best = None
    for sub in entitled:
        for item in (sub.get("items") or {}).get("data") or []:
            product = _product_of(item, state)
            if product is None or product.get("id") in unknown_products:
                return UNKNOWN
            tier = _tier_of_plan((product.get("metadata") or {}).get("plan"), profile)
            if tier is UNKNOWN:
                return previous
            if best is None or rank[tier] > rank[best]:
                best = tier
    return best if best is not None else UNKNOWN
