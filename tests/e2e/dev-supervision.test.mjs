// `make dev` as one supervised unit (scripts/dev.mjs): it refuses a taken port, points the Worker
// at EMULATOR_PORT, prints the next steps after wrangler is ready, and leaves nothing listening
// when the emulator or wrangler dies, when `make` gets SIGTERM, SIGHUP or SIGINT, or when `make`
// itself is killed.
//
// These tests run the real `make dev` from the repository root on free ports. They need build/
// and target/release/tim-emulator up to date (as `make test` leaves them): otherwise `make dev`
// would start by rebuilding, so the test fails at once and says so. Each `make dev` is started in
// its own process group, and whatever is left on its ports is killed after the test, so a failing
// test cannot leave processes behind. Linux only (/proc tells which process holds a port).
import { after, test } from "node:test";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";
import { assert, freePort, ROOT, settlesWithin, sleep, withTimeout } from "./helpers.mjs";

const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 15_000;
const started = []; // every `make dev` of this file, for the cleanup in after()

/** Fails, naming the fix, when `make dev` would have to build first. */
function requireFreshBuild() {
  const r = spawnSync("make", ["-q", "build/index.js", "build/index_bg.wasm", "target/release/tim-emulator"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  assert.equal(
    r.status,
    0,
    "build/ or target/release/tim-emulator is missing or older than its sources, so `make dev` would " +
      "rebuild first. Run `make build emulator` (or `make test`) before these tests.",
  );
}

/** Pids of the processes listening on 127.0.0.1:port (or any address), from /proc. */
function listeners(port) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  const inodes = new Set();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    if (!existsSync(table)) continue;
    for (const row of readFileSync(table, "utf8").split("\n").slice(1)) {
      const cols = row.trim().split(/\s+/);
      if (cols.length > 9 && cols[3] === "0A" && cols[1].endsWith(hex)) inodes.add(`socket:[${cols[9]}]`);
    }
  }
  const pids = new Set();
  if (inodes.size === 0) return [];
  for (const pid of readdirSync("/proc").filter((p) => /^[0-9]+$/.test(p))) {
    let fds = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`))) pids.add(Number(pid));
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return [...pids];
}

/** Pids whose command line has every one of `parts` as (part of) an argument. */
function processesWith(parts) {
  const pids = [];
  for (const pid of readdirSync("/proc").filter((p) => /^[0-9]+$/.test(p))) {
    let args;
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (parts.every((part) => args.some((a) => a.includes(part)))) pids.push(Number(pid));
  }
  return pids;
}

/** True when a new listener could bind 127.0.0.1:port right now. */
function bindable(port) {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ port, host: "127.0.0.1", exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** Waits (bounded) until nothing listens on any of `ports`; returns the leftovers otherwise. */
async function portsFreed(ports, ms = 5_000) {
  const end = Date.now() + ms;
  for (;;) {
    const busy = [];
    for (const p of ports) if (listeners(p).length > 0 || !(await bindable(p))) busy.push(p);
    if (busy.length === 0 || Date.now() >= end) return busy.map((p) => ({ port: p, pids: listeners(p) }));
    await sleep(100);
  }
}

/** A `make dev` run on two free ports, in its own process group, with its output collected. */
async function startMakeDev({ emulatorPort, devPort } = {}) {
  emulatorPort ??= await freePort();
  devPort ??= await freePort();
  while (devPort === emulatorPort) devPort = await freePort();
  const make = spawn("make", ["--no-print-directory", "dev", `EMULATOR_PORT=${emulatorPort}`, `DEV_PORT=${devPort}`], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
  });
  const run = { make, emulatorPort, devPort, output: "", exit: null };
  run.exited = new Promise((resolve) =>
    make.once("exit", (code, signal) => {
      run.exit = { code, signal };
      resolve(run.exit);
    }),
  );
  for (const s of [make.stdout, make.stderr]) {
    s.setEncoding("utf8");
    s.on("data", (d) => {
      run.output += d;
    });
  }
  started.push(run);
  return run;
}

/** Waits until make dev has printed its next steps (after wrangler's "Ready on"). */
async function waitReady(run) {
  const ready = (async () => {
    while (!/Next steps:/.test(run.output)) {
      if (run.exit) throw new Error(`make dev exited before it was ready (${JSON.stringify(run.exit)})`);
      await sleep(100);
    }
  })();
  try {
    await withTimeout(ready, READY_TIMEOUT_MS, "make dev to print its next steps");
  } catch (e) {
    e.message += `\n--- make dev output:\n${run.output}`;
    throw e;
  }
}

async function waitExit(run, what) {
  assert.ok(await settlesWithin(run.exited, STOP_TIMEOUT_MS), `make dev did not stop after ${what}:\n${run.output}`);
  return run.exit;
}

after(async () => {
  // Safety net only: a passing test has stopped everything itself.
  for (const run of started) {
    try {
      process.kill(-run.make.pid, "SIGKILL");
    } catch {
      // Gone.
    }
    for (const port of [run.emulatorPort, run.devPort]) {
      for (const pid of listeners(port)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Gone.
        }
      }
    }
  }
});

for (const which of ["EMULATOR_PORT", "DEV_PORT"]) {
  test(`make dev refuses to start when ${which} is taken, naming the port`, { timeout: 60_000 }, async () => {
    const blocker = createServer();
    await new Promise((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const taken = blocker.address().port;
    try {
      const run = await startMakeDev(which === "EMULATOR_PORT" ? { emulatorPort: taken } : { devPort: taken });
      const { code } = await waitExit(run, "finding the port taken");
      assert.notEqual(code, 0, `make dev exited 0 with ${which}=${taken} taken:\n${run.output}`);
      assert.match(run.output, new RegExp(`port ${taken}\\b[^\\n]*${which}[^\\n]*already in use`), run.output);
      // It stopped at the check: nothing was started, and no next steps were printed.
      assert.doesNotMatch(run.output, /Next steps:|Ready on/, run.output);
      const other = which === "EMULATOR_PORT" ? run.devPort : run.emulatorPort;
      assert.deepEqual(await portsFreed([other], 1_000), [], "something was started on the other port");
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
}

test("make dev points the Worker at EMULATOR_PORT and stops everything when the emulator dies", { timeout: 150_000 }, async () => {
  requireFreshBuild();
  const run = await startMakeDev();
  await waitReady(run);
  const { emulatorPort, devPort } = run;
  const ready = run.output.search(/Ready on http/);
  const steps = run.output.indexOf("Next steps:");
  assert.ok(ready >= 0 && ready < steps, `next steps printed before "Ready on":\n${run.output}`);
  assert.match(run.output, new RegExp(`curl http://127\\.0\\.0\\.1:${emulatorPort}/_emulator/accounts`));

  // The Worker answers on DEV_PORT and uses the emulator on EMULATOR_PORT, not .dev.vars' 8790.
  const devVars = readFileSync(`${ROOT}.dev.vars`, "utf8");
  const token = devVars.match(/^TIM_ADMIN_TOKEN=(.*)$/m)?.[1]?.trim();
  const auth = token ? { authorization: `Bearer ${token}` } : {};
  const res = await withTimeout(fetch(`http://127.0.0.1:${devPort}/health`, { headers: auth }), 20_000, "GET /health");
  const health = await res.text();
  if (/^TIM_BASE_URL=http:\/\/127\.0\.0\.1:8790\s*$/m.test(devVars)) {
    assert.ok(health.includes(`http://127.0.0.1:${emulatorPort}`), `/health does not show the emulator: ${health}`);
  }

  const emulatorPids = listeners(emulatorPort);
  assert.equal(emulatorPids.length, 1, `expected one emulator on ${emulatorPort}, found ${emulatorPids}`);
  process.kill(emulatorPids[0], "SIGKILL");
  const { code } = await waitExit(run, "the emulator was killed");
  assert.notEqual(code, 0, run.output);
  assert.match(run.output, /tim-emulator was killed by SIGKILL/, run.output);
  assert.deepEqual(await portsFreed([devPort, emulatorPort]), [], `left listening:\n${run.output}`);
});

