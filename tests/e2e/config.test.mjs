// Configuration: missing settings are 500 config_missing naming the variable (never its value),
// GET /health reports readiness per variable as booleans without revealing any value, and
// TIM_LOG_DELIVERIES chooses which answered deliveries are logged.
import { test } from "node:test";
import {
  assert,
  assertError,
  assertNoLeaks,
  clerkEvent,
  deliverSigned,
  fullBindings,
  hideSecrets,
  newUserId,
  observedTexts,
  secretsToHide,
  sleep,
  TEST_TIMEOUT_MS,
} from "./helpers.mjs";
import { suite } from "./fixture.mjs";

const opts = { timeout: TEST_TIMEOUT_MS };
const REQUIRED = ["TIM_SDKAPPID", "TIM_SECRET_KEY"];
const CONFIG_ADMIN_TOKEN = `cfg-admin-${newUserId("tok")}`;
hideSecrets(CONFIG_ADMIN_TOKEN);
const s = suite({
  bindings: (s) => fullBindings(s.emulator, { TIM_ADMIN_TOKEN: CONFIG_ADMIN_TOKEN }),
  workers: {
    full: {},
    noKey: { TIM_SECRET_KEY: undefined },
    noWebhookSecret: { CLERK_WEBHOOK_SECRET: undefined },
    noAppId: { TIM_SDKAPPID: undefined },
    errorsOnly: { TIM_LOG_DELIVERIES: "errors" },
    badLogSetting: { TIM_LOG_DELIVERIES: "loud" },
  },
});
const workers = s.workers; // filled in by the suite's before hook

function assertNoSecretIn(text) {
  for (const s of secretsToHide()) assert.ok(!text.includes(s), `body reveals a secret: ${text}`);
}

test("missing TIM_SECRET_KEY: a signed signup is 500 config_missing naming it, without secrets", opts, async () => {
  const res = await deliverSigned(workers.noKey, clerkEvent({ data: { id: newUserId("nokey") } }));
  assertError(res, 500, "config_missing");
  assert.match(res.json.message, /TIM_SECRET_KEY/);
  assertNoSecretIn(res.text);
  assert.equal(await s.callTotal(), 0);
});

test("missing CLERK_WEBHOOK_SECRET: the Clerk route is 404 provider_not_configured naming it, without secrets", opts, async () => {
  const res = await deliverSigned(workers.noWebhookSecret, clerkEvent({ data: { id: newUserId("nowh") } }));
  assertError(res, 404, "provider_not_configured");
  assert.match(res.json.message, /CLERK_WEBHOOK_SECRET/);
  assertNoSecretIn(res.text);
  assert.equal(await s.callTotal(), 0);
});

test("missing TIM_SDKAPPID: a signed signup is 500 config_missing naming it", opts, async () => {
  const res = await deliverSigned(workers.noAppId, clerkEvent({ data: { id: newUserId("noapp") } }));
  assertError(res, 500, "config_missing");
  assert.match(res.json.message, /TIM_SDKAPPID/);
  assertNoSecretIn(res.text);
  assert.equal(await s.callTotal(), 0);
});

/** The `"tim":"delivery"` log lines `worker` wrote for `userId` so far. */
const deliveryLines = (worker, userId) =>
  worker.logs.join("").split("\n").filter((l) => l.includes('"tim":"delivery"') && l.includes(userId));

test("TIM_LOG_DELIVERIES=errors: a clean signup is imported without its log line, which the default writes", opts, async () => {
  const loud = newUserId("logall");
  const quiet = newUserId("logerr");
  const a = await deliverSigned(workers.full, clerkEvent({ data: { id: loud } }));
  const b = await deliverSigned(workers.errorsOnly, clerkEvent({ data: { id: quiet } }));
  assert.equal(a.status, 200, a.text);
  assert.equal(b.status, 200, b.text);
  assert.equal(b.json.status, "imported", b.text);
  assert.equal((await s.accountsFor(quiet)).length, 1);
  // workerd's output arrives on its own pipe: wait for the default Worker's line, then a while.
  for (let i = 0; i < 40 && deliveryLines(workers.full, loud).length === 0; i++) await sleep(50);
  assert.equal(deliveryLines(workers.full, loud).length, 1, workers.full.logs.join(""));
  await sleep(300);
  assert.deepEqual(deliveryLines(workers.errorsOnly, quiet), []);
});

