// Shared code of the end-to-end suite (not a test file: test files end in `.test.mjs`).
//
// Every test runs the built Worker (build/index.js + build/index_bg.wasm) on real workerd through
// Miniflare, pointed at a freshly spawned tim-emulator with TIM_BASE_URL. Test files get both from
// the one suite fixture, `suite()` in fixture.mjs, which is built from the pieces here. Deliveries are signed only
// with the official `svix` and `standardwebhooks` libraries, never with the Worker's own code.
//
// Run from the repository root: node --test --test-concurrency=1 tests/e2e/

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";
import { Webhook as SvixWebhook } from "svix";
import { Webhook as StandardWebhook } from "standardwebhooks";

/** Repository root (tests/e2e/../..), with a trailing slash. */
export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const WORKER_JS = `${ROOT}build/index.js`;
export const WORKER_WASM = `${ROOT}build/index_bg.wasm`;
export const EMULATOR_BIN = `${ROOT}target/release/tim-emulator`;
export const FIXTURE = `${ROOT}tests/fixtures/clerk_user_created.json`;
export const COMPATIBILITY_DATE = "2026-04-20";

// Credentials fresh for every run, so a leak check cannot pass by luck and nothing real is used.
// The SDKAppID and admin differ from the emulator's and the Worker's defaults, so a Worker that
// ignored TIM_SDKAPPID or TIM_ADMIN would be refused by the emulator.
export const SDKAPPID = "1400054321";
export const ADMIN = "e2e_admin";
export const TIM_KEY = randomBytes(32).toString("hex");
export const WEBHOOK_SECRET = `whsec_${randomBytes(24).toString("base64")}`;
/** A well-formed signing secret that is not the Worker's. */
export const OTHER_WEBHOOK_SECRET = `whsec_${randomBytes(24).toString("base64")}`;

/** Generous per-test limit: the slowest scenario (a 5 s upstream stall plus retries) takes ~5 s. */
export const TEST_TIMEOUT_MS = 30_000;

