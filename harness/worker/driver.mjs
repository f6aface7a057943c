// tiersync's Worker driver: runs one bundled Worker in Miniflare (real workerd) and talks to the Python
// side in JSON lines on stdout: {"ready": url} | {"error": text} | {"runtime": line} (workerd's own output)
// | {"console": record} (one request's console lines, sent by the wrapper tiersync bundles around the
// Worker) | {"blocked": {method, url}} (an outbound request to a host tiersync does not simulate).
// Usage: node driver.mjs, then one line on stdin: the path of the config (written by tiersync's runtime.py).
// The driver is started while esbuild bundles, so loading Miniflare (most of the start-up's CPU) overlaps it;
// stdin closing (the Python side gone) stops it.
import { readFileSync } from "node:fs";

const loading = import("miniflare");
const configPath = await new Promise((resolve) => {
  let buffered = "";
  const onData = (chunk) => {
    buffered += chunk;
    if (buffered.includes("\n")) {
      process.stdin.off("data", onData);
      resolve(buffered.split("\n")[0].trim());
    }
  };
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", onData);
  process.stdin.on("end", () => process.exit(0)); // no config: the bundle failed, or the Python side went away
});
const { Miniflare, Response, fetch: mfFetch } = await loading;
const config = JSON.parse(readFileSync(configPath, "utf8"));
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const CONSOLE_HOST = "console.tiersync.invalid"; // the wrapper's reports; never a real host

// Outbound requests: the real APIs go to the simulators, the simulators' own addresses stay reachable,
// everything else is refused: the Worker's fetch gets a 502 whose body says so (Miniflare would turn a
// thrown error into an anonymous 500; this names the cause in the Worker's own logs and answers).
const routes = config.routes; // {"api.stripe.com": "http://127.0.0.1:PORT", ...}
const allowedOrigins = new Set(Object.values(routes).map((u) => new URL(u).origin));

async function outbound(request) {
  const url = new URL(request.url);
  if (url.hostname === CONSOLE_HOST) {
    emit({ console: await request.json() });
    return new Response("ok");
  }
  let target;
  if (routes[url.hostname] !== undefined) {
    const base = new URL(routes[url.hostname]);
    target = new URL(url.pathname + url.search, base);
  } else if (allowedOrigins.has(url.origin)) {
    target = url;
  } else {
    emit({ blocked: { method: request.method, url: url.origin + url.pathname } });
    return new Response(`tiersync blocked ${request.method} ${url.origin}${url.pathname}: only the simulated ` +
                        `services (${Object.keys(routes).join(", ")}) are reachable from the Worker under test`,
                        { status: 502, headers: { "content-type": "text/plain" } });
  }
  const headers = new Headers(request.headers);
  headers.delete("host");
  const body = ["GET", "HEAD"].includes(request.method) ? undefined : await request.arrayBuffer();
  return mfFetch(target, { method: request.method, headers, body, redirect: "manual" });
}

function pipeLines(stream, kind) {
  let pending = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop();
    for (const line of lines) if (line.trim()) emit({ runtime: line, stream: kind });
  });
  stream.on("end", () => { if (pending.trim()) emit({ runtime: pending, stream: kind }); });
}

const mf = new Miniflare({
  name: config.name,
  modules: true,
  scriptPath: config.script, // absolute: Miniflare resolves a relative path against its working directory
  compatibilityDate: config.compatibilityDate,
  compatibilityFlags: config.compatibilityFlags,
  bindings: config.bindings,
  kvNamespaces: config.kvNamespaces,
  d1Databases: config.d1Databases,
  r2Buckets: config.r2Buckets,
  outboundService: outbound,
  host: "127.0.0.1",
  port: config.port,
  handleRuntimeStdio(stdout, stderr) {
    pipeLines(stdout, "stdout");
    pipeLines(stderr, "stderr");
  },
});

let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  try { await mf.dispose(); } catch { /* going anyway */ }
  process.exit(code);
}
process.on("SIGTERM", () => stop(0));
process.on("SIGINT", () => stop(0));
process.stdin.removeAllListeners("end");
process.stdin.on("end", () => stop(0)); // the Python side went away
process.stdin.resume();

try {
  const url = await mf.ready;
  emit({ ready: url.href });
} catch (err) {
  // workerd's own message (a syntax error, an exception at start-up) came as runtime lines just before
  emit({ error: String(err && err.message ? err.message : err) });
  await stop(1);
}
