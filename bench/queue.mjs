#!/usr/bin/env node
// The queue-mode scenario (issue 9; `make bench` runs it after bench/run.mjs): N signups in one
// burst through the Worker in queue mode, against a faulty upstream. Prints a small markdown table:
// time until every signup is imported, Tencent calls used (against the ideal N/100 batch calls, and
// per 10,000 signups), rate-limit breaches, the webhook latency the senders saw while Tencent was
// failing, and how busy the rest of the machine was meanwhile.
//
//   node bench/queue.mjs [--n 10000] [--concurrency 64] [--faults mix|none] [--seed 9]
//                        [--deadline 600] [--build build] [--json] [--write]
//
// --build: the directory holding the Worker's index.js and index_bg.wasm (read once at the start;
// `make bench` passes bench/.work/ours, bench/run.mjs's snapshot, so both measure the same build).
// --write: also put the table into bench/RESULTS.md, between its own markers right after
// bench/run.mjs's generated block (the hand-written findings below are left alone).
//
// It runs the built Worker (index.js + index_bg.wasm of --build) on workerd through Miniflare,
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

import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
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
    write: { type: "boolean", default: false },
    build: { type: "string", default: "build" },
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

// ------------------------------------------------------------------------------------------------
// CPU accounting from /proc: this process's tree (driver, emulator, Miniflare's workerd) and the
// whole machine, to tell how busy everything else on the (shared) machine was during the burst.
// ------------------------------------------------------------------------------------------------

const CLK_TCK = 100; // USER_HZ

/** { pid: { ppid, comm, cpuUs } } for every process (utime + stime of all its threads). */
function processes() {
  const out = {};
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out[d] = { ppid: f[1], comm, cpuUs: ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK };
    } catch {}
  }
  return out;
}

/** CPU (us) of this process and its descendants; `workerd`: the part in workerd processes. */
function treeCpu() {
  const procs = processes();
  const mine = new Set([String(process.pid)]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, p] of Object.entries(procs)) {
      if (!mine.has(pid) && mine.has(p.ppid)) {
        mine.add(pid);
        grew = true;
      }
    }
  }
  let total = 0;
  let workerd = 0;
  for (const pid of mine) {
    const p = procs[pid];
    if (!p) continue;
    total += p.cpuUs;
    if (p.comm.startsWith("workerd")) workerd += p.cpuUs;
  }
  return { total, workerd };
}

/** Busy microseconds of the whole machine (/proc/stat). */
function machineBusyUs() {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3] + (f[4] ?? 0);
  return ((f.slice(0, 8).reduce((a, b) => a + b, 0) - idle) * 1e6) / CLK_TCK;
}

const BUILD = resolve(ROOT, opt.build);
for (const p of [join(BUILD, "index.js"), join(BUILD, "index_bg.wasm"), EMULATOR]) {
  if (!existsSync(p)) throw new Error(`missing ${p}: run \`make build\` and \`cargo build -p tim-emulator --release\``);
}
// Read once: a concurrent rebuild cannot change what is measured.
const WORKER_JS = readFileSync(join(BUILD, "index.js"));
const WORKER_WASM = readFileSync(join(BUILD, "index_bg.wasm"));

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
      { type: "ESModule", path: join(BUILD, "index.js"), contents: WORKER_JS },
      { type: "CompiledWasm", path: join(BUILD, "index_bg.wasm"), contents: WORKER_WASM },
    ],
    modulesRoot: BUILD,
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
    const cpu0 = treeCpu();
    const busy0 = machineBusyUs();
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
    const doneMs = performance.now() - t0;
    const cpu1 = treeCpu();
    const busy1 = machineBusyUs();
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
      // From the first send until every signup was imported (or the deadline).
      windowS: doneMs / 1000,
      workerdCpuPerSignupUs: (cpu1.workerd - cpu0.workerd) / N,
      treeCores: (cpu1.total - cpu0.total) / (doneMs * 1000),
      otherCores: Math.max(0, busy1 - busy0 - (cpu1.total - cpu0.total)) / (doneMs * 1000),
      date: STARTED,
      wasm: createHash("sha256").update(WORKER_WASM).digest("hex").slice(0, 12),
    };
    r.tencentCalls = r.batchCalls + r.singleCalls;
    r.callsPer10k = (r.tencentCalls * 10000) / N;
    print(r);
    if (opt.write) {
      writeResults(r);
      log("wrote the queue table into bench/RESULTS.md");
    }
    if (burst.failures.length) log(`first non-2xx answer: ${JSON.stringify(burst.failures[0]).slice(0, 300)}`);
    return r.importedS === null || r.non2xx > 0 || r.duplicates > 0 || r.breaches > 0 ? 1 : 0;
  } finally {
    await worker?.mf.dispose().catch(() => {});
    await emulator.stop();
  }
}

