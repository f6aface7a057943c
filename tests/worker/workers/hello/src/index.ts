// A small Worker for tiersync's own tests: bindings, KV, D1, a routed call to api.stripe.com, a blocked host.
interface Env { GREETING: string; STRIPE_SECRET_KEY: string; NOTES: KVNamespace; DB: D1Database }

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname !== "/check") return new Response("not here", { status: 404 });
    console.log("checking", { path: url.pathname });
    await env.NOTES.put("k", "v");
    const row = await env.DB.prepare("select 40 + 2 as answer").first<{ answer: number }>();
    const stripe = await fetch("https://api.stripe.com/v1/customers?limit=1", {
      headers: { Authorization: `Bearer ${env.STRIPE_SECRET_KEY}` },
    });
    const other = await fetch("https://example.com/track");
    const elsewhere = `${other.status} ${await other.text()}`;
    if (!other.ok) console.warn("example.com unreachable");
    console.debug(`with key ${env.STRIPE_SECRET_KEY}`); // a Worker logging its secret: reports must mask it
    return Response.json({
      greeting: env.GREETING, kv: await env.NOTES.get("k"), d1: row?.answer,
      stripe: { status: stripe.status, object: ((await stripe.json()) as { object: string }).object },
      elsewhere,
    });
  },
};
