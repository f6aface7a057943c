// Bundled around the Worker under test (tiersync): the Worker's own module, unchanged, with each request's
// console lines collected and reported to the driver after the response (a fetch to a host that only the
// driver answers). Everything the Worker exports is re-exported as it is.
import * as worker from "__TIERSYNC_WORKER_ENTRY__";
import { AsyncLocalStorage } from "node:async_hooks";

export * from "__TIERSYNC_WORKER_ENTRY__";

const REPORT_URL = "http://console.tiersync.invalid/";
const requestLines = new AsyncLocalStorage();

function show(value) {
  if (typeof value === "string") return value;
  if (value instanceof Error) return value.stack || `${value.name}: ${value.message}`;
  try { return JSON.stringify(value); } catch { return String(value); }
}

for (const level of ["log", "info", "warn", "error", "debug"]) {
  const original = console[level].bind(console);
  console[level] = (...args) => {
    const lines = requestLines.getStore();
    if (lines) lines.push({ level, text: args.map(show).join(" ") });
    original(...args);
  };
}

async function eventId(request) {
  // A Stripe delivery names its event in the body; the report puts these lines beside that delivery.
  if (request.method !== "POST" || !request.headers.get("stripe-signature")) return null;
  try { return JSON.parse(await request.clone().text()).id || null; } catch { return null; }
}

const inner = worker.default;
let wrapped = inner;
if (inner && typeof inner === "object" && typeof inner.fetch === "function") {
  wrapped = {
    ...inner,
    async fetch(request, env, ctx) {
      const lines = [];
      const record = { method: request.method, path: new URL(request.url).pathname,
                       event: await eventId(request), lines, status: null };
      const started = Date.now();
      try {
        const response = await requestLines.run(lines, () => inner.fetch(request, env, ctx));
        record.status = response.status;
        return response;
      } catch (err) {
        lines.push({ level: "error", text: `uncaught exception: ${show(err)}` });
        throw err;
      } finally {
        record.ms = Date.now() - started;
        ctx.waitUntil(fetch(REPORT_URL, { method: "POST", body: JSON.stringify(record) }).catch(() => {}));
      }
    },
  };
}
export default wrapped;
