#!/usr/bin/env node
// Time to ready of `make dev` on an unchanged checkout: the median of several runs.
//
//   node bench/dev-ready.mjs [--runs 5] [--no-warmup] [--timeout 240]
//
// Each run starts `make dev EMULATOR_PORT=<free> DEV_PORT=<free>` in its own process group and
// measures, from the spawn:
//   ready    until wrangler prints "Ready on" (make dev prints the next steps right after it);
//   serving  until the Worker answers an HTTP request (GET /health, any status) on DEV_PORT;
// then sends SIGTERM to `make` only (as a user's `kill` would), waits for both ports to be free,
// and reports whatever it had to kill itself (a leftover is a supervision bug).
// An untimed warm-up run comes first, so that the timed runs see an unchanged checkout (the
// warm-up builds whatever is stale and creates .dev.vars). Nothing is written to the repository.

import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { values: opt } = parseArgs({
  args: process.argv.slice(2),
  options: {
    runs: { type: "string", default: "5" },
    timeout: { type: "string", default: "240" },
    "no-warmup": { type: "boolean", default: false },
    verbose: { type: "boolean", default: false },
  },
});
const RUNS = Number(opt.runs);
const TIMEOUT_MS = Number(opt.timeout) * 1000;
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error("--runs must be a positive integer");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const stripAnsi = (s) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.on("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

/** True when nothing listens on 127.0.0.1:port. */
function portFree(port) {
  return new Promise((res) => {
    const srv = createServer();
    srv.once("error", () => res(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => res(true)));
  });
}

async function answers(url) {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await r.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

async function run(label) {
  const emulatorPort = await freePort();
  let devPort = await freePort();
  while (devPort === emulatorPort) devPort = await freePort();
  const t0 = performance.now();
  const make = spawn("make", ["--no-print-directory", "dev", `EMULATOR_PORT=${emulatorPort}`, `DEV_PORT=${devPort}`], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  let output = "";
  let readyAt = null;
  for (const s of [make.stdout, make.stderr]) {
    s.setEncoding("utf8");
    s.on("data", (d) => {
      output += d;
      if (opt.verbose) process.stderr.write(d);
      if (readyAt === null && /Ready on http/.test(stripAnsi(output))) readyAt = performance.now();
    });
  }
  const makeExit = new Promise((r) => make.once("exit", (code, signal) => r({ code, signal })));
  let exitedEarly = null;
  makeExit.then((e) => {
    exitedEarly ??= e;
  });

  let servingAt = null;
  while (performance.now() - t0 < TIMEOUT_MS) {
    if (exitedEarly) break;
    if (await answers(`http://127.0.0.1:${devPort}/health`)) {
      servingAt = performance.now();
      break;
    }
    await sleep(100);
  }
  // Give "Ready on" a moment if the request won the race.
  for (let i = 0; i < 20 && readyAt === null && !exitedEarly; i++) await sleep(50);

  // Stop it as a user would: SIGTERM to make alone.
  const stopAt = performance.now();
  try {
    process.kill(make.pid, "SIGTERM");
  } catch {
    // Already gone.
  }
  const stopped = await Promise.race([makeExit.then(() => true), sleep(15_000).then(() => false)]);
  let portsFree = false;
  const portsDeadline = performance.now() + 10_000;
  while (performance.now() < portsDeadline) {
    if ((await portFree(emulatorPort)) && (await portFree(devPort))) {
      portsFree = true;
      break;
    }
    await sleep(100);
  }
  const stopMs = performance.now() - stopAt;
  // Anything still in make's process group (or still holding a port) is left over: kill it.
  const leftovers = killGroup(make.pid, "SIGKILL");
  if (!stopped) await makeExit;

  const result = {
    label,
    readyMs: readyAt === null ? null : readyAt - t0,
    servingMs: servingAt === null ? null : servingAt - t0,
    stopMs,
    clean: stopped && portsFree && !leftovers,
    note: !stopped ? "make ignored SIGTERM" : !portsFree ? "a port stayed busy after make exited" : leftovers ? "processes left in make's group" : "",
  };
  if (servingAt === null) {
    result.note = exitedEarly ? `make dev exited early (${JSON.stringify(exitedEarly)})` : "never served within the timeout";
    result.tail = output.split("\n").slice(-25).join("\n");
  }
  return result;
}

const fmt = (ms) => (ms === null ? "-" : `${(ms / 1000).toFixed(2)} s`);
const median = (xs) => {
  const s = xs.filter((x) => x !== null).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function report(r) {
  console.log(
    `${r.label.padEnd(8)} ready ${fmt(r.readyMs).padStart(8)}   serving ${fmt(r.servingMs).padStart(8)}   ` +
      `stop ${fmt(r.stopMs).padStart(7)}   ${r.clean ? "clean stop" : `NOT CLEAN: ${r.note}`}`,
  );
  if (r.tail) console.log(r.tail);
}

console.log(`make dev time to ready (${ROOT}), ${RUNS} timed run(s)${opt["no-warmup"] ? "" : " after one warm-up"}`);
if (!opt["no-warmup"]) report(await run("warm-up"));
const results = [];
for (let i = 1; i <= RUNS; i++) {
  const r = await run(`run ${i}`);
  report(r);
  results.push(r);
}
const ready = median(results.map((r) => r.readyMs));
const serving = median(results.map((r) => r.servingMs));
console.log(`median of ${RUNS}: ready ${fmt(ready)}, serving ${fmt(serving)}`);
const unclean = results.filter((r) => !r.clean).length;
if (unclean) console.log(`${unclean} run(s) did not stop cleanly on SIGTERM to make`);
process.exitCode = serving === null ? 1 : 0;
