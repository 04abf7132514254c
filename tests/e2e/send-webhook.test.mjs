// `scripts/send-webhook.mjs` against the built Worker configured with exactly the values of
// `.dev.vars.example`: every provider is on at once, and the script, run as a child process like a
// developer would, gets each provider's documented signup imported into the emulator.
//
// The emulator serves the demo JWKS (scripts/dev-keys/jwks.json) at /_emulator/jwks when the
// binary supports `--jwks`; otherwise a node:http server serves the same file at the same path.
// The example's `http://127.0.0.1:8790` values are pointed at those servers, nothing else changes.
// Expected UserIDs are computed here from the README's mapping rule, independently of the Worker.
import { describe, test } from "node:test";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, EMULATOR_BIN, freePort, listenLocal, ROOT, settlesWithin, withTimeout } from "./helpers.mjs";
import { suite } from "./fixture.mjs";

const SCRIPT = `${ROOT}scripts/send-webhook.mjs`;
const EXAMPLE = `${ROOT}.dev.vars.example`;
const DEMO_JWKS = `${ROOT}scripts/dev-keys/jwks.json`;
const DEMO_PRIVATE_JWK = `${ROOT}scripts/dev-keys/demo-rsa-private.jwk.json`;
/** The emulator origin `.dev.vars.example` assumes (`make dev`'s default port). */
const EXAMPLE_EMULATOR = "http://127.0.0.1:8790";
const opts = { timeout: 60_000 };

const PROVIDERS = [
  "clerk", "stytch", "standard", "supabase", "supabase-db", "auth0",
  "firebase", "workos", "logto", "kinde", "okta", "zitadel",
];

/** Every event the script offers, and whether it is a signup (imported) or acknowledged only. */
const EVENTS = {
  clerk: { "user.created": true, "user.updated": false },
  stytch: { "dashboard.user.create": true, "dashboard.user.update": false },
  standard: { "user.created": true, "user.updated": false },
  supabase: { "before-user-created": true, "after-user-created": true },
  "supabase-db": { INSERT: true, UPDATE: false },
  auth0: { "user.created": true, ss: true, "post-user-registration": true },
  firebase: { beforeCreate: true, beforeSignIn: false },
  workos: { "user.created": true, "user.updated": false },
  logto: { PostRegister: true, "User.Created": true },
  kinde: { "user.created": true, "user.updated": false },
  okta: { "user.lifecycle.create": true, verification: false },
  zitadel: { "user.human.added": true, "user.human.selfregistered": true },
};

// ---------------------------------------------------------------------------------------------
// .dev.vars.example, read independently of the script's own parser
// ---------------------------------------------------------------------------------------------

/** KEY=value lines (the example uses no quotes, `export` or inline comments; asserted). */
function readExample() {
  const vars = {};
  for (const line of readFileSync(EXAMPLE, "utf8").split("\n")) {
    if (!line.trim() || line.startsWith("#")) continue;
    const m = line.match(/^([A-Z][A-Z0-9_]*)=(\S+)$/);
    assert.ok(m, `.dev.vars.example: not a plain KEY=value line: ${line}`);
    vars[m[1]] = m[2];
  }
  return vars;
}

/** The example's secret values (and, for whsec_ keys, their bare base64), for the leak check. */
function exampleSecrets(vars) {
  const out = [];
  for (const [k, v] of Object.entries(vars)) {
    if (!/SECRET|TOKEN|SIGNING_KEY|BASIC/.test(k)) continue;
    out.push(v);
    for (const part of v.split(/[\s|]+/)) {
      const bare = part.replace(/^v1,/, "").replace(/^whsec_/, "");
      if (bare.length >= 8) out.push(bare);
    }
  }
  const jwk = JSON.parse(readFileSync(DEMO_PRIVATE_JWK, "utf8"));
  out.push(jwk.d, jwk.p, jwk.q);
  return out;
}

// ---------------------------------------------------------------------------------------------
// UserID rule (README "UserID mapping", auto mode), computed here
// ---------------------------------------------------------------------------------------------

