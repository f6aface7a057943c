"""What each step kind does. A step returns a one-line summary for the report or raises StepFailed."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import stripe

from ..signer import build_request
from ..stripe_sim.routing import API_VERSION
from . import fault_steps
from .app import app_token, checkout_via_app, metered_calls
from .context import RunContext, StepFailed
from .model import CARDS
from .steps_replay import step_replay  # noqa: F401  (registered in RUNNERS below)

DAY = 86400


def _stripe(fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except stripe.StripeError as exc:
        raise StepFailed(f"Stripe refused: {exc.user_message or exc}") from None


def _wait_deliveries(ctx: RunContext):
    ctx.settle()


# ---- set-up -------------------------------------------------------------------------------------------
def step_user(ctx: RunContext, a) -> str:
    email = a.email or f"{a.name}.{ctx.run_tag}.{ctx.faker.user_name()}+clerk_test@example.com".lower()
    body = {"email_address": [email], "password": a.password, "first_name": ctx.faker.first_name(),
            "last_name": ctx.faker.last_name()}
    if a.public_metadata:
        body["public_metadata"] = ctx.resolve(a.public_metadata)
    r = ctx.clerk("POST", "/v1/users", json=body)
    ctx.record("POST", "clerk /v1/users", r.status_code, json.dumps({"email_address": [email]}), r.text[:500])
    if r.status_code >= 400:
        raise StepFailed(f"Clerk refused the user: {r.status_code} {r.text[:300]}")
    ctx.users[a.name] = {"id": r.json()["id"], "email": email, "customer": None, "subscription": None}
    return f"user {a.name} = {r.json()['id']} ({email})"


def step_product(ctx: RunContext, a) -> str:
    metadata = ctx.resolve(dict(a.metadata))
    if a.plan is not None:
        metadata["plan"] = ctx.resolve(a.plan)
    client = ctx.stripe if a.mode == "test" else ctx.stripe_live
    prod = _stripe(client.v1.products.create, params={"name": f"{a.name} ({ctx.run_tag})", "metadata": metadata})
    price = _stripe(client.v1.prices.create, params={"product": prod.id, "unit_amount": a.amount,
                                                        "currency": a.currency, "recurring": {"interval": a.interval}})
    ctx.products[a.name] = {"product": prod.id, "price": price.id}
    return f"{a.mode} product {a.name}: {prod.id} metadata={metadata} price {price.id}"


def step_coupon(ctx: RunContext, a) -> str:
    params = {"duration": a.duration, "name": a.name}
    for key in ("percent_off", "amount_off", "duration_in_months", "max_redemptions"):
        if getattr(a, key) is not None:
            params[key] = getattr(a, key)
    if a.amount_off is not None:
        params["currency"] = "usd"
    coupon = _stripe(ctx.stripe.v1.coupons.create, params=params)
    entry = {"coupon": coupon.id}
    if a.code:
        code = f"{a.code}{ctx.run_tag}".upper() if ctx.target.kind != "reference" else a.code
        promo = _stripe(ctx.stripe.v1.promotion_codes.create, params={
            "promotion": {"type": "coupon", "coupon": coupon.id}, "code": code,
            **({"max_redemptions": a.max_redemptions} if a.max_redemptions else {})})
        entry.update(code=promo.code, promotion_code=promo.id)
    ctx.coupons[a.name] = entry
    return f"coupon {a.name}: {entry}"


def step_webhook_endpoint(ctx: RunContext, a) -> str:
    client = ctx.stripe if a.mode == "test" else ctx.stripe_live
    url = a.url or ctx.target.webhook_url
    we = _stripe(client.v1.webhook_endpoints.create, params={"url": url, "enabled_events": a.events})
    if a.mode == "test" and not a.disabled:
        # a second endpoint of the same app: the receiver is configured with one secret; make both agree,
        # as when the same endpoint secret was pasted into both (the seed's "multiple webhooks firing")
        ctx.sim_post(f"/_sim/webhook_endpoints/{we.id}/secret", {"secret": ctx.target.webhook_secret})
    if a.disabled:
        _stripe(client.v1.webhook_endpoints.update, we.id, params={"disabled": True})
    return f"{a.mode} endpoint {we.id} -> {url}{' (disabled)' if a.disabled else ''}"


# ---- billing actions ------------------------------------------------------------------------------------
def _card(a_card: str) -> str:
    return CARDS.get(a_card, a_card)


def step_checkout(ctx: RunContext, a) -> str:
    user = ctx.user(a.user)
    a = a.model_copy(update={"tier": ctx.resolve(a.tier)})
    price = ctx.price_for(a.tier, a.price)
    session_id = None
    if a.via == "receiver" and ctx.target.receiver_url and a.tier and not a.price \
            and ctx.target.profile.api.checkout:
        session_id = checkout_via_app(ctx, a.user, a.tier)  # the app's own checkout call, per its profile
    else:
        params = {"mode": "subscription", "line_items": [{"price": price, "quantity": 1}],
                  "client_reference_id": user["id"], "metadata": {"userId": user["id"]},
                  "subscription_data": {"metadata": {"userId": user["id"]}}, "allow_promotion_codes": True,
                  "payment_method_collection": a.collect_card,
                  "success_url": "http://127.0.0.1/success?session_id={CHECKOUT_SESSION_ID}",
                  "cancel_url": "http://127.0.0.1/cancel"}
        if user.get("customer"):
            params["customer"] = user["customer"]
        else:
            params["customer_email"] = user["email"]
        try:
            session_id = ctx.stripe.v1.checkout.sessions.create(params=params).id
        except stripe.StripeError as exc:
            if not a.expect_failure:
                raise StepFailed(f"Stripe refused: {exc.user_message or exc}") from None
            _wait_deliveries(ctx)
            return f"Stripe refused the checkout for {a.user}, as expected: {exc.user_message or exc}"
    form = {"email": user["email"], "payment_method": _card(a.card)}
    if a.promotion_code:
        form["promotion_code"] = ctx.resolve(a.promotion_code)
    r = ctx.http.post(f"{ctx.target.stripe_url}/_sim/checkout/sessions/{session_id}/complete", data=form)
    ctx.record("POST", f"(hosted checkout) pay {session_id[:20]}…", r.status_code, json.dumps(form), r.text[:1000])
    if a.expect_failure:
        if r.status_code < 400:
            raise StepFailed("the checkout was expected to fail but was paid")
        _wait_deliveries(ctx)
        return f"checkout for {a.user} failed as expected: {r.json()['error']['message']}"
    if r.status_code >= 400:
        raise StepFailed(f"paying the checkout failed: {r.json().get('error', {}).get('message', r.text[:200])}")
    session = r.json()
    user["customer"], user["subscription"] = session["customer"], session["subscription"]
    user["checkout_session"] = session_id
    _wait_deliveries(ctx)
    return (f"{a.user} paid checkout {session_id[:24]}… ({a.tier or price}, card={a.card}"
            f"{', code ' + form['promotion_code'] if a.promotion_code else ''}): {session['payment_status']}, "
            f"subscription {session['subscription']}")


def step_subscribe(ctx: RunContext, a) -> str:
    user = ctx.user(a.user)
    price = ctx.price_for(ctx.resolve(a.tier), a.price)
    if not user.get("customer"):
        params = {"email": user["email"]}
        if a.card != "none":
            params.update(payment_method=_card(a.card), invoice_settings={"default_payment_method": _card(a.card)})
        user["customer"] = _stripe(ctx.stripe.v1.customers.create, params=params).id
    params = {"customer": user["customer"], "items": [{"price": price}]}
    if a.user_id_metadata:
        params["metadata"] = {"userId": user["id"]}
    if a.trial_days:
        params["trial_period_days"] = a.trial_days
    sub = _stripe(ctx.stripe.v1.subscriptions.create, params=params)
    user["subscription"] = sub.id
    _wait_deliveries(ctx)
    return f"{a.user} subscribed via the API: {sub.id} {sub.status}"


def _subscription(ctx: RunContext, name: str):
    user = ctx.user(name)
    if not user.get("subscription"):
        raise StepFailed(f"{name} has no subscription yet")
    return _stripe(ctx.stripe.v1.subscriptions.retrieve, user["subscription"])


def step_change_plan(ctx: RunContext, a) -> str:
    sub = _subscription(ctx, a.user)
    to = ctx.resolve(a.to)
    price = ctx.price_for(to, None) if not to.startswith("price_") else to
    item = sub["items"].data[0]
    _stripe(ctx.stripe.v1.subscriptions.update, sub.id, params={
        "items": [{"id": item.id, "price": price}], "proration_behavior": a.proration})
    _wait_deliveries(ctx)
    return f"{a.user}: {item.price.id} -> {price}"


def step_cancel(ctx: RunContext, a) -> str:
    sub = _subscription(ctx, a.user)
    if a.at_period_end:
        _stripe(ctx.stripe.v1.subscriptions.update, sub.id, params={"cancel_at_period_end": True})
    else:
        _stripe(ctx.stripe.v1.subscriptions.cancel, sub.id)
    _wait_deliveries(ctx)
    return f"{a.user}: canceled {'at period end' if a.at_period_end else 'now'}"


def step_advance_clock(ctx: RunContext, a) -> str:
    clock = _stripe(ctx.stripe.v1.test_helpers.test_clocks.retrieve, ctx.clock_id)
    target = clock.frozen_time + int(a.days * DAY + a.hours * 3600)
    if a.to_period_end:
        sub = _subscription(ctx, a.to_period_end)
        target = max(target, sub["items"].data[0].current_period_end + 2 * 3600)
    _stripe(ctx.stripe.v1.test_helpers.test_clocks.advance, ctx.clock_id, params={"frozen_time": target})
    _wait_deliveries(ctx)
    return f"test clock -> {time.strftime('%Y-%m-%d %H:%M', time.gmtime(target))}"


def step_update_product(ctx: RunContext, a) -> str:
    name = ctx.resolve(a.product)
    prod_id = ctx.target.world.get("products", {}).get(name) or ctx.products.get(name, {}).get("product")
    if not prod_id:
        raise StepFailed(f"no product {name!r}")
    plan = ctx.resolve(a.plan)
    if a.variant:
        current = _stripe(ctx.stripe.v1.products.retrieve, prod_id).to_dict()["metadata"].get("plan") or name
        plan = current.capitalize() if a.variant == "capitalized" else f" {current} "
    metadata = {"plan": "" if a.remove_plan else plan}
    _stripe(ctx.stripe.v1.products.update, prod_id, params={"metadata": metadata})
    return f"product {name}: metadata.plan = {None if a.remove_plan else plan!r}"


# ---- webhooks ---------------------------------------------------------------------------------------------
def _secret(ctx: RunContext, which: str) -> str:
    if which == "endpoint":
        return ctx.target.webhook_secret
    if which == "other_mode":
        we = _stripe(ctx.stripe_live.v1.webhook_endpoints.create, params={"url": ctx.target.webhook_url,
                                                                          "enabled_events": ["account.updated"]})
        return we.secret
    if which == "stale":
        return "whsec_" + "rotatedaway" + ctx.run_tag * 5
    return "whsec_" + "wrongsecret" + ctx.run_tag * 5


def step_send_event(ctx: RunContext, a) -> str:
    obj = ctx.resolve(a.object) if a.object is not None else None
    if a.retrieve:
        kind, _, obj_id = ctx.resolve(a.retrieve).partition(" ")
        service = {"subscription": ctx.stripe.v1.subscriptions, "customer": ctx.stripe.v1.customers,
                   "checkout.session": ctx.stripe.v1.checkout.sessions, "invoice": ctx.stripe.v1.invoices}.get(kind)
        if service is None:
            raise StepFailed(f"retrieve: unknown kind {kind!r}")
        # as the API sent it: the SDK turns *_decimal strings into Decimal, which json can't write back
        obj = json.loads(json.dumps(_stripe(service.retrieve, obj_id.strip()).to_dict(), default=str))
    if obj is None:
        raise StepFailed("send_event needs `object` or `retrieve`")
    event_id = ctx.resolve(a.id) if a.id else f"evt_{ctx.faker.bothify('?#?#?#?#?#?#?#?#?#?#?#?#').upper()}"
    event = {"id": event_id, "object": "event", "api_version": API_VERSION, "created": int(time.time()),
             "data": {"object": obj, **({"previous_attributes": ctx.resolve(a.previous_attributes)}
                                        if a.previous_attributes else {})},
             "livemode": a.livemode, "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None},
             "type": a.type}
    secret = _secret(ctx, a.sign.secret)
    results = []

    def send(_):
        req = build_request(event, secret, test_mode=not a.livemode, timestamp_offset=a.sign.timestamp_offset,
                            header=a.sign.header, body=a.sign.body)
        started = time.perf_counter()
        r = ctx.http.post(ctx.target.webhook_url, content=req.body, headers=req.headers)
        ms = (time.perf_counter() - started) * 1000
        results.append(ctx.record("POST", ctx.target.webhook_url.replace(ctx.target.receiver_url or "", "") or "/",
                                  r.status_code, req.body.decode()[:2000], r.text[:1000], ms, req.headers))

    if a.concurrent and a.times > 1:
        with ThreadPoolExecutor(max_workers=a.times) as pool:
            list(pool.map(send, range(a.times)))
    else:
        for i in range(a.times):
            send(i)
    ctx.last_response = results[-1]
    _wait_deliveries(ctx)
    statuses = ", ".join(str(x.status) for x in results)
    faults = [f for f in (a.sign.secret != "endpoint" and f"secret={a.sign.secret}",
                          a.sign.timestamp_offset and f"t{a.sign.timestamp_offset:+d}s",
                          a.sign.header and f"header={a.sign.header}", a.sign.body and f"body={a.sign.body}") if f]
    return f"sent {a.type} {event_id} x{a.times}{' (' + ', '.join(faults) + ')' if faults else ''}: {statuses}"


def step_fixture(ctx: RunContext, a) -> str:
    from ..stripe_sim.fixtures import http_requester, run_fixture
    result = run_fixture(ctx.resolve(a.file), http_requester(ctx.target.stripe_url, ctx.target.stripe_key),
                         env=ctx.resolve(a.env) or {})
    _wait_deliveries(ctx)
    return f"fixture {a.file}: {len(result.steps)} requests"


def step_jwt_template(ctx: RunContext, a) -> str:
    body = {"name": a.name, "claims": a.claims, **({"lifetime": a.lifetime} if a.lifetime else {})}
    listing = ctx.clerk("GET", "/v1/jwt_templates")
    existing = [t for t in (listing.json() if listing.status_code == 200 else []) if t.get("name") == a.name]
    if existing:  # a shared world may have it from an earlier scenario: make it say what this one wants
        r = ctx.clerk("PATCH", f"/v1/jwt_templates/{existing[0]['id']}", json=body)
    else:
        r = ctx.clerk("POST", "/v1/jwt_templates", json=body)
    ctx.record("POST", "clerk /v1/jwt_templates", r.status_code, json.dumps(body), r.text[:500])
    if r.status_code >= 400:
        raise StepFailed(f"Clerk refused the JWT template: {r.status_code} {r.text[:300]}")
    return f"JWT template {a.name}: {json.dumps(a.claims)}"


def step_token(ctx: RunContext, a) -> str:
    ctx.tokens[a.save_as] = ctx.token_for(a.user, a.template)
    return f"token {a.save_as} minted for {a.user}" + (f" (template {a.template})" if a.template else "")


def step_requests(ctx: RunContext, a) -> str:
    if a.token and a.token not in ctx.tokens:
        raise StepFailed(f"no saved token {a.token!r}: add a `token` step with save_as: {a.token}")
    token = ctx.tokens[a.token] if a.token else app_token(ctx, a.user)
    count = a.count if a.count is not None else _past_limit(ctx, ctx.resolve(a.past_limit_of))
    a = a.model_copy(update={"count": count})
    ctx.last_requests = metered_calls(ctx, token, a.count)  # the app's metered call, per its profile
    ok = sum(1 for x in ctx.last_requests if x["status"] < 300)
    return f"{a.user} made {a.count} requests: {ok} ok, {a.count - ok} refused"


def _past_limit(ctx: RunContext, tier: str) -> int:
    """One more request than `tier` allows a month ("*": than any tier allows)."""
    profile = ctx.target.profile
    if tier == "*":
        limits = [t.monthly_limit for t in profile.tiers if t.monthly_limit is not None]
        return max(limits, default=0) + 1
    if tier not in profile.tier_names:
        raise StepFailed(f"past_limit_of: {tier!r} is not a tier of the app ({', '.join(profile.tier_names)})")
    limit = profile.limit_of(tier)
    if limit is None:
        raise StepFailed(f"past_limit_of: the {tier} tier has no limit")
    return limit + 1


def step_wait(ctx: RunContext, a) -> str:
    time.sleep(a.seconds)
    return f"waited {a.seconds:g}s"


RUNNERS = {name.removeprefix("step_"): fn for name, fn in {**globals(), **vars(fault_steps)}.items()
           if name.startswith("step_")}
