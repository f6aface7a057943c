// Contract check: the official @clerk/backend SDK against a running Clerk simulator.
// Usage: node contract.mjs '<json config>'; prints one JSON line of observations for pytest.
import { createClerkClient, verifyToken } from "@clerk/backend";

const cfg = JSON.parse(process.argv[2]);
const clerk = createClerkClient({ secretKey: cfg.secretKey, apiUrl: cfg.apiUrl });
const out = {};

// updateUser(id, {publicMetadata}) logs a deprecation warning; keep stdout for our JSON.
console.warn = () => {};

const user = await clerk.users.getUser(cfg.userId);
out.getUser = {
  id: user.id,
  email: user.primaryEmailAddress?.emailAddress ?? null,
  publicMetadata: user.publicMetadata,
  createdAt: user.createdAt,
};

const replaced = await clerk.users.updateUser(cfg.userId, { publicMetadata: { plan: "pro" } });
out.updateUser = replaced.publicMetadata;

const merged = await clerk.users.updateUserMetadata(cfg.userId, {
  publicMetadata: { seats: 3, limits: { requests: 50 } },
  privateMetadata: { stripeCustomerId: "cus_123" },
});
out.updateUserMetadata = { publicMetadata: merged.publicMetadata, privateMetadata: merged.privateMetadata };

const list = await clerk.users.getUserList({ emailAddress: [cfg.email] });
out.getUserList = { ids: list.data.map((u) => u.id), totalCount: list.totalCount };

const claims = await verifyToken(cfg.token, { secretKey: cfg.secretKey, apiUrl: cfg.apiUrl });
out.verifyToken = { sub: claims.sub, sid: claims.sid, plan: claims.plan ?? null };

const networkless = await verifyToken(cfg.token, { jwtKey: cfg.jwtKey });
out.verifyWithJwtKey = networkless.sub;

try {
  await verifyToken(cfg.expiredToken, { secretKey: cfg.secretKey, apiUrl: cfg.apiUrl });
  out.expired = "accepted";
} catch (err) {
  out.expired = err.reason ?? String(err);
}

try {
  await clerk.users.getUser("user_does_not_exist");
  out.notFound = "found";
} catch (err) {
  out.notFound = { status: err.status, code: err.errors?.[0]?.code, traceId: err.clerkTraceId };
}

console.log(JSON.stringify(out));