/** Fails (does not skip) when the artifacts under test have not been built. */
export function requireArtifacts() {
  const missing = [WORKER_JS, WORKER_WASM, EMULATOR_BIN, FIXTURE].filter((p) => !existsSync(p));
  if (missing.length > 0) {
    throw new Error(
      `e2e prerequisites missing: ${missing.map((p) => p.slice(ROOT.length)).join(", ")}.\n` +
        "Build them first from the repository root: `make build` (the Worker, into build/) and " +
        "`cargo build -p tim-emulator --release` (the emulator), or simply `make test`.",
    );
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Races a promise against a timer so that a hang fails with a message instead of blocking. */
export async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** True when `promise` settles within `ms` (without leaving a timer behind), else false. */
export async function settlesWithin(promise, ms) {
  try {
    await withTimeout(promise, ms, "settle");
    return true;
  } catch {
    return false;
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Leak tracking: every response body, Worker log line and emulator output line is kept here, and
// `assertNoLeaks` checks that none carries a secret or an admin UserSig.
// ---------------------------------------------------------------------------------------------

const observed = [];

/** Records text seen by the suite (response bodies, logs) for the leak check. */
export function observe(source, text) {
  observed.push({ source, text: String(text) });
}

/** Everything recorded so far. */
export function observedTexts() {
  return observed.slice();
}

const registeredSecrets = [];

/**
 * Adds strings (e.g. another provider's signing secret) to the leak check of this test process.
 * For a `whsec_…` secret the bare base64 key is registered as well.
 */
export function hideSecrets(...values) {
  for (const v of values.flat()) {
    if (typeof v !== "string" || v.length < 8) continue;
    registeredSecrets.push(v);
    if (v.startsWith("whsec_")) registeredSecrets.push(v.slice("whsec_".length));
  }
}

/** Strings that must never appear in any response body or log. */
export function secretsToHide() {
  return [
    TIM_KEY,
    WEBHOOK_SECRET,
    WEBHOOK_SECRET.slice("whsec_".length),
    OTHER_WEBHOOK_SECRET.slice("whsec_".length),
    ...registeredSecrets,
  ];
}

// A Tencent UserSig is zlib-compressed JSON in Tencent's base64url variant ('+*', '/-', '=_'):
// zlib's header makes it start with "eJ", and it is far longer than 40 characters.
const USERSIG_SHAPE = /eJ[A-Za-z0-9*_-]{40,}/;

/** Asserts that no recorded text contains a secret, a `usersig=` parameter or a UserSig-shaped token. */
export function assertNoLeaks(entries = observed, extraSecrets = []) {
  assert.ok(entries.length > 0, "the leak check saw nothing; it would pass vacuously");
  for (const { source, text } of entries) {
    for (const s of [...secretsToHide(), ...extraSecrets]) {
      assert.ok(!text.includes(s), `${source} contains a secret: ${text.slice(0, 300)}`);
    }
    assert.ok(!/usersig=/i.test(text), `${source} contains a usersig parameter: ${text.slice(0, 300)}`);
    assert.ok(!USERSIG_SHAPE.test(text), `${source} contains a UserSig-shaped token: ${text.slice(0, 300)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// The emulator
// ---------------------------------------------------------------------------------------------

/** A running tim-emulator and its control API. */
export class Emulator {
  constructor(proc, url, logs = []) {
    this.proc = proc;
    this.url = url;
    this.port = Number(new URL(url).port);
    /** The process's stdout and stderr, chunk by chunk, as far as `startEmulator` captured them. */
    this.logs = logs;
  }

  async #control(method, path, body) {
    const res = await withTimeout(
      fetch(`${this.url}${path}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
      10_000,
      `emulator ${method} ${path}`,
    );
    const text = await res.text();
    observe(`emulator ${method} ${path}`, text);
    assert.equal(res.status, 200, `emulator ${method} ${path} answered ${res.status}: ${text}`);
    return JSON.parse(text);
  }

  /** `[{UserID, Nick, FaceUrl, imports}]` in insertion order. */
  /** SIGKILL, like a crash (no graceful close), then waits for the exit; once is enough. */
  async crash() {
    const proc = this.proc;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGKILL");
    await exited;
  }

  async accounts() {
    return (await this.#control("GET", "/_emulator/accounts")).accounts;
  }

  /** All accounts with this UserID (a correct system has at most one). */
  async accountsFor(userId) {
    return (await this.accounts()).filter((a) => a.UserID === userId);
  }

  /** `{total, calls: [{user_id, error_code, http_status, fault}]}`. */
  async calls() {
    return this.#control("GET", "/_emulator/calls");
  }

  async callTotal() {
    return (await this.calls()).total;
  }

  /** Replaces the fault configuration (see `POST /_emulator/faults`). */
  async faults(config) {
    return this.#control("POST", "/_emulator/faults", config);
  }

  /** Clears accounts, call log and faults. */
  async reset() {
    await this.#control("POST", "/_emulator/reset");
    const { total } = await this.calls();
    assert.equal(total, 0, "emulator reset left calls behind");
  }

  /** Terminates the process and waits for it to exit. */
  async stop() {
    const proc = this.proc;
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGTERM");
    if (!(await settlesWithin(exited, 5_000))) {
      proc.kill("SIGKILL");
      await exited;
    }
  }
}

/**
 * Spawns tim-emulator on a free port (`--listen 127.0.0.1:0`) with this run's SDKAppID, key and
 * admin (or the given ones; `admin: null` passes no --admin) plus `extraArgs`, and reads the port
 * from its one stdout line. Its stdout and stderr are kept in `emulator.logs` and the leak check.
 */
export async function startEmulator(
  extraArgs = [],
  { sdkappid = SDKAPPID, secretKey = TIM_KEY, admin = ADMIN, port = 0 } = {},
) {
  requireArtifacts();
  const args = ["--listen", `127.0.0.1:${port}`, "--sdkappid", sdkappid, "--secret-key", secretKey];
  if (admin !== null) args.push("--admin", admin);
  // A fixed port (an emulator restarted where the Workers expect it) may still be held for a
  // moment by the one it replaces: try again for up to 5 s.
  let lastError;
  for (let attempt = 0; attempt < (port === 0 ? 1 : 20); attempt++) {
    const proc = spawn(EMULATOR_BIN, [...args, ...extraArgs], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    const logs = [];
    proc.stdout.setEncoding("utf8");
    proc.stderr.setEncoding("utf8");
    proc.stderr.on("data", (d) => {
      logs.push(d);
      observe("emulator stderr", d);
    });
    try {
      const url = await withTimeout(
        new Promise((resolve, reject) => {
          proc.on("error", reject);
          proc.on("exit", (code, signal) =>
            reject(new Error(`tim-emulator exited early (code ${code}, signal ${signal}): ${logs.join("")}`)),
          );
          proc.stdout.on("data", (d) => {
            stdout += d;
            logs.push(d);
            observe("emulator stdout", d);
            const m = stdout.match(/^tim-emulator listening on (http:\/\/127\.0\.0\.1:(\d+))\n/m);
            if (m) resolve(m[1]);
          });
        }),
        10_000,
        "tim-emulator to print its listening line",
      );
      const emulator = new Emulator(proc, url, logs);
      assert.ok(emulator.port > 0, `bad emulator port in ${JSON.stringify(stdout)}`);
      return emulator;
    } catch (e) {
      lastError = e;
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      if (port !== 0) await sleep(250);
    }
  }
  throw lastError;
}

// ---------------------------------------------------------------------------------------------
// The Worker on workerd (Miniflare)
// ---------------------------------------------------------------------------------------------

/** The full, valid configuration for a Worker talking to `emulator`. */
export function fullBindings(emulator, overrides = {}) {
  const b = {
    TIM_SDKAPPID: SDKAPPID,
    TIM_SECRET_KEY: TIM_KEY,
    CLERK_WEBHOOK_SECRET: WEBHOOK_SECRET,
    TIM_ADMIN: ADMIN,
    TIM_REGION: "auto",
    TIM_USERSIG_TTL: "86400",
    TIM_BASE_URL: emulator.url,
    ...overrides,
  };
  // `undefined` in overrides removes a binding entirely.
  for (const [k, v] of Object.entries(b)) if (v === undefined) delete b[k];
  return b;
}

/** A parsed response: status, headers, raw text and JSON (or null). */
async function readResponse(res, what) {
  const text = await res.text();
  observe(`response to ${what}`, text);
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // Left null: tests that expect JSON assert on it.
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** The built Worker running on workerd with `bindings`. */
export class Worker {
  #disposed;

  constructor(mf, logs, url, adminToken) {
    this.mf = mf;
    /** Its TIM_ADMIN_TOKEN binding, if any: `health()` presents it to see the detail. */
    this.adminToken = adminToken;
    /** workerd's stdout and stderr (the Worker's console output), chunk by chunk. */
    this.logs = logs;
    /** The Worker's origin on 127.0.0.1 (Miniflare's own listener), e.g. for a child process. */
    this.url = url;
  }

  /** Dispatches a request to the Worker; `path` is relative to http://worker.test. */
  async request(path, init = {}) {
    const what = `${init.method ?? "GET"} ${path}`;
    const res = await withTimeout(this.mf.dispatchFetch(`http://worker.test${path}`, init), 25_000, what);
    return readResponse(res, what);
  }

  /**
   * GET /health as the operator: with the Worker's admin token, so the answer has the detail
   * (the public answer is `{"ready"}` only).
   */
  async health() {
    if (!this.adminToken) throw new Error("test bug: /health detail needs a TIM_ADMIN_TOKEN binding");
    return this.request("/health", { headers: { authorization: `Bearer ${this.adminToken}` } });
  }

  /** POSTs `body` (a string) to /webhooks/clerk with `headers`. */
  async deliver(body, headers) {
    return this.deliverTo("clerk", body, headers);
  }

  /**
   * POSTs `body` (a string) to /webhooks/<provider> with `headers` (content-type defaults to
   * application/json; pass another `content-type` in `headers` to replace it).
   */
  async deliverTo(provider, body, headers = {}) {
    const hasType = Object.keys(headers).some((h) => h.toLowerCase() === "content-type");
    return this.request(`/webhooks/${provider}`, {
      method: "POST",
      headers: hasType ? headers : { "content-type": "application/json", ...headers },
      body,
    });
  }

  /** Stops workerd; a second call does nothing. */
  async dispose() {
    this.#disposed ??= this.mf.dispose();
    await this.#disposed;
  }
}

/** Starts the built Worker on workerd with these bindings (all strings); `dir` picks another
 * build than build/ (the single-provider builds of `make size` in target/sizes/<provider>). */
export async function startWorker(bindings, { dir = `${ROOT}build` } = {}) {
  requireArtifacts();
  const logs = [];
  const mf = new Miniflare({
    modules: [
      { type: "ESModule", path: `${dir}/index.js` },
      { type: "CompiledWasm", path: `${dir}/index_bg.wasm` },
    ],
    modulesRoot: dir,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings,
    // Capture workerd's output (the Worker's console.log) for the leak check instead of printing it.
    handleRuntimeStdio(stdout, stderr) {
      for (const [name, stream] of [["stdout", stdout], ["stderr", stderr]]) {
        stream.setEncoding("utf8");
        stream.on("data", (d) => {
          logs.push(d);
          observe(`workerd ${name}`, d);
        });
      }
    },
  });
  const url = await withTimeout(mf.ready, 30_000, "Miniflare to start workerd");
  return new Worker(mf, logs, url.origin, bindings?.TIM_ADMIN_TOKEN);
}

// ---------------------------------------------------------------------------------------------
// Deliveries, signed only by the official libraries
// ---------------------------------------------------------------------------------------------

/** Clerk's documented `user.created` event, deep-copied. */
export function clerkFixture() {
  return JSON.parse(readFileSync(FIXTURE, "utf8"));
}

/** The documented event with `data` fields overridden and optionally another `type`. */
export function clerkEvent({ type = "user.created", data = {} } = {}) {
  const event = clerkFixture();
  event.type = type;
  Object.assign(event.data, data);
  return event;
}

/** A fresh Clerk-style user id, at most 32 bytes. */
export function newUserId(tag = "e2e") {
  const id = `user_${tag}_${randomBytes(6).toString("hex")}`;
  assert.ok(Buffer.byteLength(id) <= 32, `test bug: ${id} is over 32 bytes`);
  return id;
}

export function newMsgId() {
  return `msg_${randomBytes(12).toString("hex")}`;
}

const unixSeconds = (date) => String(Math.floor(date.getTime() / 1000));

/** svix-* headers for `body`, signed by the official `svix` library. */
export function svixHeaders(body, { secret = WEBHOOK_SECRET, msgId = newMsgId(), date = new Date() } = {}) {
  return {
    "svix-id": msgId,
    "svix-timestamp": unixSeconds(date),
    "svix-signature": new SvixWebhook(secret).sign(msgId, date, body),
  };
}

/** webhook-* headers for `body`, signed by the official `standardwebhooks` library. */
export function standardHeaders(body, { secret = WEBHOOK_SECRET, msgId = newMsgId(), date = new Date() } = {}) {
  return {
    "webhook-id": msgId,
    "webhook-timestamp": unixSeconds(date),
    "webhook-signature": new StandardWebhook(secret).sign(msgId, date, body),
  };
}

/** Serialises `event` and delivers it with svix-* headers. */
export async function deliverSigned(worker, event, opts) {
  const body = typeof event === "string" ? event : JSON.stringify(event);
  return worker.deliver(body, svixHeaders(body, opts));
}

/** Asserts an error response: status, `error` code, JSON content type. */
export function assertError(res, status, code) {
  assert.equal(res.status, status, `expected ${status} ${code}, got ${res.status}: ${res.text}`);
  assert.ok(res.json, `error body is not JSON: ${res.text}`);
  assert.equal(res.json.error, code, `wrong error code in ${res.text}`);
  assert.equal(typeof res.json.message, "string", `no message in ${res.text}`);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
}

/** Asserts a Retry-After header holding a positive number of seconds; returns it. */
export function assertRetryAfter(res, expected) {
  const v = res.headers.get("retry-after");
  assert.ok(v !== null, `no Retry-After on ${res.status}: ${res.text}`);
  assert.match(v, /^[1-9][0-9]*$/, `Retry-After is not a positive integer: ${v}`);
  if (expected !== undefined) assert.equal(Number(v), expected, `Retry-After ${v}, expected ${expected}`);
  return Number(v);
}

/** Waits until the wall clock is just past a second boundary, so a few ms of work stay in one second. */
export async function alignToSecond() {
  const ms = Date.now() % 1000;
  if (ms > 50) await sleep(1000 - ms + 5);
}

/** Starts `server` (a node:http server) on a free port of 127.0.0.1; resolves to its origin. */
export async function listenLocal(server) {
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return `http://127.0.0.1:${server.address().port}`;
}

export { assert, sleep };
