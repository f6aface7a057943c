// A plain Node server (node:http, no framework) for the seed guide's billing flow, written to be pointed at
// tiersync's simulators by configuration only: stripe-node's `host` / `port` / `protocol` options and
// @clerk/backend's `apiUrl`. With STRIPE_API_BASE and CLERK_API_URL unset it talks to the real services.
//
// The sync is the pattern that survives duplicates, reordering and portal changes: verify the signature,
// re-read the subscription from Stripe by id (the event is only a hint), derive the tier from its price,
// write it to Clerk public_metadata.plan (a merge), remember the event id only once that worked.
"use strict";

const http = require("node:http");
const Stripe = require("stripe");
const { createClerkClient } = require("@clerk/backend");

const env = process.env;
const TIERS = { free: 6, pro: 10, developer: Infinity }; // monthly requests of POST /api/data
const PRICE_TIERS = {}; // price id -> tier
for (const tier of Object.keys(TIERS)) {
  const price = env[`STRIPE_PRICE_ID_${tier.toUpperCase()}`];
  if (price) PRICE_TIERS[price] = tier;
}
const PAYING = new Set(["active", "trialing"]);

function stripeOptions() {
  // https://github.com/stripe/stripe-node#configuration: host, port, protocol
  if (!env.STRIPE_API_BASE) return {};
  const base = new URL(env.STRIPE_API_BASE);
  return { host: base.hostname, port: Number(base.port) || (base.protocol === "https:" ? 443 : 80),
           protocol: base.protocol.replace(":", "") };
}

const stripe = new Stripe(env.STRIPE_SECRET_KEY, { ...stripeOptions(), maxNetworkRetries: 1 });
const clerk = createClerkClient({ secretKey: env.CLERK_SECRET_KEY, publishableKey: env.CLERK_PUBLISHABLE_KEY,
                                  ...(env.CLERK_API_URL ? { apiUrl: env.CLERK_API_URL } : {}) });
const liveKey = (env.STRIPE_SECRET_KEY || "").startsWith("sk_live_");
const processed = new Set(); // event ids applied (a real app keeps these in its database)
const usage = new Map(); // `${userId}:${YYYY-MM}` -> count

// ---- webhook ------------------------------------------------------------------------------------------
async function userIdFor(subscription) {
  if (subscription.metadata && subscription.metadata.userId) return subscription.metadata.userId;
  const customer = await stripe.customers.retrieve(subscription.customer);
  return (customer.metadata && customer.metadata.userId) || null;
}

function tierOf(subscription) {
  if (!PAYING.has(subscription.status)) return "free";
  const item = subscription.items.data[0];
  return (item && PRICE_TIERS[item.price.id]) || "free";
}

async function syncSubscription(subscriptionId) {
  let subscription;
  try {
    subscription = await stripe.subscriptions.retrieve(subscriptionId);
  } catch (err) {
    // an id Stripe does not know (the Dashboard's "Send test webhook" sends sub_0000...): nothing to sync;
    // anything else (Stripe unreachable, 5xx) is thrown, answered 500, and Stripe retries later
    if (err.code === "resource_missing") return `no subscription ${subscriptionId}`;
    throw err;
  }
  const userId = await userIdFor(subscription);
  if (!userId) return `no user for ${subscriptionId}`;
  await clerk.users.updateUserMetadata(userId, {
    publicMetadata: { plan: tierOf(subscription), stripeCustomerId: subscription.customer },
  });
  return `${userId} -> ${tierOf(subscription)}`;
}

async function handleWebhook(raw, signature) {
  let event;
  try {
    event = stripe.webhooks.constructEvent(raw, signature || "", env.STRIPE_WEBHOOK_SECRET);
  } catch (err) {
    return [400, { error: `signature: ${err.message}` }];
  }
  if (event.livemode !== liveKey) return [400, { error: "event from the other mode (test/live) than this key" }];
  if (processed.has(event.id)) return [200, { received: true, duplicate: true }];
  const object = event.data.object;
  let outcome = "ignored";
  if (event.type === "checkout.session.completed" && object.mode === "subscription" && object.subscription) {
    outcome = await syncSubscription(object.subscription);
  } else if (event.type.startsWith("customer.subscription.") && typeof object.id === "string") {
    outcome = await syncSubscription(object.id); // deleted: retrieve answers status "canceled" -> free
  }
  processed.add(event.id);
  console.log(`${event.type} ${event.id}: ${outcome}`);
  return [200, { received: true }];
}

