// The polling alternative to serve.mjs, for a listener that Wharf cannot reach (behind a
// firewall, on a laptop): asks for new events every second and hands each to listener.mjs.
//   WHARF_URL=... WHARF_API_KEY=sk_... WHARF_ENVIRONMENT_ID=us_env_... node poll.mjs
// Wharf lists events oldest first and leaves out those a running transaction could still
// slip in front of, so asking again from a little before the newest one seen (de-duplicated
// by id) misses none.
import { configure } from "./config.mjs";

const { base, key } = configure();
const environmentId = process.env.WHARF_ENVIRONMENT_ID ?? "";
if (!environmentId) {
  console.error("Set WHARF_ENVIRONMENT_ID to the environment whose events to follow (us_env_...).");
  process.exit(2);
}
const { FlatfileListener } = await import("@flatfile/listener");
const { default: setup } = await import("./listener.mjs");
const listener = FlatfileListener.create(setup);

const PAGE_SIZE = 100;
const EVERY_MS = 1000;
// How far back each poll looks again from the newest event seen.
const OVERLAP_MS = 10_000;

// Where to start: WHARF_POLL_SINCE (ISO 8601), or now (events from before are left alone).
const startAt = process.env.WHARF_POLL_SINCE ? Date.parse(process.env.WHARF_POLL_SINCE) : Date.now();
let newest = startAt;
if (Number.isNaN(startAt)) {
  console.error("WHARF_POLL_SINCE is not an ISO 8601 time.");
  process.exit(2);
}
const seen = new Map(); // event id -> createdAt (ms)

async function page(since, pageNumber) {
  const query = new URLSearchParams({
    environmentId,
    since: new Date(since).toISOString(),
    includeAcknowledged: "true",
    pageSize: String(PAGE_SIZE),
    pageNumber: String(pageNumber),
  });
  const res = await fetch(`${base}/v1/events?${query}`, { headers: { authorization: `Bearer ${key}` } });
  if (!res.ok) throw new Error(`GET /v1/events answered ${res.status}: ${await res.text()}`);
  return (await res.json()).data;
}

async function pollOnce() {
  const since = newest - OVERLAP_MS;
  for (let n = 1; ; n++) {
    const events = await page(since, n);
    for (const event of events) {
      const at = Date.parse(event.createdAt);
      newest = Math.max(newest, at);
      if (at < startAt || seen.has(event.id)) continue;
      seen.set(event.id, at);
      console.log(`event ${event.topic} ${event.id}`);
      // Handled side by side, as Flatfile delivers events: a long job handler must not
      // hold up a record hook or another action behind it.
      listener.dispatchEvent(event).catch((e) => console.error(`handling ${event.topic} failed: ${e.message}`));
    }
    if (events.length < PAGE_SIZE) break;
  }
  for (const [id, at] of seen) if (at < since) seen.delete(id);
}

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => (stopping = true));
console.log(`polling ${base} for events of ${environmentId}`);
while (!stopping) {
  try {
    await pollOnce();
  } catch (e) {
    console.error(`polling failed, trying again: ${e.message}`);
  }
  await new Promise((r) => setTimeout(r, EVERY_MS));
}
