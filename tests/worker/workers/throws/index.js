throw new Error("boom at start-up: CONFIG missing");
export default { async fetch() { return new Response("never"); } };
