"""`POST /_sim/objects`: put a Stripe object into the store as it is, with its own id (no API key, like every
`/_sim/` route). What `tiersync repro` uses to give the simulator the customers, products, prices and
subscriptions an incident's events reference, so a receiver that re-fetches reads what Stripe held then.
Stripe has no such call; it stands for "the account already had these objects"."""

from __future__ import annotations

import json

from ..errors import InvalidRequest
from ..params import Enum, Str
from ..routing import Ctx, route

# `object` values that may be seeded: what billing events reference and receivers read back
SEEDABLE = frozenset({"customer", "product", "price", "subscription", "invoice", "checkout.session",
                      "payment_intent", "charge", "coupon", "promotion_code", "payment_method"})
MAX_BYTES = 1_000_000


@route("POST", "/_sim/objects", {"object": Str(required=True), "mode": Enum("test", "live")}, admin=True)
def put_object(ctx: Ctx, p: dict):
    raw = p["object"]
    if len(raw) > MAX_BYTES:
        raise InvalidRequest(f"The object is larger than {MAX_BYTES} bytes.", param="object")
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        raise InvalidRequest(f"Invalid JSON in object: {exc.msg} (char {exc.pos}).", param="object") from None
    if not isinstance(obj, dict):
        raise InvalidRequest("object must be a JSON object (a Stripe object with `id` and `object`).",
                             param="object")
    kind, obj_id = obj.get("object"), obj.get("id")
    if kind not in SEEDABLE:
        raise InvalidRequest(f"Cannot seed an object of type {kind!r}: one of {', '.join(sorted(SEEDABLE))}.",
                             param="object")
    if not isinstance(obj_id, str) or not 1 <= len(obj_id) <= 255 or "/" in obj_id:
        raise InvalidRequest("The object's id must be a string of 1 to 255 characters without '/'.",
                             param="object")
    mode = p.get("mode") or ("live" if obj.get("livemode") else "test")
    obj["livemode"] = mode == "live"
    other = ctx.store.other_mode_has(mode, obj_id)
    if other:
        raise InvalidRequest(f"An object with id {obj_id!r} exists in {other} mode.", param="object")
    ctx.store.put(mode, kind, obj)
    return {"object": "sim.seeded", "id": obj_id, "type": kind, "mode": mode}
