"""`tiersync init`: write a commented `tiersync.toml` for the seed's conventions (the plug-saas Worker), for
the user to edit into their own app's description."""

from __future__ import annotations

from pathlib import Path

from .profile_load import PROFILE_FILE, load_profile

SEED_PROFILE = '''\
# tiersync.toml: how tiersync tests YOUR app. It describes the app, not tiersync.
# Written by `tiersync init` for the seed guide's conventions (the plug-saas Worker); edit every value
# that your app does differently. `tiersync run --profile tiersync.toml` checks this file before it runs
# anything and names each field it cannot use. Reference: docs/profile.md.

name = "plug-saas"
# free_tier = "free"        # default: the first tier

# ---- Tiers, lowest first. limit: requests a month, or "unlimited". ----------------------------------------
[[tiers]]
name = "free"
limit = 6

[[tiers]]
name = "pro"
limit = 10
price_env = "STRIPE_PRICE_ID_PRO"        # the env variable your app reads this tier's price id from
plan = "pro"                             # the Stripe product's metadata.plan for this tier
amount = 2900                            # monthly price (cents) in the simulated world

[[tiers]]
name = "developer"
limit = "unlimited"
price_env = "STRIPE_PRICE_ID_DEVELOPER"
plan = "developer"
amount = 5000

# ---- Where your app keeps a user's tier (what tiersync reads to judge an outcome). -----------------------
# kind = "clerk_metadata": Clerk public_metadata[key] (the seed's source of truth; its webhook writes it).
# kind = "jwt_claim":      the claim in a fresh token minted with `template` (see [auth]).
# kind = "http":           GET `path` on your app with the user's token (or an absolute `url` with
#                          {user_id}, no token) and read the JSON `pointer`.
[tier_source]
kind = "clerk_metadata"
key = "plan"
# absent = "free"           # what no value means; default: the free tier

# ---- How your frontend calls your API. ----------------------------------------------------------------
[auth]
token_template = "pan-api"   # the app reads `plan` from tokens minted with this template (getToken({template}))

[[auth.jwt_templates]]       # created in the simulated Clerk before every scenario
name = "pan-api"
claims = { plan = "{{user.public_metadata.plan}}" }

# ---- Your app's API. Paths on the app; answers read with JSON pointers (RFC 6901). ------------------------
[api.checkout]
method = "POST"
path = "/api/create-checkout"
body = { tier = "{tier}" }   # "{tier}" is replaced by the tier's name
session = "/url"             # where the Checkout URL (or the session id) is in the answer

[api.portal]
method = "POST"
path = "/api/customer-portal"
url = "/url"

[api.usage]                  # plug-saas answers {userId, plan, usageCount, limit, remaining, ...}
method = "GET"
path = "/api/usage"
used = "/usageCount"
limit = "/limit"
tier = "/plan"
unlimited = "unlimited"      # how the answer spells no limit ("null" for JSON null)

[api.metered]                # the call that counts against the limit
method = "POST"
path = "/api/data"
limit_status = 403           # the status that means "limit reached"

[webhook]
path = "/webhook/stripe"

# ---- The env variable names your app reads ("" : it does not read that setting). --------------------------
# tiersync gives a --target-cmd (or the Worker runner) exactly these, pointing at the simulators.
[env]
stripe_secret_key = "STRIPE_SECRET_KEY"
stripe_webhook_secret = "STRIPE_WEBHOOK_SECRET"
stripe_api_base = ""         # plug-saas calls https://api.stripe.com itself (the Worker runner routes it)
stripe_portal_config = "STRIPE_PORTAL_CONFIG_ID"
clerk_secret_key = "CLERK_SECRET_KEY"
clerk_publishable_key = "CLERK_PUBLISHABLE_KEY"
clerk_api_url = ""           # likewise for https://api.clerk.com
clerk_frontend_url = ""
clerk_jwt_key = ""
frontend_url = "FRONTEND_URL"
port = ""                    # a Worker does not choose its port; a server would read e.g. "PORT"

[env.values]                 # fixed values your app also needs
CLERK_JWT_TEMPLATE = "pan-api"

# ---- What your app offers. A scenario that needs something your app does not offer is skipped, with
# the reason, instead of failing. ----------------------------------------------------------------------
[features]
trials = false                     # plug-saas's checkout has no trial period
portal = true
plan_changes_outside_app = true    # a plan changed in the portal or the Dashboard must reach the app
promotion_codes = false            # its checkout does not set allow_promotion_codes
api_subscriptions = false          # it needs metadata.userId/tier that only its own checkout sets
'''


def write_profile(path: str | Path = PROFILE_FILE, *, force: bool = False) -> Path:
    """Write the seed profile to `path` (refusing to overwrite unless `force`); it is checked after writing."""
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; use --force to overwrite it")
    path.write_text(SEED_PROFILE, encoding="utf-8")
    load_profile(path)  # what init writes must load
    return path
