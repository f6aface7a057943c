"""GET /: the small app page. Server-rendered HTML and a little JS: sign-up / sign-in through Clerk's
hosted pages, then a dashboard with the tier (read from the API, which asks Clerk, not the token),
usage and limit, "Make request", "Upgrade" (-> Stripe Checkout), "Manage Billing" (-> the portal),
and after checkout a notice that refreshes the token until the new tier shows.
Stable `data-testid` attributes are the browser journeys' handles."""

from __future__ import annotations

import base64
import html
import json

from starlette.requests import Request
from starlette.responses import HTMLResponse


def clerk_script_url(settings) -> str | None:
    if settings.clerk_frontend_url:
        return f"{settings.clerk_frontend_url}/clerk.js"
    pk = settings.clerk_publishable_key
    if pk:
        try:
            host = base64.b64decode(pk.split("_", 2)[2] + "==").decode().rstrip("$")
        except (ValueError, IndexError, UnicodeDecodeError):
            return None
        return f"https://{host}/npm/@clerk/clerk-js@5/dist/clerk.browser.js"
    return None


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tiersync demo app</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;max-width:640px;margin:40px auto;padding:0 16px;color:#222}
.card{border:1px solid #ddd;border-radius:10px;padding:20px;margin:16px 0}
button,select{font-size:15px;padding:8px 14px;margin:4px 4px 4px 0}
.notice{background:#eef6ff;border:1px solid #9cc3ff;padding:12px;border-radius:8px}
.error{color:#b00}
[hidden]{display:none!important}
</style>
<script src="__CLERK_JS__" data-clerk-publishable-key="__PK__"></script>
</head><body>
<h1>tiersync demo app</h1>
<section id="landing" data-testid="landing" hidden>
  <p>Usage-limited API with free, pro and enterprise tiers.</p>
  <button data-testid="sign-up" id="sign-up">Sign up</button>
  <button data-testid="sign-in" id="sign-in">Sign in</button>
</section>
<section id="dashboard" data-testid="dashboard" hidden>
  <div class="notice" data-testid="checkout-notice" id="checkout-notice" hidden></div>
  <div class="card">
    <div>Signed in as <b data-testid="user-email" id="user-email"></b>
      <button data-testid="sign-out" id="sign-out">Sign out</button></div>
    <h2>Plan: <span data-testid="tier" id="tier">…</span></h2>
    <p>Requests this month: <span data-testid="usage-count" id="usage-count">0</span> /
       <span data-testid="usage-limit" id="usage-limit">…</span></p>
    <button data-testid="make-request" id="make-request">Make request</button>
    <span data-testid="request-result" id="request-result"></span>
  </div>
  <div class="card">
    <label>Upgrade to <select data-testid="upgrade-tier" id="upgrade-tier">__TIER_OPTIONS__</select></label>
    <button data-testid="upgrade" id="upgrade">Upgrade</button>
    <button data-testid="manage-billing" id="manage-billing">Manage Billing</button>
    <p class="error" data-testid="billing-error" id="billing-error"></p>
  </div>
</section>
<p class="error" data-testid="app-error" id="app-error"></p>
<script>
const TIER_NAMES = __TIER_NAMES__;
const $ = (id) => document.getElementById(id);
async function token(fresh) { return Clerk.session.getToken(fresh ? {skipCache: true} : {}); }
async function api(path, method, body, fresh) {
  const res = await fetch(path, {method: method || "GET", headers: {
    "authorization": "Bearer " + await token(fresh), "content-type": "application/json"},
    body: body ? JSON.stringify(body) : undefined});
  const json = await res.json().catch(() => ({}));
  if (!res.ok) { const e = new Error(json.error || res.statusText); e.status = res.status; e.body = json; throw e; }
  return json;
}
function showUsage(u) {
  $("usage-count").textContent = u.used;
  $("usage-limit").textContent = u.limit === null ? "unlimited" : u.limit;
}
async function refresh(fresh) {
  const me = await api("/api/me", "GET", null, fresh);
  $("user-email").textContent = me.email || me.userId;
  $("tier").textContent = TIER_NAMES[me.tier] || me.tier;
  $("tier").dataset.tier = me.tier;
  showUsage(await api("/api/usage"));
  return me;
}
async function afterCheckout() {
  const notice = $("checkout-notice");
  notice.hidden = false;
  notice.textContent = "Payment received. Updating your plan…";
  const before = $("tier").dataset.tier;
  for (let i = 0; i < 40; i++) {
    const me = await refresh(true);  // a fresh token each time: the old one may carry the old plan
    if (me.tier !== "free" && me.tier !== before || (i > 0 && me.tier !== "free")) {
      notice.textContent = "Your plan is now " + (TIER_NAMES[me.tier] || me.tier) + ".";
      notice.dataset.state = "done";
      history.replaceState(null, "", "/");
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  notice.textContent = "Your payment went through, but your plan has not updated yet. Refresh in a minute.";
  notice.dataset.state = "timeout";
}
async function main() {
  await Clerk.load();
  $("sign-up").onclick = () => Clerk.redirectToSignUp({redirectUrl: location.origin + "/"});
  $("sign-in").onclick = () => Clerk.redirectToSignIn({redirectUrl: location.origin + "/"});
  if (!Clerk.session) { $("landing").hidden = false; return; }
  $("dashboard").hidden = false;
  $("sign-out").onclick = async () => { await Clerk.signOut(); location.href = "/"; };
  $("make-request").onclick = async () => {
    try { const r = await api("/api/data", "POST"); showUsage(r); $("request-result").textContent = "OK"; }
    catch (e) { $("request-result").textContent = e.message; if (e.body && e.body.used !== undefined) showUsage(e.body); }
  };
  $("upgrade").onclick = async () => {
    try { location.href = (await api("/api/create-checkout", "POST", {tier: $("upgrade-tier").value})).url; }
    catch (e) { $("billing-error").textContent = e.message; }
  };
  $("manage-billing").onclick = async () => {
    try { location.href = (await api("/api/customer-portal", "POST")).url; }
    catch (e) { $("billing-error").textContent = e.message; }
  };
  await refresh(false);
  if (new URLSearchParams(location.search).get("checkout") === "success") await afterCheckout();
  document.body.dataset.ready = "true";
}
main().catch((e) => { $("app-error").textContent = "Error: " + e.message; document.body.dataset.ready = "error"; });
</script>
</body></html>
"""


async def app_page(request: Request) -> HTMLResponse:
    settings = request.app.state.settings
    script = clerk_script_url(settings)
    if script is None:
        return HTMLResponse("<h1>Configuration needed</h1><p>Set CLERK_FRONTEND_URL or CLERK_PUBLISHABLE_KEY so "
                            "the page can load Clerk.</p>", status_code=500)
    names = {t: t.capitalize() for t in settings.tiers}
    options = "".join(f'<option value="{html.escape(t)}">{html.escape(names[t])}</option>'
                      for t in settings.price_ids)
    body = (PAGE.replace("__CLERK_JS__", html.escape(script, quote=True))
            .replace("__PK__", html.escape(settings.clerk_publishable_key or "", quote=True))
            .replace("__TIER_OPTIONS__", options).replace("__TIER_NAMES__", json.dumps(names)))
    return HTMLResponse(body)
