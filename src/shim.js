// The JS side of the Worker's hot path. Each function does in one call what would otherwise take
// several wasm<->JS crossings (object construction, header maps, promise plumbing), which the
// benchmarks showed to cost more than our Rust code itself. Kept tiny and free of logic: every
// decision stays in Rust.

/** The body as bytes, or null when it exceeds `limit` (read no further than needed). */
export async function readBody(req, limit) {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) return null;
  if (req.body === null) return new Uint8Array(0);
  if (declared !== null) {
    const bytes = new Uint8Array(await req.arrayBuffer());
    return bytes.length > limit ? null : bytes;
  }
  // Chunked upload: stop as soon as the limit is passed.
  const reader = req.body.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
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
  for (const line of extra.split("\n")) {
    const i = line.indexOf(": ");
    if (i > 0) headers[line.slice(0, i)] = line.slice(i + 2);
  }
  return new Response(body, { status, headers });
}