const STARTED = new Date().toISOString().replace(/\.\d+Z$/, "Z");

function lines(r) {
  const f1 = (x) => (x === null ? "not within the deadline" : x.toFixed(1));
  const cpus = os.cpus();
  const head = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout?.trim();
  const dirty = spawnSync("git", ["status", "--porcelain"], { cwd: ROOT, encoding: "utf8" }).stdout?.trim();
  const per10k = (x) => ((x * 10000) / r.n).toFixed(0);
  return [
    `### Queue mode: ${r.n.toLocaleString("en")} signups in one burst (Miniflare local Queues + D1)`,
    "",
    `Run: ${r.date} · commit ${head || "none"}${dirty ? " (with uncommitted changes)" : ""} · ours wasm sha256 ${r.wasm} · ` +
      `\`node bench/queue.mjs --n ${r.n} --concurrency ${r.concurrency} --faults ${r.faults} --seed ${r.seed}${opt.build !== "build" ? ` --build ${opt.build}` : ""}\``,
    "",
    `Faults: ${r.faults === "mix" ? "5% HTTP 502, 5% ErrorCode 70169, 5% truncated JSON per call; 10% FailAccounts per batched account; slow first calls" : "none"} (seed ${r.seed}). ` +
      `Concurrency ${r.concurrency}; ${cpus[0]?.model ?? "?"} x ${cpus.length}; node ${process.version}.`,
    "",
    "| figure | value |",
    "| --- | --- |",
    `| burst sent (all answered) | ${r.sentS.toFixed(1)} s (${Math.round(r.sendRate)} signups/s), ${r.non2xx} non-2xx |`,
    `| webhook latency p50 / p99 / max | ${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} / ${r.max.toFixed(1)} ms |`,
    `| all imported after (from the first send) | ${f1(r.importedS)} s (${r.imported}/${r.n}) |`,
    `| Tencent calls per 10,000 signups | ${per10k(r.tencentCalls)} (${per10k(r.batchCalls)} multiaccount_import + ${per10k(r.singleCalls)} account_import; ideal 100, direct mode 10,000) |`,
    `| Tencent calls: multiaccount_import | ${r.batchCalls} (ideal ${Math.ceil(r.n / 100)}, bound ${Math.ceil((r.n / 100) * 1.5)}) |`,
    `| Tencent calls: account_import (FailAccounts follow-ups) | ${r.singleCalls} (${r.failAccounts} FailAccounts entries) |`,
    `| calls with an injected fault | ${r.faultedCalls} |`,
    `| rate-limit breaches (emulator) | ${r.breaches} |`,
    `| duplicate accounts / repeated imports (after truncated replies) | ${r.duplicates} / ${r.repeatedImports} |`,
    `| consumer invocations (busy, longest) | ${r.consumer.invocations} (${(r.consumer.busyMs / 1000).toFixed(1)} s, ${(r.consumer.maxMs / 1000).toFixed(1)} s) |`,
    `| messages retried via the queue / dead letters | ${r.consumer.retried} / ${r.deadLetters} |`,
    `| workerd CPU per signup (webhook, queue, consumer, D1 and Miniflare's own services) | ${r.workerdCpuPerSignupUs.toFixed(0)} us |`,
    `| CPU busy, this scenario's processes / everything else on the machine | ${r.treeCores.toFixed(2)} / ${r.otherCores.toFixed(2)} cores over ${r.windowS.toFixed(1)} s |`,
  ];
}

function print(r) {
  if (opt.json) console.log(JSON.stringify(r, null, 2));
  else console.log(lines(r).join("\n"));
}

/**
 * Puts the table into bench/RESULTS.md between its own markers: in place when they are there,
 * else right after bench/run.mjs's generated block (before the hand-written findings).
 */
function writeResults(r) {
  const file = join(ROOT, "bench/RESULTS.md");
  const begin = "<!-- bench:queue:begin (written by bench/queue.mjs --write: do not edit between these markers) -->";
  const end = "<!-- bench:queue:end -->";
  const block = `${begin}\n${lines(r).join("\n")}\n${end}`;
  let doc = existsSync(file) ? readFileSync(file, "utf8") : "# Benchmark results\n";
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  const runEnd = "<!-- bench:end -->";
  const k = doc.indexOf(runEnd);
  if (i >= 0 && j > i) doc = doc.slice(0, i) + block + doc.slice(j + end.length);
  else if (k >= 0) doc = `${doc.slice(0, k + runEnd.length)}\n\n${block}${doc.slice(k + runEnd.length)}`;
  else doc = `${doc}\n${block}\n`;
  writeFileSync(file, doc);
}

main().then(
  (code) => process.exit(code),
  (e) => {
    log(e?.stack ?? String(e));
    process.exit(2);
  },
);
