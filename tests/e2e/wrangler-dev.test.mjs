// Smoke test of the developer loop: `wrangler dev` serves the built Worker, configured with
// --var, against the emulator, and imports one svix-signed signup.
//
// wrangler.toml's `[build] command = "make build"` would rebuild the wasm (a cargo release build)
// inside the test run. The suite tests the artifacts already in build/, so wrangler gets a copy of
// wrangler.toml in a temporary directory with the [build] table removed and `main` pointing at the
// real build/index.js; everything else (name, compatibility date, [vars]) is the checked-in file.
// The temporary directory also keeps the repository's .dev.vars out of the test.
import { after, before, test } from "node:test";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ADMIN,
  assert,
  assertNoLeaks,
  clerkEvent,
  freePort,
  newUserId,
  observe,
  observedTexts,
  requireArtifacts,
  ROOT,
  SDKAPPID,
  settlesWithin,
  sleep,
  startEmulator,
  svixHeaders,
  TIM_KEY,
  WEBHOOK_SECRET,
  withTimeout,
  WORKER_JS,
} from "./helpers.mjs";

const READY_TIMEOUT_MS = 90_000;
let emulator;
let wrangler; // child process, leader of its own process group
let output = ""; // wrangler's stdout + stderr
let baseUrl;
let tmp;

/** wrangler.toml without its [build] table and with an absolute `main`. */
function devConfig() {
  const original = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const out = [];
  let skipping = false;
  for (const line of original.split("\n")) {
    const table = line.match(/^\s*\[([^\]]+)\]/);
    if (table) skipping = table[1].trim() === "build" || table[1].trim().startsWith("build.");
    if (skipping) continue;
    if (/^\s*main\s*=/.test(line)) {
      out.push(`main = ${JSON.stringify(WORKER_JS)}`);
      continue;
    }
    out.push(line);
  }
  const text = out.join("\n");
  assert.match(text, /^main = /m, "wrangler.toml has no main");
  assert.doesNotMatch(text, /make build/);
  return text;
}

async function stopWrangler() {
  if (!wrangler || wrangler.exitCode !== null || wrangler.signalCode !== null) return;
  const exited = new Promise((r) => wrangler.once("exit", r));
  const killGroup = (signal) => {
    try {
      process.kill(-wrangler.pid, signal); // the whole group: wrangler, workerd, esbuild
    } catch {
      // Already gone.
    }
  };
  killGroup("SIGTERM");
  if (!(await settlesWithin(exited, 10_000))) {
    killGroup("SIGKILL");
    await exited;
  }
  // Children (workerd) may outlive the leader briefly; make sure the group is gone.
  await sleep(200);
  killGroup("SIGKILL");
}

before(async () => {
  requireArtifacts();
  emulator = await startEmulator();
  tmp = mkdtempSync(join(tmpdir(), "tim-onboard-wrangler-"));
  const config = join(tmp, "wrangler.toml");
  writeFileSync(config, devConfig());
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const vars = {
    TIM_SDKAPPID: SDKAPPID,
    TIM_SECRET_KEY: TIM_KEY,
    CLERK_WEBHOOK_SECRET: WEBHOOK_SECRET,
    TIM_ADMIN: ADMIN,
    TIM_BASE_URL: emulator.url,
  };
  const args = ["dev", "--config", config, "--ip", "127.0.0.1", "--port", String(port)];
  args.push("--inspector-port", String(await freePort()), "--show-interactive-dev-session=false");
  args.push("--persist-to", join(tmp, "state"));
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  wrangler = spawn(join(ROOT, "node_modules/.bin/wrangler"), args, {
    cwd: ROOT,
    detached: true, // own process group, killed as a whole in after()
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      WRANGLER_SEND_METRICS: "false",
      WRANGLER_LOG_PATH: join(tmp, "logs"),
      CI: "1",
      NO_COLOR: "1",
      FORCE_COLOR: "0",
    },
  });
  const ready = new Promise((resolve, reject) => {
    wrangler.on("error", reject);
    wrangler.on("exit", (code, signal) =>
      reject(new Error(`wrangler dev exited before it was ready (code ${code}, signal ${signal}):\n${output}`)),
    );
    for (const stream of [wrangler.stdout, wrangler.stderr]) {
      stream.setEncoding("utf8");
      stream.on("data", (d) => {
        output += d;
        if (/Ready on /.test(output)) resolve();
      });
    }
  });
  try {
    await withTimeout(ready, READY_TIMEOUT_MS, "wrangler dev to print 'Ready on'");
  } catch (e) {
    e.message += `\nwrangler output so far:\n${output}`;
    throw e;
  }
});

after(async () => {
  await stopWrangler();
  observe("wrangler dev output", output);
  await emulator?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test("wrangler dev serves /health as ready with the --var configuration", { timeout: 30_000 }, async () => {
  const res = await withTimeout(fetch(`${baseUrl}/health`), 20_000, "GET /health via wrangler dev");
  const text = await res.text();
  observe("wrangler dev /health", text);
  assert.equal(res.status, 200, `${text}\n--- wrangler output:\n${output}`);
  const json = JSON.parse(text);
  assert.equal(json.ready, true, text);
  assert.equal(json.origin, emulator.url, text);
});

test("wrangler dev imports one svix-signed Clerk signup into the emulator", { timeout: 30_000 }, async () => {
  await emulator.reset();
  const userId = newUserId("wdev");
  const body = JSON.stringify(clerkEvent({ data: { id: userId } }));
  const res = await withTimeout(
    fetch(`${baseUrl}/webhooks/clerk`, {
      method: "POST",
      headers: { "content-type": "application/json", ...svixHeaders(body) },
      body,
    }),
    20_000,
    "POST /webhooks/clerk via wrangler dev",
  );
  const text = await res.text();
  observe("wrangler dev /webhooks/clerk", text);
  assert.equal(res.status, 200, `${text}\n--- wrangler output:\n${output}`);
  assert.deepEqual(JSON.parse(text), { status: "imported", user_id: userId });
  assert.deepEqual(await emulator.accounts(), [
    { UserID: userId, Nick: "Example Example", FaceUrl: "https://img.clerk.com/xxxxxx", imports: 1 },
  ]);
  assert.equal(await emulator.callTotal(), 1);
});

test("wrangler dev output and responses carry no secret or UserSig", { timeout: 30_000 }, async () => {
  if (process.env.E2E_DEBUG) console.error(output);
  assert.ok(output.length > 0);
  assertNoLeaks([...observedTexts(), { source: "wrangler dev output", text: output }]);
});
