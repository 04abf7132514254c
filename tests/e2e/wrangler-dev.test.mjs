// Smoke test of the developer loop: `wrangler dev` serves the built Worker, configured with
// --var, against the emulator, and imports one svix-signed signup.
//
// wrangler.toml's `[build] command = "make build"` would rebuild the wasm (a cargo release build)
// inside the test run. The suite tests the artifacts already in build/, so wrangler gets a copy of
// wrangler.toml in a temporary directory with the [build] table removed and `main` pointing at the
// real build/index.js; everything else (name, compatibility date, [vars]) is the checked-in file.
// The temporary directory also keeps the repository's .dev.vars out of the test.
import { test } from "node:test";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ADMIN,
  assert,
  assertNoLeaks,
  clerkEvent,
  freePort,
  hideSecrets,
  newUserId,
  observe,
  observedTexts,
  ROOT,
  SDKAPPID,
  settlesWithin,
  sleep,
  svixHeaders,
  TIM_KEY,
  WEBHOOK_SECRET,
  withTimeout,
  WORKER_JS,
} from "./helpers.mjs";
import { suite } from "./fixture.mjs";

const READY_TIMEOUT_MS = 90_000;

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
    if (/^\s*migrations_dir\s*=/.test(line)) {
      out.push(`migrations_dir = ${JSON.stringify(join(ROOT, "migrations"))}`);
      continue;
    }
    out.push(line);
  }
  const text = out.join("\n");
  assert.match(text, /^main = /m, "wrangler.toml has no main");
  assert.doesNotMatch(text, /make build/);
  return text;
}