const SAFE = /^[A-Za-z0-9_-]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CONSTANT_PREFIXES = {
  clerk: ["user_"], workos: ["user_"], stytch: ["user-test-", "user-live-"], kinde: ["kp_"], auth0: ["auth0|"],
};

function expectedUserId(provider, id, prefix = "") {
  const fits = (s) => Buffer.byteLength(prefix + s) <= 32 && SAFE.test(s);
  if (fits(id)) return prefix + id;
  let m = id;
  const constant = (CONSTANT_PREFIXES[provider] ?? []).find((p) => m.startsWith(p));
  if (constant) m = m.slice(constant.length);
  if (UUID.test(m)) m = m.replaceAll("-", "").toLowerCase();
  if (fits(m)) return prefix + m;
  return `${prefix}h${createHash("sha256").update(id, "utf8").digest("hex").slice(0, 31 - prefix.length)}`;
}

// ---------------------------------------------------------------------------------------------
// Processes: emulator, JWKS fallback server, Worker (Miniflare on a real port), the script
// ---------------------------------------------------------------------------------------------

let vars;
let secrets;
let usedJwksFlag;
const outputs = []; // every script run's stdout + stderr, for the leak check

/** True when this tim-emulator binary documents `--jwks` in its help. */
function emulatorSupportsJwks() {
  const r = spawnSync(EMULATOR_BIN, ["--help"], { encoding: "utf8", timeout: 10_000 });
  return `${r.stdout}${r.stderr}`.includes("--jwks");
}

/** Serves scripts/dev-keys/jwks.json at GET /_emulator/jwks (the emulator's path). */
async function startJwksFallback() {
  const body = readFileSync(DEMO_JWKS, "utf8");
  const server = createServer((req, res) => {
    if (req.method === "GET" && req.url === "/_emulator/jwks") {
      res.writeHead(200, { "content-type": "application/json" }).end(body);
    } else {
      res.writeHead(404).end();
    }
  });
  const url = await listenLocal(server);
  return {
    url,
    async close() {
      server.closeAllConnections?.();
      await settlesWithin(new Promise((r) => server.close(r)), 5_000);
    },
  };
}

/** The example's values, with its emulator URLs pointed at this run's servers. */
function bindingsFor(emulatorUrl, jwksUrl) {
  const out = {};
  for (const [k, v] of Object.entries(vars)) {
    if (v.startsWith(`${EXAMPLE_EMULATOR}/_emulator/jwks`)) out[k] = jwksUrl + v.slice(EXAMPLE_EMULATOR.length);
    else if (v.startsWith(EXAMPLE_EMULATOR)) out[k] = emulatorUrl + v.slice(EXAMPLE_EMULATOR.length);
    else out[k] = v;
  }
  return out;
}

/** Runs the script with `args`; resolves to {code, stdout, stderr}. */
function runScript(args) {
  return withTimeout(
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [SCRIPT, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d) => (stdout += d));
      child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code) => {
        outputs.push({ args: args.join(" "), text: stdout + stderr });
        resolve({ code, stdout, stderr });
      });
    }),
    30_000,
    `node scripts/send-webhook.mjs ${args.join(" ")}`,
  );
}

/** Sends with the example's secrets to this run's Worker. */
const send = (...args) => runScript([...args, "--url", s.url, "--vars", EXAMPLE]);

/** The `user id:` and `<status> <body>` lines of a run. */
function parseRun(run) {
  const user = run.stdout.match(/^user id: (\S+)/m)?.[1];
  const answer = run.stdout.match(/^(\d{3}) (.*)$/m);
  const tencent = run.stdout.match(/^Tencent UserID: (\S+)$/m)?.[1];
  return { user, status: answer ? Number(answer[1]) : null, body: answer?.[2], tencent };
}

