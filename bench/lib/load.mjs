// Load generator: pre-signed Clerk deliveries, fixed concurrency, keep-alive HTTP/1.1.
//
// Runs in the driver's node process, never inside workerd: its CPU is not in the figures, which
// come from the workerd process alone. Deliveries are signed before a segment starts, with the
// official `standardwebhooks` library (what Svix uses), so no signing happens in the timed window.

import http from "node:http";
import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

export const FIXTURE = JSON.parse(readFileSync(new URL("../../tests/fixtures/clerk_user_created.json", import.meta.url), "utf8"));

/**
 * `n` signed `user.created` deliveries for distinct users `user_<tag>_<i>` (at most 32 bytes).
 * Returns [{ userId, body: Buffer, headers }].
 */
export function signedDeliveries(secret, tag, n, { start = 0 } = {}) {
  const wh = new Webhook(secret);
  const now = new Date();
  const out = new Array(n);
  for (let k = 0; k < n; k++) {
    const i = start + k;
    const userId = `user_${tag}_${i.toString(36)}`;
    if (Buffer.byteLength(userId) > 32) throw new Error(`bench bug: ${userId} is over 32 bytes`);
    const msgId = `msg_${tag}_${i.toString(36)}`;
    const event = { ...FIXTURE, data: { ...FIXTURE.data, id: userId } };
    const body = JSON.stringify(event);
    out[k] = {
      userId,
      body: Buffer.from(body),
      headers: {
        "content-type": "application/json",
        "svix-id": msgId,
        "svix-timestamp": String(Math.floor(now.getTime() / 1000)),
        "svix-signature": wh.sign(msgId, now, body),
      },
    };
  }
  return out;
}

/** One request; resolves { status, text }. `agent` false = a fresh connection. */
export function send(baseUrl, path, { body, headers }, agent = false) {
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        method: "POST",
        path,
        agent,
        headers: { ...headers, "content-length": body.length },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`request to ${baseUrl}${path} timed out`)));
    req.end(body);
  });
}

/**
 * Sends every delivery at fixed `concurrency` over keep-alive connections.
 * Returns { wallMs, latMs: Float64Array (per request), failures: [{status, text}] }.
 * `before()`/`after()` are called right before the first request and right after the last
 * response (to read CPU counters with nothing else in between). `check(response, delivery)`, if
 * given, looks at every 200 answer and returns a reason when it is wrong (counted as a failure).
 * `agent`, if given, is the caller's (its connections are kept for the next call).
 */
export async function drive({ baseUrl, path, deliveries, concurrency, before, after, check, agent: shared }) {
  const agent = shared ?? new http.Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  const latMs = new Float64Array(deliveries.length);
  const failures = [];
  let next = 0;
  const loop = async () => {
    for (;;) {
      const i = next++;
      if (i >= deliveries.length) return;
      const t = process.hrtime.bigint();
      let r;
      try {
        r = await send(baseUrl, path, deliveries[i], agent);
      } catch (e) {
        r = { status: 0, text: String(e) };
      }
      latMs[i] = Number(process.hrtime.bigint() - t) / 1e6;
      if (r.status !== 200) failures.push(r);
      else if (check) {
        const why = check(r, deliveries[i]);
        if (why) failures.push({ status: r.status, text: `${why}: ${r.text.slice(0, 300)}` });
      }
    }
  };
  before?.();
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, loop));
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  after?.();
  if (!shared) agent.destroy();
  return { wallMs, latMs, failures };
}

/** The q-quantile (0..1) of a list of numbers (nearest rank). */
export function quantile(values, q) {
  const s = Float64Array.from(values).sort();
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
