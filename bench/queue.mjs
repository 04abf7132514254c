#!/usr/bin/env node
// The queue-mode scenario (issue 9), not part of `make bench`: N signups in one burst through the
// Worker in queue mode, against a faulty upstream. Prints a small markdown table: time until every
// signup is imported, Tencent calls used (against the ideal N/100 batch calls), rate-limit breaches,
// and the webhook latency the senders saw while Tencent was failing.
//
//   node bench/queue.mjs [--n 10000] [--concurrency 64] [--faults mix|none] [--seed 9]
//                        [--deadline 600] [--json]
//
// It runs the built Worker (build/index.js + build/index_bg.wasm) on workerd through Miniflare,
// with Miniflare's LOCAL Queues and D1 (max_batch_size 100, max_batch_timeout 1 s, max_retries 10,
// a dead-letter queue, as in wrangler.toml): Cloudflare's Queues batch, deliver and scale
// consumers differently, so the time to import is this machine's and Miniflare's, not production's.
// The upstream is one tim-emulator with Tencent's per-API rate limits (100 calls/s batch, 200
// calls/s single) and, with `--faults mix` (default), per call 5% HTTP 502, 5% ErrorCode 70169,
// 5% truncated JSON (the import is done), per batched account 10% FailAccounts, and slow first
// calls. Deliveries are Clerk's documented user.created, signed beforehand (standardwebhooks, the
// scheme Svix uses) and sent over keep-alive HTTP to workerd at a fixed concurrency.
//
// Prerequisites: `make build`, `cargo build -p tim-emulator --release`, `npm ci`.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import { drive, quantile, signedDeliveries } from "./lib/load.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values: opt } = parseArgs({
  args: process.argv.slice(2),
  options: {
    n: { type: "string", default: "10000" },
    concurrency: { type: "string", default: "64" },
    faults: { type: "string", default: "mix" },
    seed: { type: "string", default: "9" },
    deadline: { type: "string", default: "600" },
    json: { type: "boolean", default: false },
  },
});
const N = Number(opt.n);
const CONCURRENCY = Number(opt.concurrency);
const DEADLINE_MS = Number(opt.deadline) * 1000;
if (!Number.isInteger(N) || N < 1) throw new Error("--n must be a positive integer");
if (!Number.isInteger(CONCURRENCY) || CONCURRENCY < 1) throw new Error("--concurrency must be a positive integer");
if (!["mix", "none"].includes(opt.faults)) throw new Error("--faults must be mix or none");

// Throwaway credentials (the demo values of .dev.vars.example).
const SDKAPPID = "1400000000";
const TIM_KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
const ADMIN = "administrator";
const WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ADMIN_TOKEN = randomBytes(18).toString("base64url");
const EMULATOR = join(ROOT, "target/release/tim-emulator");
const FAULTS = {
  mix: {
    script: ["latency:1500", "ok", "latency:700", "502", "70169", "malformed"],
    http502_rate: 0.05,
    codes: { 70169: 0.05 },
    malformed_rate: 0.05,
    fail_accounts_rate: 0.1,
  },
  none: {},
};

