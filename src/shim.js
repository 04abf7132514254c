// The runtime calls the Rust shell (src/worker.rs) imports. Each function does in one call what
// would otherwise take several wasm<->JS crossings (object construction, header maps, promise
// plumbing), which the benchmarks showed to cost more than our Rust code itself. Kept tiny and
// free of logic: every decision stays in Rust. The Worker's entry module is src/entry.js.

/** A promise that resolves after `ms` milliseconds (the core's backoff between retries). */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * POSTs a JSON body with a timeout. Returns [status, bodyBytes] on an answer, or
 * [0, errorName, errorMessage] when nothing came back.
 */
export async function postJson(url, body, timeoutMs) {
  try {
    const res = await fetch(url, {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
      signal: AbortSignal.timeout(timeoutMs),
    });
    return [res.status, new Uint8Array(await res.arrayBuffer())];
  } catch (e) {
    return [0, String(e?.name ?? "Error"), String(e?.message ?? e)];
  }
}

/** GETs a URL with a timeout; same result shape as postJson. */
export async function getBytes(url, timeoutMs) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return [res.status, new Uint8Array(await res.arrayBuffer())];
  } catch (e) {
    return [0, String(e?.name ?? "Error"), String(e?.message ?? e)];
  }
}

/** A JSON response; `extra` is "name: value" lines for additional headers. */
export function respond(status, body, extra) {
  const headers = { "content-type": "application/json" };
  if (extra === "") return new Response(body, { status, headers });
  for (const line of extra.split("\n")) {
    const i = line.indexOf(": ");
    if (i > 0) headers[line.slice(0, i)] = line.slice(i + 2);
  }
  return new Response(body, { status, headers });
}

/** Whether `env[name]` is bound (a Queue producer, a D1 database). */
export function hasBinding(env, name) {
  return env != null && env[name] != null;
}

/**
 * Sends each body of the JSON list `bodies` as one text message, 100 per `sendBatch` (the
 * Queues limit). Resolves to "" when all were queued, else to the error's message.
 */
export async function enqueue(env, name, bodies) {
  try {
    const list = JSON.parse(bodies);
    for (let i = 0; i < list.length; i += 100) {
      await env[name].sendBatch(list.slice(i, i + 100).map((body) => ({ body, contentType: "text" })));
    }
    return "";
  } catch (e) {
    return String(e?.message ?? e) || "the queue refused the messages";
  }
}

/** Runs one D1 statement with JSON-encoded positional parameters; resolves to JSON. */
export async function sql(env, name, query, params) {
  try {
    const r = await env[name].prepare(query).bind(...JSON.parse(params)).all();
    return JSON.stringify({ ok: true, rows: r.results ?? [] });
  } catch (e) {
    return JSON.stringify({ ok: false, error: String(e?.message ?? e) });
  }
}

/** A queue batch as JSON: `{"queue", "messages": [[id, attempts, body text]]}`. */
export function batchMessages(batch) {
  try {
    const messages = batch.messages.map((m) => [
      String(m.id),
      Math.max(1, Number(m.attempts) || 1),
      typeof m.body === "string" ? m.body : JSON.stringify(m.body ?? null),
    ]);
    return JSON.stringify({ queue: String(batch.queue), messages });
  } catch {
    return JSON.stringify({ queue: "", messages: [] });
  }
}

/**
 * Applies `[[id, "ack" | "retry", delaySeconds]]` to the batch's messages. Each call has its own
 * try, so one failing call cannot leave the others undecided; an undecided message is retried
 * by the queue.
 */
export function settle(batch, verdicts) {
  const byId = new Map(batch.messages.map((m) => [String(m.id), m]));
  for (const [id, kind, delaySeconds] of JSON.parse(verdicts)) {
    const m = byId.get(id);
    try {
      if (kind === "ack") m?.ack();
      else m?.retry({ delaySeconds });
    } catch {
      // The queue redelivers a message that was neither acked nor retried.
    }
  }
}

/** WebCrypto parameters per JWS algorithm: how the key is imported, how verify is called. */
const JWS = {
  RS256: [{ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, { name: "RSASSA-PKCS1-v1_5" }],
  ES256: [{ name: "ECDSA", namedCurve: "P-256" }, { name: "ECDSA", hash: "SHA-256" }],
  ES384: [{ name: "ECDSA", namedCurve: "P-384" }, { name: "ECDSA", hash: "SHA-384" }],
  EdDSA: [{ name: "Ed25519" }, { name: "Ed25519" }],
};

/** Imported keys by algorithm and key text: importing an RSA JWK costs more than verifying with it. */
const importedKeys = new Map();
/** Keys kept at most (a JWKS holds a few; rotation adds a few more); past it the cache restarts. */
const MAX_IMPORTED_KEYS = 64;

/** The WebCrypto key for `key` under `alg`, imported once per isolate. */
function importKey(alg, key, importAlg) {
  const id = `${alg}\n${key}`;
  let k = importedKeys.get(id);
  if (k === undefined) {
    k = key.startsWith("spki:")
      ? crypto.subtle.importKey(
          "spki",
          Uint8Array.from(atob(key.slice(5)), (c) => c.charCodeAt(0)),
          importAlg,
          false,
          ["verify"],
        )
      : crypto.subtle.importKey("jwk", JSON.parse(key), importAlg, false, ["verify"]);
    if (importedKeys.size >= MAX_IMPORTED_KEYS) importedKeys.clear();
    importedKeys.set(id, k);
    // A key that failed to import is not kept: the next call tries again.
    k.catch(() => importedKeys.delete(id));
  }
  return k;
}

/**
 * Verifies a JWS signature (raw r||s for ECDSA, as JWS sends it) with a public key given as a
 * JWK (JSON) or `spki:<base64 DER>`. The algorithm comes from the caller's configuration; any
 * failure, including a key of another type, is `false`.
 */
export async function verifyJwk(alg, key, message, signature) {
  try {
    const [importAlg, verifyAlg] = JWS[alg] ?? [];
    if (!importAlg) return false;
    const k = await importKey(alg, key, importAlg);
    return await crypto.subtle.verify(verifyAlg, k, signature, message);
  } catch {
    return false;
  }
}
