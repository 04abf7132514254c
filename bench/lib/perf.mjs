// CPU profile of a workerd process with Linux `perf`, to say where the CPU goes.
//
// workerd runs with the V8 flag --perf-basic-prof, so JIT code (JS, and wasm functions with the
// names section's names when present) is symbolised; workerd itself ships with symbols. Samples
// are sorted into categories (kernel, wasm, wasm<->JS boundary, JS, GC, V8 runtime, workerd API,
// KJ I/O, allocator) and turned into microseconds per request with the CPU measured in the same
// window.

import { spawn, spawnSync } from "node:child_process";

export function perfAvailable() {
  const r = spawnSync("perf", ["stat", "-e", "task-clock", "true"], { encoding: "utf8" });
  return r.status === 0;
}

/** Starts `perf record` on `pid`; returns stop() => Promise<void>. */
export function perfRecord(pid, out, { freq = 1999 } = {}) {
  const proc = spawn("perf", ["record", "-F", String(freq), "-g", "-p", String(pid), "-o", out], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  proc.stderr.on("data", (d) => (err += d));
  const exited = new Promise((r) => proc.once("exit", (code) => r(code)));
  return {
    ready: new Promise((r) => setTimeout(r, 400)), // perf needs a moment to attach
    async stop() {
      proc.kill("SIGINT");
      const code = await exited;
      if (code !== 0 && !/Captured and wrote/.test(err)) throw new Error(`perf record failed (${code}): ${err}`);
    },
  };
}

function perfReport(file, children) {
  const args = ["report", "-i", file, "--stdio", "-g", "none", "--percent-limit", "0", "--sort", "sym"];
  args.push(children ? "--children" : "--no-children");
  const r = spawnSync("perf", args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`perf report failed: ${r.stderr}`);
  const rows = [];
  for (const line of r.stdout.split("\n")) {
    if (line.startsWith("#") || !line.trim()) continue;
    const m = children
      ? line.match(/^\s*([\d.]+)%\s+([\d.]+)%\s+\[(.)\]\s+(.*?)\s*$/)
      : line.match(/^\s*([\d.]+)%\s+\[(.)\]\s+(.*?)\s*$/);
    if (!m) continue;
    rows.push(
      children
        ? { total: Number(m[1]), self: Number(m[2]), kind: m[3], sym: m[4] }
        : { self: Number(m[1]), kind: m[2], sym: m[3] },
    );
  }
  return rows;
}

const WASM_CODE = /^JS:.*-\d+-(liftoff|turbofan)$/;

/** The category of a sampled symbol. */
export function category(kind, sym) {
  if (kind === "k") return "kernel (syscalls, TCP loopback)";
  if (/^JS:(wasm-to-js|js-to-wasm)|^Builtins_(Wasm|JSToWasm|GenericJSToWasm|JSToJSWrapper)/.test(sym))
    return "wasm<->JS boundary (V8 wrappers)";
  // Split by V8's tier: Liftoff code runs until V8 recompiles a hot function with TurboFan.
  const tier = sym.match(WASM_CODE)?.[1];
  if (tier === "liftoff") return "wasm code (our Rust), baseline tier (Liftoff)";
  if (tier === "turbofan") return "wasm code (our Rust), optimised (TurboFan)";
  if (/^JS:/.test(sym) || /^Builtins_|^Runtime_/.test(sym)) return "JS code and V8 builtins";
  if (/v8::internal::(compiler|maglev|wasm|turboshaft)::|Liftoff|TurboFan|Turboshaft|OptimizingCompile|Crankshaft/.test(sym))
    return "V8 JIT compilers (background tier-up)";
  if (/Scaven|MarkCompact|Sweep|Marking|Evacuat|cppgc|CppHeap|Heap::|GCTracer|MinorMS|ConcurrentMark|HeapTracer|GlobalHandles|TracedHandles|ExternalEntityTable/.test(sym))
    return "GC and handles";
  if (/^v8::|^void v8::|v8::internal/.test(sym)) return "V8 runtime (other)";
  if (/workerd::/.test(sym)) return "workerd API and jsg bindings";
  if (/^kj::|capnp::|^non-virtual thunk to kj::/.test(sym)) return "KJ event loop, HTTP, capnp";
  if (/tcmalloc|^operator new|^operator delete|TCMalloc/.test(sym)) return "allocator";
  return "libc and other";
}

/**
 * Reads a perf.data into { categories: {name: pct}, topSelf, glue, wasm, js: [...] }.
 * Percentages are of all samples of the process in the window.
 */
export function summarize(file, { glueFile = "index.js" } = {}) {
  const self = perfReport(file, false);
  const categories = {};
  for (const r of self) {
    const c = category(r.kind, r.sym);
    categories[c] = (categories[c] ?? 0) + r.self;
  }
  const children = perfReport(file, true);
  // "JS:+'__wbg_fetch_89.. index.js:1:10977" -> "__wbg_fetch_89.."; the tier marker (~ ^ + *) and
  // the quote V8 adds to property-named functions are dropped, so tiers of one function merge.
  const short = (s) =>
    s
      .replace(/^JS:/, "")
      .replace(/\s+\S+:\d+:\d+$/, "")
      .replace(/^[~^+*]'?/, "");
  const merge = (rows, fields) => {
    const m = new Map();
    for (const r of rows) {
      const cur = m.get(r.sym);
      if (!cur) m.set(r.sym, { ...r });
      else for (const f of fields) cur[f] += r[f];
    }
    return [...m.values()].sort((a, b) => b[fields[0]] - a[fields[0]]);
  };
  // JS functions of the wasm-bindgen glue (index.js), by inclusive time: what each crossing costs,
  // including the runtime call it makes (fetch, Headers, Response, TextDecoder ...).
  const glue = merge(
    children
      .filter((r) => r.sym.startsWith("JS:") && r.sym.includes(` ${glueFile}:`))
      .map((r) => ({ total: r.total, self: r.self, sym: short(r.sym) })),
    ["total", "self"],
  );
  const wasm = merge(
    self.filter((r) => WASM_CODE.test(r.sym)).map((r) => ({ self: r.self, sym: short(r.sym).replace(/-\d+-(liftoff|turbofan)$/, "") })),
    ["self"],
  );
  const js = merge(
    self.filter((r) => r.sym.startsWith("JS:") && !WASM_CODE.test(r.sym) && !/^JS:(wasm-to-js|js-to-wasm)/.test(r.sym))
      .map((r) => ({ self: r.self, sym: `${short(r.sym)} (${(r.sym.match(/\s(\S+):\d+:\d+$/) ?? [, "builtin"])[1]})` })),
    ["self"],
  );
  const topSelf = self.slice(0, 25).map((r) => ({ self: r.self, kind: r.kind, sym: short(r.sym).slice(0, 110) }));
  return { categories, glue, wasm, js, topSelf };
}

// ------------------------------------------------------------------------------------------------
// Cold start: system-wide sampling while fresh workerd processes start, attributed by pid.
// ------------------------------------------------------------------------------------------------

/** Starts `perf record -a` (all CPUs, leaf samples only); returns stop(). */
export function perfRecordAll(out, { freq = 4999 } = {}) {
  const proc = spawn("perf", ["record", "-a", "-F", String(freq), "-o", out], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr.on("data", (d) => (err += d));
  const exited = new Promise((r) => proc.once("exit", (code) => r(code)));
  return {
    freq,
    ready: new Promise((r) => setTimeout(r, 1000)),
    async stop() {
      proc.kill("SIGINT");
      const code = await exited;
      if (code !== 0 && !/Captured and wrote/.test(err)) throw new Error(`perf record -a failed (${code}): ${err}`);
    },
  };
}

/** What a starting workerd spends its CPU on. */
export function coldCategory(ip, sym) {
  if (/^f{6}/.test(ip)) return "kernel (exec, mmap, page faults, sockets)";
  if (/wasm::|WasmFullDecoder|Liftoff|NativeModule|WasmModule|WasmEngine|Wasm[A-Z]/.test(sym)) return "wasm decode + compile (V8)";
  if (/Parser|Scanner|Preparse|Compiler::|Bytecode|Interpreter|Maglev|compiler::|ScopeInfo|AstValue/.test(sym)) return "JS parse + compile (V8)";
  if (/X509|OPENSSL|base64_decode|PEM_|ASN1|asn1|BIO_|SSL_CTX|CRYPTO_BUFFER/.test(sym)) return "TLS trust store load (BoringSSL)";
  if (/^v8::|v8::internal|Builtins_|Runtime_|cppgc/.test(sym)) return "V8 other (heap, builtins, module evaluation)";
  if (/workerd::|jsg::|kj::|capnp::/.test(sym)) return "workerd, KJ, capnp (config, server, I/O)";
  if (/tcmalloc|TCMalloc/.test(sym)) return "allocator";
  if (sym === "[unknown]") return "JIT code and unknown";
  return "libc, loader and other";
}

/** CPU ms per process by category, for the processes of each key: { key: { category: ms } }. */
export function coldSummary(file, pidsByKey, freq) {
  const r = spawnSync("perf", ["script", "-i", file, "-F", "pid,tid,ip,sym", "-G"], { encoding: "utf8", maxBuffer: 1024 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`perf script failed: ${r.stderr}`);
  const owner = new Map();
  for (const [k, pids] of Object.entries(pidsByKey)) for (const p of pids) owner.set(String(p), k);
  const out = {};
  for (const line of r.stdout.split("\n")) {
    const m = line.match(/^\s*(\d+)\/(\d+)\s+([0-9a-f]+)\s+(.*?)\s*$/);
    if (!m) continue;
    const k = owner.get(m[1]);
    if (!k) continue;
    const c = coldCategory(m[3], m[4]);
    const per = 1000 / freq / pidsByKey[k].length; // ms per sample, averaged over the processes
    (out[k] ??= {})[c] = (out[k][c] ?? 0) + per;
  }
  return out;
}
