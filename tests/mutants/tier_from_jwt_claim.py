"""Bug: the API takes the tier from the session token's `plan` claim (the JWT template) instead of Clerk,
so after an upgrade the user keeps the free limit until the token is refreshed (the seed's "JWT doesn't
refresh immediately", moved into the API's limit check).

Caught by config/stale-jwt-plan-claim."""

from starlette.responses import JSONResponse

from tiersync.receiver import api

from ._base import reference_app, with_route

CAUGHT_BY = "stale-jwt-plan-claim"


@api.protected
async def data(request, claims):
    tiers = request.app.state.settings.tiers
    tier = claims.get("plan") if claims.get("plan") in tiers else "free"  # the bug: trusts the token
    limit = tiers[tier]
    allowed, used = request.app.state.storage.take_request(claims["sub"], api.period(), limit)
    if not allowed:
        return JSONResponse({"error": f"monthly limit reached for the {tier} tier", "tier": tier}, status_code=429)
    return JSONResponse({"ok": True, "tier": tier, "used": used, "limit": limit})


def create_app(settings, storage):
    return with_route(reference_app(settings, storage=storage), "/api/data", data, ["POST"])