const s = suite({
  emulator: () => {
    vars = readExample();
    secrets = exampleSecrets(vars);
    usedJwksFlag = emulatorSupportsJwks();
    return {
      sdkappid: vars.TIM_SDKAPPID,
      secretKey: vars.TIM_SECRET_KEY,
      admin: null,
      args: usedJwksFlag ? ["--jwks", DEMO_JWKS] : [],
    };
  },
  services: { jwksServer: () => (usedJwksFlag ? null : startJwksFallback()) },
  bindings: (s) => bindingsFor(s.emulator.url, s.jwksServer?.url ?? s.emulator.url),
  reset: false,
});

// ---------------------------------------------------------------------------------------------

test(".dev.vars.example switches every provider on: /health is 200 with all twelve ready", opts, async (t) => {
  const token = bindingsFor(s.emulator.url, s.emulator.url).TIM_ADMIN_TOKEN;
  const res = await fetch(`${s.url}/health`, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.deepEqual(body.providers, Object.fromEntries(PROVIDERS.map((p) => [p, "ready"])));
  assert.ok(Object.values(body.config).every((v) => v === true), JSON.stringify(body.config));
  // The JWKS is served (by the emulator when it has --jwks) and holds the demo key.
  const jwks = await (await fetch(bindingsFor(s.emulator.url, s.jwksServer?.url ?? s.emulator.url).KINDE_JWKS_URL)).json();
  assert.deepEqual(jwks, JSON.parse(readFileSync(DEMO_JWKS, "utf8")));
  t.diagnostic(`JWKS served by ${usedJwksFlag ? "tim-emulator --jwks" : "the node:http fallback"}`);
});

describe("the default event of every provider imports a fresh user", () => {
  for (const provider of PROVIDERS) {
    test(`${provider}: \`send-webhook.mjs ${provider}\` → 2xx, the mapped UserID is in the emulator`, opts, async () => {
      const run = await send(provider);
      const r = parseRun(run);
      assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
      assert.ok(r.status >= 200 && r.status < 300, run.stdout);
      assert.ok(r.user, `no "user id:" line in\n${run.stdout}`);
      const userId = expectedUserId(provider, r.user);
      const accounts = await s.emulator.accountsFor(userId);
      assert.equal(accounts.length, 1, `no account ${userId} for ${provider} user ${r.user}\n${run.stdout}`);
      assert.equal(r.tencent, userId, `the script printed another Tencent UserID\n${run.stdout}`);
    });
  }
});

describe("every other event the script offers", () => {
  for (const provider of PROVIDERS) {
    const [, ...others] = Object.keys(EVENTS[provider]);
    for (const event of others) {
      const signup = EVENTS[provider][event];
      test(`${provider} ${event}: ${signup ? "imported" : "acknowledged, no account"}`, opts, async () => {
        const before = await s.emulator.callTotal();
        const run = await send(provider, event);
        const r = parseRun(run);
        assert.equal(run.code, 0, `exit ${run.code}\n${run.stdout}\n${run.stderr}`);
        assert.equal(r.status, 200, run.stdout);
        if (signup) {
          assert.equal((await s.emulator.accountsFor(expectedUserId(provider, r.user))).length, 1, run.stdout);
        } else if (event === "verification") {
          assert.equal(JSON.parse(r.body).verification?.length > 0, true, run.stdout);
          assert.equal(await s.emulator.callTotal(), before, "a verification reached Tencent");
        } else if (/update/i.test(event)) {
          // A profile update writes the profile, importing an account Tencent does not know yet;
          // one that changes no profile field (a Supabase sign-in) is acknowledged only.
          const body = JSON.parse(r.body);
          assert.ok(["updated", "ignored"].includes(body.status), run.stdout);
          const accounts = await s.emulator.accountsFor(expectedUserId(provider, r.user));
          assert.equal(accounts.length, body.status === "updated" ? 1 : 0, run.stdout);
        } else {
          const body = JSON.parse(r.body);
          assert.ok(body.status === "ignored" || r.body === "{}", run.stdout);
          assert.equal(await s.emulator.callTotal(), before, `an ignored event reached Tencent\n${run.stdout}`);
          assert.equal((await s.emulator.accountsFor(expectedUserId(provider, r.user))).length, 0);
        }
      });
    }
  }
});

test("repeated sends are never refused as replays: fresh ids each time, or the same --user re-imported", opts, async () => {
  for (const provider of ["clerk", "firebase", "kinde", "okta"]) {
    const [a, b] = [await send(provider), await send(provider)];
    assert.equal(a.code + b.code, 0, `${a.stdout}\n${b.stdout}`);
    assert.notEqual(parseRun(a).user, parseRun(b).user, "the same user id twice");
  }
  // --user: the given id is used (and printed); sent twice, both are accepted.
  const id = "user-live-0f8fad5b-d9cb-469f-a165-70867728950e";
  for (let i = 0; i < 2; i++) {
    const run = await send("stytch", "--user", id);
    assert.equal(run.code, 0, run.stdout);
    assert.equal(parseRun(run).user, id);
  }
  const [account] = await s.emulator.accountsFor("0f8fad5bd9cb469fa16570867728950e");
  assert.ok(account, "the --user id was not imported");
  assert.equal(account.imports, 2, JSON.stringify(account));
});

test("the old form `send-webhook.mjs <webhook URL> [user id]` still sends Clerk's user.created", opts, async () => {
  const id = `user_legacy${Date.now().toString(36)}`;
  const run = await runScript([`${s.url}/webhooks/clerk`, id, "--vars", EXAMPLE]);
  assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
  assert.deepEqual(JSON.parse(parseRun(run).body), { status: "imported", user_id: id });
  assert.equal((await s.emulator.accountsFor(id)).length, 1);
});

test("a wrong secret gets the Worker's 401 and exit status 1; usage errors exit 2", opts, async () => {
  const dir = mkdtempSync(join(tmpdir(), "send-webhook-"));
  try {
    const wrong = join(dir, "wrong.vars");
    writeFileSync(wrong, `WORKOS_WEBHOOK_SECRET=not-the-workers-secret\nCLERK_WEBHOOK_SECRET=whsec_${Buffer.from("another demo secret!!").toString("base64")}\n`);
    for (const provider of ["workos", "clerk"]) {
      const run = await runScript([provider, "--url", s.url, "--vars", wrong]);
      assert.equal(run.code, 1, run.stdout);
      assert.equal(parseRun(run).status, 401, run.stdout);
    }
    // A provider whose setting is missing from the file: named, not sent.
    const missing = await runScript(["okta", "--url", s.url, "--vars", wrong]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /OKTA_WEBHOOK_SECRET is not set/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const unknown = await send("nosuch");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown provider nosuch/);
  const badEvent = await send("clerk", "user.deleted");
  assert.equal(badEvent.code, 2);
  assert.match(badEvent.stderr, /unknown clerk event/);
  const port = await freePort();
  const down = await runScript(["clerk", "--url", `http://127.0.0.1:${port}`, "--vars", EXAMPLE]);
  assert.equal(down.code, 2);
  assert.match(down.stderr, /could not reach/);
});

test("--help lists every provider and event", opts, async () => {
  const run = await runScript(["--help"]);
  assert.equal(run.code, 0);
  for (const provider of PROVIDERS) {
    assert.match(run.stdout, new RegExp(`^  ${provider}  `, "m"), `--help misses ${provider}`);
    for (const event of Object.keys(EVENTS[provider])) {
      assert.ok(run.stdout.includes(`      ${event} `), `--help misses ${provider} ${event}`);
    }
  }
});

test("no secret of .dev.vars.example (or the demo private key) appears in any output of the script", opts, () => {
  assert.ok(outputs.length >= PROVIDERS.length, `only ${outputs.length} runs recorded`);
  for (const { args, text } of outputs) {
    for (const s of secrets) assert.ok(!text.includes(s), `send-webhook.mjs ${args} printed a secret:\n${text}`);
  }
});
