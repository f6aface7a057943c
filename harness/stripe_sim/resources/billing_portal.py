"""Customer Portal configurations and sessions.

Like a real account, a mode has no default configuration until the portal is "activated" in the
Dashboard; `activate_default_portal` (and `POST /_sim/billing_portal/activate`) plays that step.
Creating a session without one fails with Stripe's message, the seed guide's live-mode gotcha.
"""

from __future__ import annotations

from ..errors import InvalidRequest
from ..objects import shape
from ..params import Bool, Enum, List, Metadata, Obj, Str, Url, merge_metadata
from ..routing import Ctx, paginate, route

FEATURES = Obj({
    "customer_update": Obj({"enabled": Bool(required=True), "allowed_updates": List(Str())}),
    "invoice_history": Obj({"enabled": Bool(required=True)}),
    "payment_method_update": Obj({"enabled": Bool(required=True)}),
    "subscription_cancel": Obj({"enabled": Bool(required=True), "mode": Enum("at_period_end", "immediately"),
                                "proration_behavior": Enum("always_invoice", "create_prorations", "none"),
                                "cancellation_reason": Obj({"enabled": Bool(required=True),
                                                            "options": List(Str())})}),
    "subscription_update": Obj({"enabled": Bool(required=True), "default_allowed_updates": List(Str()),
                                "proration_behavior": Enum("always_invoice", "create_prorations", "none"),
                                "products": List(Obj({"product": Str(required=True), "prices": List(Str())}))}),
})
BUSINESS = Obj({"headline": Str(), "privacy_policy_url": Str(), "terms_of_service_url": Str()})
CONFIG_FIELDS = {"business_profile": BUSINESS, "default_return_url": Url(), "features": FEATURES,
                 "metadata": Metadata(), "name": Str(), "login_page": Obj({"enabled": Bool(required=True)})}
CONFIG_UPDATE = {**CONFIG_FIELDS, "active": Bool()}
SESSION = {"customer": Str(required=True), "configuration": Str(), "return_url": Url(), "locale": Str(),
           "flow_data": Obj({"type": Enum("payment_method_update", "subscription_cancel", "subscription_update",
                                          "subscription_update_confirm", required=True),
                             "subscription_cancel": Obj({"subscription": Str(required=True),
                                                         "retention": Obj({})}),
                             "subscription_update": Obj({"subscription": Str(required=True)}),
                             "after_completion": Obj({"type": Str(required=True),
                                                      "redirect": Obj({"return_url": Str(required=True)})})}),
           "on_behalf_of": Str()}


FEATURES_SHAPE = "billing_portal.configuration:features"


def _features(f: dict | None) -> dict:
    f = f or {}
    cancel = f.get("subscription_cancel") or {}
    update = f.get("subscription_update") or {}
    return shape(FEATURES_SHAPE, {
        "customer_update": {"allowed_updates": (f.get("customer_update") or {}).get("allowed_updates") or [],
                            "enabled": bool((f.get("customer_update") or {}).get("enabled"))},
        "invoice_history": {"enabled": bool((f.get("invoice_history") or {}).get("enabled", True))},
        "payment_method_update": shape(f"{FEATURES_SHAPE}.payment_method_update", {
            "enabled": bool((f.get("payment_method_update") or {}).get("enabled", True))}),
        "subscription_cancel": {
            "cancellation_reason": shape(f"{FEATURES_SHAPE}.subscription_cancel.cancellation_reason", {
                "enabled": bool((cancel.get("cancellation_reason") or {}).get("enabled")),
                "options": (cancel.get("cancellation_reason") or {}).get("options") or []}),
            "enabled": bool(cancel.get("enabled", True)), "mode": cancel.get("mode") or "at_period_end",
            "proration_behavior": cancel.get("proration_behavior") or "none"},
        # pausing is not simulated (Stripe offers it only in its redesigned portal): off
        "subscription_pause": {"duration": {"interval_options": [], "type": "indefinite"}, "enabled": False},
        "subscription_update": {"billing_cycle_anchor": None,
                                "default_allowed_updates": update.get("default_allowed_updates") or [],
                                "enabled": bool(update.get("enabled")),
                                "products": update.get("products") or [],
                                "proration_behavior": update.get("proration_behavior") or "create_prorations",
                                "schedule_at_period_end": {"conditions": []},
                                "trial_update_behavior": "end_trial"},
    })


def new_configuration(ctx: Ctx, p: dict, is_default: bool = False) -> dict:
    now = ctx.now()
    bp = p.get("business_profile") or {}
    conf = shape("billing_portal.configuration", {
            "id": ctx.new_id("bpc"), "active": True,
            "business_profile": {"headline": bp.get("headline"), "privacy_policy_url": bp.get("privacy_policy_url"),
                                 "terms_of_service_url": bp.get("terms_of_service_url")},
            "created": now, "default_return_url": p.get("default_return_url"), "features": _features(p.get("features")),
            "is_default": is_default, "livemode": ctx.livemode,
            "login_page": {"enabled": bool((p.get("login_page") or {}).get("enabled")), "url": None},
            "metadata": merge_metadata({}, p.get("metadata") or {}), "name": p.get("name"), "updated": now})
    ctx.put("billing_portal.configuration", conf)
    ctx.emit("billing_portal.configuration.created", conf)
    return conf


