// Receives Wharf's webhook deliveries (Standard Webhooks), checks each signature and hands
// the event to the listener in listener.mjs. Point a webhook at it:
//   POST /v1/webhooks {"environmentId": "...", "url": "http://this-host:8787/", "topics": ["**"]}
// and start it with the secret that answer gave:
//   WHARF_URL=... WHARF_API_KEY=sk_... WHARF_WEBHOOK_SECRET=whsec_... node serve.mjs
import http from "node:http";
import { Webhook } from "standardwebhooks";
import { configure } from "./config.mjs";

configure();
const secret = process.env.WHARF_WEBHOOK_SECRET ?? "";
if (!secret.startsWith("whsec_")) {
  console.error("Set WHARF_WEBHOOK_SECRET to the webhook's secret (whsec_...), shown once when it was created.");
  process.exit(2);
}
const webhook = new Webhook(secret);

// Only now: the Flatfile packages read the variables configure() set when they load.
const { FlatfileListener } = await import("@flatfile/listener");
const { default: setup } = await import("./listener.mjs");
const listener = FlatfileListener.create(setup);

const MAX_BODY = 5 * 1024 * 1024;
// A delivery Wharf retries (our answer came after its 15 s timeout, say) keeps its
// `webhook-id`: a retry waits for the run under way, or one that ended in the last
// KEEP_ENDED_MS (the retry after a timed-out try comes 5 s after it), rather than run
// again. A run that ended longer ago is forgotten: Wharf sends an event again after that
// only when its work was not done (a commit no hook answered because Wharf stopped while
// the hook wrote, a write @flatfile/listener only logs as failed, is sent again after
// 60 s), and then it must run again (probe 62d D2).
const runs = new Map();
const KEEP_ENDED_MS = Number(process.env.KEEP_ENDED_MS ?? 30_000);
const KEEP_RUNS = 10_000;

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on("data", (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error("too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

const server = http.createServer(async (req, res) => {
  if (req.method !== "POST") {
    res.writeHead(405, { allow: "POST" }).end();
    return;
  }
  let body;
  try {
    body = await readBody(req);
  } catch {
    res.writeHead(413).end("too large");
    return;
  }
  let event;
  try {
    event = webhook.verify(body, req.headers);
  } catch (e) {
    res.writeHead(401).end(`signature refused: ${e.message}`);
    return;
  }
  const id = req.headers["webhook-id"];
  let run = runs.get(id);
  if (!run) {
    console.log(`event ${event.topic} ${event.id}`);
    run = listener.dispatchEvent(event);
    runs.set(id, run);
    const forget = () => {
      if (runs.get(id) === run) runs.delete(id);
    };
    const later = () => setTimeout(forget, KEEP_ENDED_MS).unref();
    run.then(later, later);
    if (runs.size > KEEP_RUNS) runs.delete(runs.keys().next().value);
  }
  // A job's handler may run for minutes (an action, a Submit): its `job:ready` is answered at
  // once and the handler goes on in the background, so a slow action never holds up the
  // deliveries behind it (record hooks). Wharf's job then stays `executing` under the
  // handler's `ack`, and fails on its own if nobody acknowledges it (WHARF_JOB_ACK_SECONDS).
  if (event.topic === "job:ready") {
    run.catch((e) => {
      runs.delete(id);
      console.error(`event ${event.topic} ${event.id} failed:`, e);
    });
    res.writeHead(202).end("accepted");
    return;
  }
  try {
    await run;
    res.writeHead(200).end("ok");
  } catch (e) {
    // Wharf sends it again later: run it again then.
    runs.delete(id);
    console.error(`event ${event.topic} ${event.id} failed:`, e);
    res.writeHead(500).end("the listener failed");
  }
});

server.listen(Number(process.env.PORT ?? 8787), process.env.HOST ?? "127.0.0.1", () => {
  // Tests start this with PORT=0 and read the port from this line.
  console.log(`listening on ${server.address().port}`);
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
