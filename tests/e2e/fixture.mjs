// The one e2e suite fixture (not a test file: test files end in `.test.mjs`).
//
// Every e2e test file calls `suite(options)` once, at the top level. It registers node:test hooks
// in that file:
//   before     — starts tim-emulator, then the file's extra services (e.g. a JWKS server, or
//                `wrangler dev`), then the built Worker(s) on workerd through Miniflare;
//   beforeEach — resets the emulator (accounts, call log, faults), unless `reset: false`;
//   after      — disposes every Worker (also those started by a test), closes the services in
//                reverse order and stops the emulator, even when `before` failed half-way.
// It returns the fixture object `s`, whose fields are filled in by `before` (read them inside tests
// and hooks, never at module load):
//
//   const s = suite();                                   // emulator + one Worker, fullBindings()
//   test("…", async () => {
//     const res = await s.deliver(body, svixHeaders(body));
//     assert.deepEqual(await s.accounts(), [...]);
//   });
//
// Options (all optional):
//   emulator: { args, sdkappid, secretKey, admin } | () => { … }
//       Extra command-line `args` for tim-emulator (e.g. ["--account-cap", "1"]) and the
//       credentials it accepts (default: this run's SDKAPPID, TIM_KEY, ADMIN; `admin: null`
//       passes no --admin, leaving the emulator's default). A function is called in `before`,
//       for options that need work a test file should not do at load time.
//   services: { name: async (s) => service | null }
//       Started in this order after the emulator and before any Worker, so a Worker's bindings can
//       point at them. Each result is `s[name]`; its `close()` (if any) runs at teardown. A start
//       function that fails must clean up what it started itself (it has no close() yet).
//   bindings: (s) => bindings
//       The base bindings of every Worker of the suite (default: `fullBindings(s.emulator)`).
//   workers: { name: overrides | (s) => bindings }
//       The Workers to start (default `{ main: {} }`; `{}` starts none). An object is merged over
//       the base bindings (`undefined` removes a binding); a function returns the complete
//       bindings. Each is `s.workers[name]`; `s.worker` is `s.workers.main`, else the first one.
//   reset: boolean
//       Reset the emulator before each test (default true).
//   miniflare: (s) => options | options
//       Extra Miniflare options for every Worker of the suite, merged over the Worker's own (e.g.
//       queueProducers, queueConsumers, d1Databases for queue mode). A `workers` list in them adds
//       more Workers to the same Miniflare instance (e.g. the target of a wrappedBindings entry);
//       the suite's Worker is then the first, named "main" unless `name` is given. Without this
//       option Workers start exactly as before (helpers.mjs startWorker).
//
// The fixture object:
//   s.emulator, s.worker, s.workers.<name>, s.<service name>
//   s.url                          the main Worker's origin on 127.0.0.1 (Miniflare listens there)
//   s.request(path, init)          dispatches to the main Worker (path relative to its origin)
//   s.deliver(body, headers)       POST /webhooks/clerk;  s.deliverTo(provider, body, headers)
//   s.deliverSigned(event, opts)   serialises and delivers a Clerk event signed with svix
//   s.accounts(), s.accountsFor(userId), s.calls(), s.callTotal(), s.faults(config), s.reset()
//   s.waitForAccounts(userIds, deadlineMs)
//                                  polls until each UserID has an account or the deadline passed:
//                                  { accounts, missing, ms }
//   s.waitForQuiet(quietMs, deadlineMs)
//                                  waits until the emulator has seen no call for quietMs
//   s.logs                         the main Worker's captured workerd output (chunks of text)
//   s.emulatorLogs                 the emulator's captured stdout and stderr (chunks of text)
//   s.bindings(overrides)          the base bindings with `overrides`, as `workers` entries take
//   s.startWorker(overrides | fn, miniflare)
//                                  one more Worker, disposed at teardown (or earlier by dispose());
//                                  `miniflare`: extra Miniflare options merged over the suite's
//   s.observed()                   everything the leak check has recorded in this test process
//   s.assertNoLeaks(extraSecrets)  the leak check over s.observed()

import { readdirSync, readFileSync } from "node:fs";
import { after, before, beforeEach } from "node:test";
import { Miniflare } from "miniflare";
import {
  assertNoLeaks,
  COMPATIBILITY_DATE,
  deliverSigned,
  fullBindings,
  observe,
  observedTexts,
  requireArtifacts,
  ROOT,
  sleep,
  startEmulator,
  startWorker,
  withTimeout,
  Worker,
  WORKER_JS,
  WORKER_WASM,
} from "./helpers.mjs";