def activate_default_portal(ctx: Ctx, **p) -> dict:
    for conf in ctx.table("billing_portal.configuration").rows.values():
        if conf["is_default"]:
            return conf
    return new_configuration(ctx, p, is_default=True)


@route("POST", "/v1/billing_portal/configurations", CONFIG_FIELDS)
def create_configuration(ctx: Ctx, p: dict):
    return new_configuration(ctx, p)


@route("GET", "/v1/billing_portal/configurations/{bpc_id}")
def retrieve_configuration(ctx: Ctx, p: dict, bpc_id: str):
    return ctx.get("billing_portal.configuration", bpc_id)


@route("POST", "/v1/billing_portal/configurations/{bpc_id}", CONFIG_UPDATE)
def update_configuration(ctx: Ctx, p: dict, bpc_id: str):
    conf = ctx.get("billing_portal.configuration", bpc_id)
    before = dict(conf)
    if "active" in p:
        if conf["is_default"] and p["active"] is False:
            raise InvalidRequest("The default configuration cannot be deactivated.", param="active")
        conf["active"] = p["active"]
    for k in ("default_return_url", "name"):
        if k in p:
            conf[k] = p[k]
    if "business_profile" in p:
        conf["business_profile"] = {**conf["business_profile"], **(p["business_profile"] or {})}
    if "features" in p:
        conf["features"] = _features({**(p["features"] or {})})
    if "metadata" in p:
        conf["metadata"] = merge_metadata(conf["metadata"], p["metadata"])
    conf["updated"] = ctx.now()
    ctx.emit("billing_portal.configuration.updated", conf, {k: v for k, v in before.items() if conf[k] != v})
    return conf


@route("GET", "/v1/billing_portal/configurations", {"active": Bool(), "is_default": Bool()}, listing=True)
def list_configurations(ctx: Ctx, p: dict):
    return paginate(ctx, "billing_portal.configuration", p, "/v1/billing_portal/configurations",
                    lambda c: (p.get("active") is None or c["active"] == p["active"])
                    and (p.get("is_default") is None or c["is_default"] == p["is_default"]))


@route("POST", "/v1/billing_portal/sessions", SESSION)
def create_session(ctx: Ctx, p: dict):
    customer = ctx.get("customer", p["customer"], "customer")
    if p.get("configuration"):
        conf = ctx.get("billing_portal.configuration", p["configuration"], "configuration")
        if not conf["active"]:
            raise InvalidRequest("The configuration is inactive.", param="configuration")
    else:
        conf = next((c for c in ctx.table("billing_portal.configuration").rows.values() if c["is_default"]), None)
        if conf is None:
            where = "" if ctx.livemode else "test/"
            raise InvalidRequest(
                f"You can’t create a portal session in {ctx.mode} mode until you save your customer portal settings "
                f"in {ctx.mode} mode at https://dashboard.stripe.com/{where}settings/billing/portal.")
    return_url = p.get("return_url") or conf["default_return_url"]
    if not return_url:
        raise InvalidRequest("Missing required param: return_url.", code="parameter_missing", param="return_url")
    flow = None
    if p.get("flow_data"):
        fd = p["flow_data"]
        for key in ("subscription_cancel", "subscription_update"):
            if fd.get(key):
                sub = ctx.get("subscription", fd[key]["subscription"], f"flow_data[{key}][subscription]")
                if sub["customer"] != customer["id"]:
                    raise InvalidRequest("The subscription does not belong to this customer.",
                                         param=f"flow_data[{key}][subscription]")
        flow = {"after_completion": fd.get("after_completion") or {"hosted_confirmation": None, "redirect": None,
                                                                    "type": "portal_homepage"},
                "subscription_cancel": fd.get("subscription_cancel"), "subscription_update": fd.get("subscription_update"),
                "subscription_update_confirm": None, "type": fd["type"]}
    bps_id = ctx.new_id("bps")
    session = shape("billing_portal.session", {
               "id": bps_id, "configuration": conf["id"],
               "created": ctx.now(customer), "customer": customer["id"], "flow": flow,
               "livemode": ctx.livemode, "locale": p.get("locale"), "on_behalf_of": p.get("on_behalf_of"),
               "return_url": return_url, "url": f"{ctx.sim.public_url}/p/session/{bps_id}"})
    ctx.put("billing_portal.session", session)
    ctx.emit("billing_portal.session.created", session)
    return session
