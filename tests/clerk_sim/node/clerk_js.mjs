// Runs the simulator's /clerk.js snippet in a minimal fake browser (window, document.cookie,
// localStorage, location, history, fetch with an Origin header) and reports what it did.
// Usage: node clerk_js.mjs '<json config>'; prints one JSON line for pytest.
const cfg = JSON.parse(process.argv[2]);
const appOrigin = new URL(cfg.appUrl).origin;
const store = new Map();
let cookieJar = "";

globalThis.window = globalThis;
globalThis.localStorage = {
  getItem: (k) => (store.has(k) ? store.get(k) : null),
  setItem: (k, v) => store.set(k, String(v)),
  removeItem: (k) => store.delete(k),
};
globalThis.document = {
  currentScript: { src: `${cfg.simUrl}/clerk.js` },
  get cookie() { return cookieJar; },
  set cookie(value) { cookieJar = value.split(";")[0]; },
};
globalThis.location = new URL(cfg.appUrl);
globalThis.history = { replaceState: (_state, _title, url) => { globalThis.location = new URL(url); } };
const nodeFetch = globalThis.fetch;
// A browser adds Origin to cross-origin requests; Node's fetch does not.
globalThis.fetch = (url, init = {}) => nodeFetch(url, { ...init, headers: { ...init.headers, origin: appOrigin } });

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
const out = {};

const script = await (await nodeFetch(`${cfg.simUrl}/clerk.js`)).text();
(0, eval)(script);
await window.Clerk.load();
out.sessionId = window.Clerk.session.id;
out.userId = window.Clerk.user.id;
out.locationAfterLoad = location.href;
const first = cookieJar.replace("__session=", "");
out.firstPlan = claims(first).plan;

// The backend changes the plan (what a Stripe webhook receiver does).
await nodeFetch(`${cfg.simUrl}/v1/users/${out.userId}/metadata`, {
  method: "PATCH",
  headers: { authorization: `Bearer ${cfg.secretKey}`, "content-type": "application/json" },
  body: JSON.stringify({ public_metadata: { plan: "pro" } }),
});

const cached = await window.Clerk.session.getToken();
out.cachedIsFirst = cached === first;
out.cachedPlan = claims(cached).plan;
const fresh = await window.Clerk.session.getToken({ skipCache: true });
out.freshPlan = claims(fresh).plan;
out.cookieHasFresh = cookieJar === `__session=${fresh}`;
const templated = await window.Clerk.session.getToken({ template: cfg.template });
out.templatePlan = claims(templated).plan;
out.azp = claims(fresh).azp;
console.log(JSON.stringify(out));