// SIGTERM is the one GNU make passes on; on SIGHUP and SIGINT it waits for its children instead.
for (const signal of ["SIGTERM", "SIGHUP", "SIGINT"]) {
  test(`${signal} to make leaves nothing listening on either port`, { timeout: 150_000 }, async () => {
    requireFreshBuild();
    const run = await startMakeDev();
    await waitReady(run);
    process.kill(run.make.pid, signal); // make alone, as `kill -${signal.slice(3)} <pid of make>` does
    await waitExit(run, signal);
    assert.deepEqual(await portsFreed([run.emulatorPort, run.devPort]), [], `left listening:\n${run.output}`);
  });
}

test("make dev stops the emulator when wrangler exits", { timeout: 150_000 }, async () => {
  requireFreshBuild();
  const run = await startMakeDev();
  await waitReady(run);
  const wrangler = processesWith(["node_modules/.bin/wrangler", "dev", String(run.devPort)]);
  assert.equal(wrangler.length, 1, `expected one wrangler dev on ${run.devPort}, found ${wrangler}`);
  process.kill(wrangler[0], "SIGKILL");
  const { code } = await waitExit(run, "wrangler was killed");
  assert.notEqual(code, 0, run.output);
  assert.match(run.output, /wrangler dev was killed by SIGKILL/, run.output);
  assert.deepEqual(await portsFreed([run.emulatorPort, run.devPort]), [], `left listening:\n${run.output}`);
});

test("make killed outright (SIGKILL): its supervisor notices and stops both", { timeout: 150_000 }, async () => {
  requireFreshBuild();
  const run = await startMakeDev();
  await waitReady(run);
  process.kill(run.make.pid, "SIGKILL"); // make cannot pass anything on; the supervisor polls its parent
  await waitExit(run, "SIGKILL");
  assert.deepEqual(await portsFreed([run.emulatorPort, run.devPort], 10_000), [], `left listening:\n${run.output}`);
});