// ---- app API (Clerk session token in Authorization: Bearer) -------------------------------------------
async function authenticate(req) {
  const request = new Request(`http://${req.headers.host}${req.url}`, { headers: req.headers });
  const state = await clerk.authenticateRequest(request, { secretKey: env.CLERK_SECRET_KEY,
                                                          publishableKey: env.CLERK_PUBLISHABLE_KEY });
  const auth = state.toAuth();
  return auth && auth.userId ? auth.userId : null;
}

async function planOf(userId) {
  const user = await clerk.users.getUser(userId);
  const plan = user.publicMetadata && user.publicMetadata.plan;
  return { user, plan: plan in TIERS ? plan : "free" };
}

function month() { return new Date().toISOString().slice(0, 7); }

async function customerFor(user) {
  const known = user.publicMetadata && user.publicMetadata.stripeCustomerId;
  if (known) return known;
  const customer = await stripe.customers.create({
    email: user.emailAddresses[0] && user.emailAddresses[0].emailAddress, metadata: { userId: user.id },
  }, { idempotencyKey: `customer-${user.id}` });
  await clerk.users.updateUserMetadata(user.id, { publicMetadata: { stripeCustomerId: customer.id } });
  return customer.id;
}

async function handleApi(req, userId, body) {
  const { user, plan } = await planOf(userId);
  const origin = env.FRONTEND_URL || `http://${req.headers.host}`;
  if (req.method === "GET" && req.url === "/api/usage") {
    const used = usage.get(`${userId}:${month()}`) || 0;
    const limit = TIERS[plan];
    return [200, { plan, used, limit: limit === Infinity ? "unlimited" : limit }];
  }
  if (req.method === "POST" && req.url === "/api/data") {
    const key = `${userId}:${month()}`;
    const used = usage.get(key) || 0;
    if (used >= TIERS[plan]) return [403, { error: "Tier limit reached", plan, used }];
    usage.set(key, used + 1);
    return [200, { ok: true, used: used + 1 }];
  }
  if (req.method === "POST" && req.url === "/api/create-checkout") {
    const tier = JSON.parse(body || "{}").tier;
    const price = Object.keys(PRICE_TIERS).find((p) => PRICE_TIERS[p] === tier);
    if (!price) return [400, { error: `no such paid tier: ${tier}` }];
    const session = await stripe.checkout.sessions.create({
      mode: "subscription", customer: await customerFor(user), client_reference_id: userId,
      line_items: [{ price, quantity: 1 }], subscription_data: { metadata: { userId } },
      allow_promotion_codes: true,
      success_url: `${origin}/?checkout=done`, cancel_url: `${origin}/?checkout=cancelled`,
    });
    return [200, { url: session.url, id: session.id }];
  }
  if (req.method === "POST" && req.url === "/api/customer-portal") {
    const session = await stripe.billingPortal.sessions.create({
      customer: await customerFor(user), return_url: `${origin}/`,
    });
    return [200, { url: session.url }];
  }
  return [404, { error: "not found" }];
}

// ---- server ---------------------------------------------------------------------------------------------
function send(res, status, obj) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(obj));
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    const raw = Buffer.concat(chunks);
    try {
      if (req.method === "GET" && req.url === "/health") return send(res, 200, { status: "ok" });
      if (req.method === "POST" && req.url === "/webhook/stripe") {
        return send(res, ...(await handleWebhook(raw, req.headers["stripe-signature"])));
      }
      const userId = await authenticate(req).catch(() => null);
      if (!userId) return send(res, 401, { error: "sign in first" });
      return send(res, ...(await handleApi(req, userId, raw.toString("utf8"))));
    } catch (err) {
      console.error(`${req.method} ${req.url}: ${err.message}`);
      return send(res, 500, { error: "internal error" }); // Stripe retries a webhook answered 5xx
    }
  });
});

server.listen(Number(env.PORT) || 3000, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