/** Stops `wrangler` (child process, leader of its own process group) and its whole group. */
async function stopWrangler(wrangler) {
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

/**
 * The suite service `s.wrangler`: `wrangler dev` serving build/ with --var settings that point at
 * the suite's emulator, ready when it printed "Ready on". `url` is its origin, `output` its stdout
 * and stderr so far; `close()` stops its process group and removes the temporary directory (also
 * done here when it never gets ready).
 */
async function startWranglerDev(emulator) {
  const tmp = mkdtempSync(join(tmpdir(), "tim-onboard-wrangler-"));
  let wrangler; // child process, leader of its own process group
  let output = ""; // wrangler's stdout + stderr
  const close = async () => {
    await stopWrangler(wrangler);
    observe("wrangler dev output", output);
    rmSync(tmp, { recursive: true, force: true });
  };
  try {
    const config = join(tmp, "wrangler.toml");
    writeFileSync(config, devConfig());
    const port = await freePort();
    const vars = {
      TIM_SDKAPPID: SDKAPPID,
      TIM_SECRET_KEY: TIM_KEY,
      CLERK_WEBHOOK_SECRET: WEBHOOK_SECRET,
      TIM_ADMIN: ADMIN,
      TIM_BASE_URL: emulator.url,
      TIM_ADMIN_TOKEN: WDEV_ADMIN_TOKEN,
    };
    // Queue mode runs on wrangler's local Queues and D1: the D1 tables first, as `make dev` does.
    const migrate = spawnSync(
      join(ROOT, "node_modules/.bin/wrangler"),
      ["d1", "migrations", "apply", "tim-onboard", "--local", "--config", config, "--persist-to", join(tmp, "state")],
      { cwd: ROOT, encoding: "utf8", env: { ...process.env, CI: "1", WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" } },
    );
    assert.equal(migrate.status, 0, `d1 migrations apply failed:\n${migrate.stdout}\n${migrate.stderr}`);
    const args = ["dev", "--config", config, "--ip", "127.0.0.1", "--port", String(port)];
    args.push("--inspector-port", String(await freePort()), "--show-interactive-dev-session=false");
    args.push("--persist-to", join(tmp, "state"));
    for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
    wrangler = spawn(join(ROOT, "node_modules/.bin/wrangler"), args, {
      cwd: ROOT,
      detached: true, // own process group, killed as a whole by close()
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
    return {
      url: `http://127.0.0.1:${port}`,
      get output() {
        return output;
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The operator token of this `wrangler dev` (the /health detail needs it). */
const WDEV_ADMIN_TOKEN = `wdev-admin-${newUserId("tok")}`;
hideSecrets(WDEV_ADMIN_TOKEN);

// No Miniflare Worker here: the Worker under test is the one `wrangler dev` runs.
const s = suite({ services: { wrangler: (s) => startWranglerDev(s.emulator) }, workers: {} });

test("wrangler dev serves /health as ready with the --var configuration", { timeout: 30_000 }, async () => {
  const res = await withTimeout(
    fetch(`${s.wrangler.url}/health`, { headers: { authorization: `Bearer ${WDEV_ADMIN_TOKEN}` } }),
    20_000,
    "GET /health via wrangler dev",
  );
  const text = await res.text();
  observe("wrangler dev /health", text);
  assert.equal(res.status, 200, `${text}\n--- wrangler output:\n${s.wrangler.output}`);
  const json = JSON.parse(text);
  assert.equal(json.ready, true, text);
  assert.equal(json.origin, s.emulator.url, text);
});

test("wrangler dev queues one svix-signed Clerk signup and its local consumer imports it", { timeout: 45_000 }, async () => {
  await s.reset();
  const userId = newUserId("wdev");
  const body = JSON.stringify(clerkEvent({ data: { id: userId } }));
  const res = await withTimeout(
    fetch(`${s.wrangler.url}/webhooks/clerk`, {
      method: "POST",
      headers: { "content-type": "application/json", ...svixHeaders(body) },
      body,
    }),
    20_000,
    "POST /webhooks/clerk via wrangler dev",
  );
  const text = await res.text();
  observe("wrangler dev /webhooks/clerk", text);
  assert.equal(res.status, 200, `${text}\n--- wrangler output:\n${s.wrangler.output}`);
  assert.deepEqual(JSON.parse(text), { status: "queued", user_id: userId });
  const deadline = Date.now() + 30_000;
  while ((await s.accounts()).length === 0 && Date.now() < deadline) await sleep(250);
  assert.deepEqual(await s.accounts(), [
    { UserID: userId, Nick: "Example Example", FaceUrl: "https://img.clerk.com/xxxxxx", imports: 1 },
  ]);
  assert.equal(await s.callTotal(), 1);
  // One structured line for the delivery, naming the provider and the UserID.
  const line = s.wrangler.output.split("\n").find((l) => l.includes('"tim":"delivery"') && l.includes(userId));
  assert.ok(line, `no delivery log line:\n${s.wrangler.output}`);
  assert.match(line, /"provider":"clerk"/);
  assert.match(line, /"status":"queued"/);
});

test("every refusal is logged with its reason, naming the setting, never a secret", { timeout: 45_000 }, async () => {
  const body = JSON.stringify(clerkEvent({ data: { id: newUserId("wref") } }));
  const forged = { ...svixHeaders(body), "svix-signature": "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" };
  const refusals = [
    [{ ...forged }, body, 401, "invalid_signature"],
    [{}, body, 401, "signature_missing"],
    [svixHeaders("{}"), "{}", 400, "malformed_payload"],
  ];
  for (const [headers, payload, status, code] of refusals) {
    const res = await fetch(`${s.wrangler.url}/webhooks/clerk`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: payload,
    });
    const answer = await res.text();
    observe("wrangler dev refusal", answer);
    assert.equal(res.status, status, answer);
    assert.equal(JSON.parse(answer).error, code);
  }
  // An unconfigured provider names the setting that switches it on.
  const okta = await fetch(`${s.wrangler.url}/webhooks/okta`, { method: "POST", body: "{}" });
  const oktaText = await okta.text();
  assert.equal(okta.status, 404);
  assert.match(oktaText, /OKTA_WEBHOOK_SECRET/);
  const deadline = Date.now() + 10_000;
  const refused = () => s.wrangler.output.split("\n").filter((l) => l.includes('"tim":"refused"'));
  while (refused().length < 4 && Date.now() < deadline) await sleep(200);
  const lines = refused();
  assert.ok(lines.length >= 4, `refusals not logged:\n${s.wrangler.output}`);
  assert.ok(lines.some((l) => /"status":401/.test(l) && /"error":"invalid_signature"/.test(l)));
  assert.ok(lines.some((l) => /"error":"signature_missing"/.test(l) && /svix-signature|webhook-signature|svix-id|webhook-id/.test(l)));
  assert.ok(lines.some((l) => /"status":404/.test(l) && /OKTA_WEBHOOK_SECRET/.test(l)));
  assert.ok(lines.some((l) => /"error":"malformed_payload"/.test(l)));
  for (const secret of [WEBHOOK_SECRET, TIM_KEY, WEBHOOK_SECRET.slice("whsec_".length)]) {
    assert.ok(!s.wrangler.output.includes(secret), "a secret reached the log");
  }
});

test("wrangler dev output and responses carry no secret or UserSig", { timeout: 30_000 }, async () => {
  const { output } = s.wrangler;
  if (process.env.E2E_DEBUG) console.error(output);
  assert.ok(output.length > 0);
  assertNoLeaks([...observedTexts(), { source: "wrangler dev output", text: output }]);
});