const log = (...a) => console.error(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

for (const p of ["build/index.js", "build/index_bg.wasm", "target/release/tim-emulator"]) {
  if (!existsSync(join(ROOT, p))) throw new Error(`missing ${p}: run \`make build\` and \`cargo build -p tim-emulator --release\``);
}

// ------------------------------------------------------------------------------------------------
// The emulator
// ------------------------------------------------------------------------------------------------

async function startEmulator() {
  const proc = spawn(
    EMULATOR,
    ["--listen", "127.0.0.1:0", "--sdkappid", SDKAPPID, "--secret-key", TIM_KEY, "--admin", ADMIN, "--seed", opt.seed],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let out = "";
  proc.stdout.setEncoding("utf8");
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("tim-emulator did not start")), 10_000);
    proc.on("exit", (code) => reject(new Error(`tim-emulator exited (${code})`)));
    proc.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
  const control = async (method, path, body) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    if (res.status !== 200) throw new Error(`emulator ${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  return {
    url,
    control,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
    },
  };
}

// ------------------------------------------------------------------------------------------------
// The Worker in queue mode (Miniflare: local Queues and D1)
// ------------------------------------------------------------------------------------------------

async function startWorker(emulatorUrl, logs) {
  const mf = new Miniflare({
    modules: [
      { type: "ESModule", path: join(ROOT, "build/index.js") },
      { type: "CompiledWasm", path: join(ROOT, "build/index_bg.wasm") },
    ],
    modulesRoot: join(ROOT, "build"),
    compatibilityDate: "2026-04-20",
    bindings: {
      TIM_SDKAPPID: SDKAPPID,
      TIM_SECRET_KEY: TIM_KEY,
      TIM_ADMIN: ADMIN,
      TIM_REGION: "auto",
      TIM_BASE_URL: emulatorUrl,
      CLERK_WEBHOOK_SECRET: WEBHOOK_SECRET,
      TIM_ADMIN_TOKEN: ADMIN_TOKEN,
    },
    queueProducers: { TIM_QUEUE: "tim-onboard-jobs" },
    queueConsumers: {
      "tim-onboard-jobs": { maxBatchSize: 100, maxBatchTimeout: 1, maxRetries: 10, deadLetterQueue: "tim-onboard-dlq" },
      "tim-onboard-dlq": { maxBatchSize: 100, maxBatchTimeout: 1 },
    },
    d1Databases: ["DB"],
    handleRuntimeStdio(stdout, stderr) {
      for (const stream of [stdout, stderr]) {
        stream.setEncoding("utf8");
        stream.on("data", (d) => logs.push(d));
      }
    },
  });
  const url = await mf.ready;
  const db = await mf.getD1Database("DB");
  const sql = readFileSync(join(ROOT, "migrations/0001_dead_letters.sql"), "utf8").replace(/--.*$/gm, "");
  for (const st of sql.split(";").map((x) => x.trim()).filter(Boolean)) await db.prepare(st).run();
  return { mf, url: url.origin };
}

/** The Worker's `"tim":"consumer"` lines, summed. */
function consumerSummary(logs) {
  const sum = { invocations: 0, messages: 0, acked: 0, retried: 0, dead_lettered: 0, maxMs: 0, busyMs: 0 };
  for (const line of logs.join("").split("\n")) {
    const i = line.indexOf("{");
    if (i < 0 || !line.includes('"tim":"consumer"')) continue;
    try {
      const j = JSON.parse(line.slice(i));
      sum.invocations += 1;
      for (const k of ["messages", "acked", "retried", "dead_lettered"]) sum[k] += j[k] ?? 0;
      sum.maxMs = Math.max(sum.maxMs, j.ms ?? 0);
      sum.busyMs += j.ms ?? 0;
    } catch {}
  }
  return sum;
}

// ------------------------------------------------------------------------------------------------
// The run
// ------------------------------------------------------------------------------------------------

async function main() {
  const emulator = await startEmulator();
  const logs = [];
  let worker;
  try {
    worker = await startWorker(emulator.url, logs);
    // Warm up outside the measurement: one signup imported end to end (wasm compiled, UserSig cached).
    const [warm] = signedDeliveries(WEBHOOK_SECRET, `w${randomBytes(2).toString("hex")}`, 1);
    const w = await drive({ baseUrl: worker.url, path: "/webhooks/clerk", deliveries: [warm], concurrency: 1 });
    if (w.failures.length) throw new Error(`warm-up delivery failed: ${JSON.stringify(w.failures[0])}`);
    for (let i = 0; (await emulator.control("GET", "/_emulator/accounts")).accounts.length === 0; i++) {
      if (i > 100) throw new Error("the warm-up signup was never imported");
      await sleep(100);
    }
    await emulator.control("POST", "/_emulator/reset");
    await emulator.control("POST", "/_emulator/faults", FAULTS[opt.faults]);
    logs.length = 0;

    log(`signing ${N} deliveries ...`);
    const tag = randomBytes(2).toString("hex");
    const deliveries = signedDeliveries(WEBHOOK_SECRET, tag, N);
    const want = new Set(deliveries.map((d) => d.userId));

    log(`sending ${N} signups at concurrency ${CONCURRENCY} (faults: ${opt.faults}) ...`);
    const t0 = performance.now();
    const burst = await drive({ baseUrl: worker.url, path: "/webhooks/clerk", deliveries, concurrency: CONCURRENCY });
    const sentMs = performance.now() - t0;
    log(`sent in ${(sentMs / 1000).toFixed(1)} s; waiting for the imports ...`);

    let accounts = [];
    let importedMs = null;
    let lastReport = 0;
    while (performance.now() - t0 < DEADLINE_MS) {
      accounts = (await emulator.control("GET", "/_emulator/accounts")).accounts;
      const have = accounts.filter((a) => want.has(a.UserID)).length;
      if (have === N) {
        importedMs = performance.now() - t0;
        break;
      }
      if (performance.now() - lastReport > 5_000) {
        log(`  ${have}/${N} imported after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        lastReport = performance.now();
      }
      await sleep(250);
    }
    // Let calls in flight (e.g. a batch re-sent after a truncated reply) finish before counting.
    let total = (await emulator.control("GET", "/_emulator/calls")).total;
    for (let quiet = 0; quiet < 8; ) {
      await sleep(250);
      const now = (await emulator.control("GET", "/_emulator/calls")).total;
      quiet = now === total ? quiet + 1 : 0;
      total = now;
    }
    accounts = (await emulator.control("GET", "/_emulator/accounts")).accounts;
    const stats = await emulator.control("GET", "/_emulator/stats");
    const calls = (await emulator.control("GET", "/_emulator/calls")).calls;
    const dl = await fetch(`${worker.url}/admin/dead-letters`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }).then((r) => r.json());

    const ids = new Map();
    for (const a of accounts) ids.set(a.UserID, (ids.get(a.UserID) ?? 0) + 1);
    const r = {
      n: N,
      concurrency: CONCURRENCY,
      faults: opt.faults,
      seed: opt.seed,
      sentS: sentMs / 1000,
      sendRate: N / (sentMs / 1000),
      p50: quantile(burst.latMs, 0.5),
      p99: quantile(burst.latMs, 0.99),
      max: Math.max(...burst.latMs),
      non2xx: burst.failures.length,
      importedS: importedMs === null ? null : importedMs / 1000,
      imported: accounts.filter((a) => want.has(a.UserID)).length,
      duplicates: [...ids.values()].filter((n) => n > 1).length,
      repeatedImports: accounts.reduce((s, a) => s + a.imports, 0) - accounts.length,
      batchCalls: stats.calls.multiaccount_import,
      singleCalls: stats.calls.account_import,
      faultedCalls: calls.filter((c) => c.fault !== null && c.fault !== "ok").length,
      failAccounts: calls.reduce((s, c) => s + (c.fail_accounts?.length ?? 0), 0),
      breaches: Object.values(stats.breaches).reduce((a, b) => a + b, 0),
      deadLetters: dl.count,
      consumer: consumerSummary(logs),
    };
    print(r);
    if (burst.failures.length) log(`first non-2xx answer: ${JSON.stringify(burst.failures[0]).slice(0, 300)}`);
    return r.importedS === null || r.non2xx > 0 || r.duplicates > 0 || r.breaches > 0 ? 1 : 0;
  } finally {
    await worker?.mf.dispose().catch(() => {});
    await emulator.stop();
  }
}