/** Names of the fixture's own fields, which a service may not take. */
const RESERVED = new Set([
  "emulator", "worker", "workers", "url", "request", "deliver", "deliverTo", "deliverSigned",
  "accounts", "accountsFor", "calls", "callTotal", "faults", "reset", "logs", "emulatorLogs",
  "bindings", "startWorker", "observed", "assertNoLeaks",
]);

/** `base` with `overrides` merged over it; an `undefined` value removes the binding. */
function merge(base, overrides = {}) {
  const b = { ...base, ...overrides };
  for (const [k, v] of Object.entries(b)) if (v === undefined) delete b[k];
  return b;
}

/**
 * Starts the built Worker with `bindings` like helpers.mjs `startWorker`, plus `extra` Miniflare
 * options merged over the Worker's own (queueProducers, queueConsumers, d1Databases, ...). A
 * `workers` list in `extra` adds Workers to the same instance; the built Worker is then the
 * first, named `extra.name` or "main".
 */
async function startWorkerWith(bindings, extra = {}) {
  requireArtifacts();
  const logs = [];
  const { workers: others = [], ...own } = extra;
  const worker = {
    modules: [
      { type: "ESModule", path: WORKER_JS },
      { type: "CompiledWasm", path: WORKER_WASM },
    ],
    modulesRoot: `${ROOT}build`,
    compatibilityDate: COMPATIBILITY_DATE,
    bindings,
    ...own,
  };
  // Capture workerd's output (the Worker's console.log) for the leak check instead of printing it.
  const handleRuntimeStdio = (stdout, stderr) => {
    for (const [name, stream] of [["stdout", stdout], ["stderr", stderr]]) {
      stream.setEncoding("utf8");
      stream.on("data", (d) => {
        logs.push(d);
        observe(`workerd ${name}`, d);
      });
    }
  };
  const mf = new Miniflare(
    others.length === 0
      ? { ...worker, handleRuntimeStdio }
      : { workers: [{ name: "main", ...worker }, ...others], handleRuntimeStdio },
  );
  const url = await withTimeout(mf.ready, 30_000, "Miniflare to start workerd");
  return new Worker(mf, logs, url.origin, bindings?.TIM_ADMIN_TOKEN);
}

/**
 * `b` merged over `a` one level deep (option objects such as queueProducers are merged, not
 * replaced); an `undefined` value removes the option, or the entry of an option object.
 */
function mergeOptions(a = {}, b = {}) {
  const isMap = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) {
      delete out[k];
    } else if (isMap(out[k]) && isMap(v)) {
      out[k] = merge(out[k], v);
    } else {
      out[k] = v;
    }
  }
  return out;
}

/** The job queue and the dead-letter queue, as wrangler.toml names them. */
export const JOB_QUEUE = "tim-onboard-jobs";
export const DEAD_LETTER_QUEUE = "tim-onboard-dlq";

/** Miniflare options of a Worker in queue mode: wrangler.toml's queue and D1 tables. */
export const QUEUE_MODE = {
  queueProducers: { TIM_QUEUE: JOB_QUEUE },
  queueConsumers: {
    [JOB_QUEUE]: { maxBatchSize: 100, maxBatchTimeout: 1, maxRetries: 10, deadLetterQueue: DEAD_LETTER_QUEUE },
    [DEAD_LETTER_QUEUE]: { maxBatchSize: 100, maxBatchTimeout: 1 },
  },
  d1Databases: ["DB"],
};

/**
 * Applies every migration in migrations/ (in name order, as `wrangler d1 migrations apply` does)
 * to the D1 binding DB of `worker` (of its Miniflare Worker `workerName`, when it has several).
 */
export async function applyMigrations(worker, workerName) {
  const db = await worker.mf.getD1Database("DB", workerName);
  const files = readdirSync(`${ROOT}migrations`).filter((f) => f.endsWith(".sql")).sort();
  for (const file of files) {
    const sql = readFileSync(`${ROOT}migrations/${file}`, "utf8").replace(/--.*$/gm, "");
    for (const st of sql.split(";").map((x) => x.trim()).filter(Boolean)) await db.prepare(st).run();
  }
}