test("TIM_LOG_DELIVERIES with another value: 500 config_invalid naming it, before any Tencent call", opts, async () => {
  const before = await s.callTotal();
  const res = await deliverSigned(workers.badLogSetting, clerkEvent({ data: { id: newUserId("logbad") } }));
  assertError(res, 500, "config_invalid");
  assert.match(res.json.message, /TIM_LOG_DELIVERIES/);
  assert.ok(!res.text.includes("loud"), `the answer shows the value: ${res.text}`);
  assert.equal(await s.callTotal(), before);
});

test("GET /health with the full configuration: 200, ready, every item true, no values", opts, async () => {
  const res = await workers.full.health();
  assert.equal(res.status, 200, res.text);
  assert.ok(res.json, res.text);
  assert.equal(res.json.ready, true);
  const config = res.json.config;
  for (const name of REQUIRED) assert.ok(name in config, `config lacks ${name}: ${res.text}`);
  for (const [name, ok] of Object.entries(config)) {
    assert.equal(ok, true, `config.${name} is ${JSON.stringify(ok)}, expected true`);
  }
  assert.equal(res.json.providers.clerk, "ready");
  assert.equal(res.json.providers.okta, "off");
  assert.equal(res.json.region_mode, "auto");
  assert.equal(res.json.origin, s.emulator.url);
  assertNoSecretIn(res.text);
  assert.ok(!res.text.includes("e2e_admin"), `health shows the admin value: ${res.text}`);
  assert.ok(!res.text.includes("1400054321"), `health shows the SDKAppID value: ${res.text}`);
});

test("GET /health without TIM_SECRET_KEY: 503, not ready, config.TIM_SECRET_KEY false", opts, async () => {
  const res = await workers.noKey.health();
  assert.equal(res.status, 503, res.text);
  assert.equal(res.json.ready, false);
  assert.equal(res.json.config.TIM_SECRET_KEY, false);
  assert.equal(res.json.providers.clerk, "ready");
  assert.equal(res.json.config.TIM_SDKAPPID, true);
  assertNoSecretIn(res.text);
});

test("GET /health with no provider configured: 503 and providers.clerk off", opts, async () => {
  const res = await workers.noWebhookSecret.health();
  assert.equal(res.status, 503, res.text);
  assert.equal(res.json.ready, false);
  assert.equal(res.json.providers.clerk, "off");
  assert.equal(res.json.config.TIM_SECRET_KEY, true);
  assertNoSecretIn(res.text);
});

test("GET /health without the admin token: readiness only, no providers, region or origin", opts, async () => {
  for (const [name, w, status] of [["full", workers.full, 200], ["noKey", workers.noKey, 503]]) {
    const res = await w.request("/health");
    assert.equal(res.status, status, `${name}: ${res.text}`);
    assert.equal(res.json?.ready, status === 200, res.text);
    assert.deepEqual(Object.keys(res.json).sort(), ["detail", "ready"], res.text);
    assert.ok(!res.text.includes("clerk") && !res.text.includes(s.emulator.url), res.text);
  }
  const wrong = await workers.full.request("/health", { headers: { authorization: "Bearer not-the-token" } });
  assertError(wrong, 401, "unauthorized");
});

test("GET /health never calls Tencent", opts, async () => {
  for (const w of Object.values(workers)) await w.request("/health");
  assert.equal(await s.callTotal(), 0);
});

test("no response body, Worker log or emulator output carried a secret or a UserSig", opts, () => {
  assertNoLeaks(observedTexts());
});