function print(r) {
  if (opt.json) {
    console.log(JSON.stringify(r, null, 2));
    return;
  }
  const f1 = (x) => (x === null ? "not within the deadline" : x.toFixed(1));
  const cpus = os.cpus();
  const lines = [
    `### Queue mode: ${r.n.toLocaleString("en")} signups in one burst (Miniflare local Queues + D1)`,
    "",
    `Faults: ${r.faults === "mix" ? "5% HTTP 502, 5% ErrorCode 70169, 5% truncated JSON per call; 10% FailAccounts per batched account; slow first calls" : "none"} (seed ${r.seed}). ` +
      `Concurrency ${r.concurrency}; ${cpus[0]?.model ?? "?"} x ${cpus.length}; node ${process.version}.`,
    "",
    "| figure | value |",
    "| --- | --- |",
    `| burst sent (all answered) | ${r.sentS.toFixed(1)} s (${Math.round(r.sendRate)} signups/s), ${r.non2xx} non-2xx |`,
    `| webhook latency p50 / p99 / max | ${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} / ${r.max.toFixed(1)} ms |`,
    `| all imported after (from the first send) | ${f1(r.importedS)} s (${r.imported}/${r.n}) |`,
    `| Tencent calls: multiaccount_import | ${r.batchCalls} (ideal ${Math.ceil(r.n / 100)}, bound ${Math.ceil((r.n / 100) * 1.5)}) |`,
    `| Tencent calls: account_import (FailAccounts follow-ups) | ${r.singleCalls} (${r.failAccounts} FailAccounts entries) |`,
    `| calls with an injected fault | ${r.faultedCalls} |`,
    `| rate-limit breaches (emulator) | ${r.breaches} |`,
    `| duplicate accounts / repeated imports (after truncated replies) | ${r.duplicates} / ${r.repeatedImports} |`,
    `| consumer invocations (busy, longest) | ${r.consumer.invocations} (${(r.consumer.busyMs / 1000).toFixed(1)} s, ${(r.consumer.maxMs / 1000).toFixed(1)} s) |`,
    `| messages retried via the queue / dead letters | ${r.consumer.retried} / ${r.deadLetters} |`,
  ];
  console.log(lines.join("\n"));
}

main().then(
  (code) => process.exit(code),
  (e) => {
    log(e?.stack ?? String(e));
    process.exit(2);
  },
);
