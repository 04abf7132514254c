// The Worker's entry module: worker-build bundles it in place of its own shim (CUSTOM_SHIM, see
// the Makefile) with the wasm-bindgen glue it imports. It only moves bytes and promises; every
// decision is made in Rust (src/worker.rs, then the core).
//
// A request is driven by two synchronous wasm calls: `begin` polls the request once; when the
// core waits on the runtime (a fetch, a timer, WebCrypto, a Queue or D1 call) it returns that
// promise, which we await here and hand back with `resume`, until a Response comes out. This
// replaces the async export (wasm-bindgen-futures: a promise, closures and microtasks per await),
// which cost more CPU per request than our Rust code.
//
// The placeholders below are filled by worker-build: the JS snippets (src/shim.js) the wasm
// imports.
import * as glue from "./index_bg.js";
import wasmModule from "./index.wasm";
$SNIPPET_JS_IMPORTS

const wasmImports = {
  "./index_bg.js": glue,
  $SNIPPET_WASM_IMPORTS
};
let instance = new WebAssembly.Instance(wasmModule, wasmImports);
glue.__wbg_set_wasm(instance.exports);
instance.exports.__wbindgen_start?.();

/**
 * After a trap (a Rust panic aborts; none is expected) the instance's state may be half-updated,
 * so the next requests get a fresh instance, as worker-build's own shim does. Growing the old
 * memory by 0 pages detaches its buffer, so the glue's cached views of it are rebuilt over the
 * new instance's memory.
 */
function restartAfter(e) {
  if (!(e instanceof WebAssembly.RuntimeError)) return;
  console.error("tim-onboard: the wasm instance trapped; starting a fresh one:", String(e));
  try {
    instance.exports.memory.grow(0);
  } catch {}
  instance = new WebAssembly.Instance(wasmModule, wasmImports);
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start?.();
}

/**
 * A request the runtime cancels (its client went away) is never resumed, and its Rust side would
 * stay suspended; when its JS side is garbage-collected, this drops it.
 */
const abandoned = new FinalizationRegistry((id) => glue.forget(id));

const LIMIT = glue.maxBodyBytes();
const EMPTY = new Uint8Array(0);
let lastId = 0;

/** The body as bytes, or null when it exceeds `limit` (read no further than needed). */
async function readBody(req, limit) {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) return null;
  if (req.body === null) return EMPTY;
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

export default {
  async fetch(request, env) {
    const id = (lastId = (lastId + 1) >>> 0);
    let body = EMPTY;
    if (request.method === "POST") {
      // A body that cannot be read is handled as empty: verification then fails with 401.
      try {
        body = await readBody(request, LIMIT);
      } catch {
        body = EMPTY;
      }
    }
    // Lives as long as this call's frame: its collection means the request was abandoned.
    const alive = {};
    try {
      let out = glue.begin(id, request, env, body);
      if (!(out instanceof Response)) abandoned.register(alive, id, alive);
      while (!(out instanceof Response)) {
        let value;
        let ok = true;
        try {
          value = await out;
        } catch (e) {
          value = e;
          ok = false;
        }
        out = glue.resume(id, value, ok);
      }
      return out;
    } catch (e) {
      // Only a trap gets here (every runtime failure is an answer from the core): a 500, so the
      // sender retries.
      restartAfter(e);
      return new Response('{"error":"internal","message":"internal error"}', {
        status: 500,
        headers: { "content-type": "application/json" },
      });
    } finally {
      abandoned.unregister(alive);
    }
  },

  // Queue batches (the job queue and the dead-letter queue): rare and batched, so the async
  // export is fine here.
  async queue(batch, env, ctx) {
    try {
      await glue.queue(batch, env, ctx);
    } catch (e) {
      // Unsettled messages are retried by the queue.
      restartAfter(e);
    }
  },
};