/**
 * Registers the suite's hooks in the calling test file and returns its fixture object (see the
 * top of this file).
 */
export function suite({
  emulator: emulatorOptions = {},
  services = {},
  bindings = (s) => fullBindings(s.emulator),
  workers = { main: {} },
  reset = true,
  miniflare,
} = {}) {
  for (const name of Object.keys(services)) {
    if (RESERVED.has(name)) throw new Error(`test bug: service name ${name} is taken by the fixture`);
  }

  const started = []; // every Worker, in start order, for the teardown
  const stoppable = []; // services with close(), in start order
  let mainName;

  const s = {
    emulator: undefined,
    workers: {},

    get worker() {
      return mainName === undefined ? undefined : s.workers[mainName];
    },
    get url() {
      return s.worker?.url;
    },
    get logs() {
      return s.worker?.logs;
    },
    get emulatorLogs() {
      return s.emulator?.logs;
    },

    // The main Worker.
    request: (path, init) => mainWorker().request(path, init),
    deliver: (body, headers) => mainWorker().deliver(body, headers),
    deliverTo: (provider, body, headers) => mainWorker().deliverTo(provider, body, headers),
    deliverSigned: (event, opts) => deliverSigned(mainWorker(), event, opts),

    // The emulator.
    accounts: () => s.emulator.accounts(),
    accountsFor: (userId) => s.emulator.accountsFor(userId),
    calls: () => s.emulator.calls(),
    callTotal: () => s.emulator.callTotal(),
    faults: (config) => s.emulator.faults(config),
    reset: () => s.emulator.reset(),

    async waitForAccounts(expected, deadlineMs) {
      const t0 = Date.now();
      for (;;) {
        const accounts = await s.accounts();
        const have = new Set(accounts.map((a) => a.UserID));
        const missing = expected.filter((u) => !have.has(u));
        if (missing.length === 0 || Date.now() - t0 > deadlineMs) return { accounts, missing, ms: Date.now() - t0 };
        await sleep(500);
      }
    },

    async waitForQuiet(quietMs, deadlineMs) {
      const t0 = Date.now();
      let last = await s.callTotal();
      let since = Date.now();
      while (Date.now() - since < quietMs && Date.now() - t0 < deadlineMs) {
        await sleep(250);
        const now = await s.callTotal();
        if (now !== last) [last, since] = [now, Date.now()];
      }
    },

    bindings: (overrides) => merge(bindings(s), overrides),

    async startWorker(spec = {}, extra) {
      const bindings = typeof spec === "function" ? spec(s) : s.bindings(spec);
      const worker =
        miniflare === undefined && extra === undefined
          ? await startWorker(bindings)
          : await startWorkerWith(
              bindings,
              mergeOptions(typeof miniflare === "function" ? miniflare(s) : miniflare, extra),
            );
      started.push(worker);
      return worker;
    },

    observed: () => observedTexts(),
    assertNoLeaks: (extraSecrets = []) => assertNoLeaks(observedTexts(), extraSecrets),
  };

  function mainWorker() {
    if (!s.worker) throw new Error("test bug: this suite starts no Worker (options.workers)");
    return s.worker;
  }

  before(async () => {
    requireArtifacts();
    const { args = [], ...credentials } =
      (typeof emulatorOptions === "function" ? await emulatorOptions() : emulatorOptions) ?? {};
    s.emulator = await startEmulator(args, credentials);
    for (const [name, start] of Object.entries(services)) {
      const service = await start(s);
      s[name] = service;
      if (typeof service?.close === "function") stoppable.push(service);
    }
    const names = Object.keys(workers);
    mainName = names.includes("main") ? "main" : names[0];
    for (const [name, spec] of Object.entries(workers)) {
      s.workers[name] = await s.startWorker(spec);
    }
  });

  after(async () => {
    const errors = [];
    const attempt = async (what) => {
      try {
        await what();
      } catch (e) {
        errors.push(e);
      }
    };
    for (const w of started.reverse()) await attempt(() => w.dispose());
    for (const service of stoppable.reverse()) await attempt(() => service.close());
    if (s.emulator) await attempt(() => s.emulator.stop());
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, "suite teardown failed");
  });

  if (reset) {
    beforeEach(async () => {
      await s.emulator.reset();
    });
  }

  return s;
}
