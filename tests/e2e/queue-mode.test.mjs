// Queue mode (docs/queue-mode.md): every webhook verifies, maps and enqueues its jobs and answers at
// once; the same Worker consumes the queue, imports up to 100 accounts per multiaccount_import
// call, retries what failed, and keeps what can never succeed in the D1 table dead_letters, which
// the admin endpoints list, re-drive and delete.
//
// The Worker runs on Miniflare's local Queues and D1 (queueProducers/queueConsumers/d1Databases,
// as in wrangler.toml, with a 1 s batch timeout); Miniflare honours the consumer's retry
// delaySeconds. Every test starts its own queue-mode Worker, so no queued retry of one test can
// reach the emulator during another. Deliveries are signed with the independent signers of
// provider-harness.mjs (svix, standardwebhooks, node:crypto HMAC, shared secrets, jose).
//
// Environment knobs (defaults keep the file around two minutes):
//   QUEUE_E2E_SEED      the emulator's fault generator seed (default 9; printed as a diagnostic)
//   QUEUE_E2E_OUTAGE_S  how long the emulator is down in the outage test (default 15; the
//                       issue's scenario is 60: `QUEUE_E2E_OUTAGE_S=60` — same assertions, ~100 s)
import { test } from "node:test";
import { randomBytes, randomUUID } from "node:crypto";
import {
  assert,
  assertError,
  assertNoLeaks,
  clerkEvent,
  observe,
  observedTexts,
  sleep,
  startEmulator,
  TEST_TIMEOUT_MS,
  withTimeout,
} from "./helpers.mjs";
import {
  compactUuid,
  e2eFixture,
  firebaseBody,
  firebaseClaims,
  fixture,
  logtoHeaders,
  newId,
  PROVIDER_SUITE,
  S,
  signJwt,
  standardHeaders,
  supabaseHeaders,
  svixHeaders,
  workosHeaders,
} from "./provider-harness.mjs";
import { applyMigrations, QUEUE_MODE, suite } from "./fixture.mjs";

const SEED = process.env.QUEUE_E2E_SEED ?? "9";
const OUTAGE_S = Number(process.env.QUEUE_E2E_OUTAGE_S ?? "15");

const s = suite({
  ...PROVIDER_SUITE,
  emulator: { args: ["--seed", SEED] },
  // No suite-wide Worker: each test starts its own (fresh queues and D1).
  workers: {},
  miniflare: QUEUE_MODE,
});

// ---------------------------------------------------------------------------------------------
// Workers, D1, admin endpoints
// ---------------------------------------------------------------------------------------------

/** A queue-mode Worker with every provider on, the dead-letter table created. */
async function queueWorker(overrides = {}) {
  const w = await s.startWorker(overrides);
  await applyMigrations(w);
  return w;
}

const admin = { authorization: `Bearer ${S.adminToken}` };

async function deadLetters(w, query = "") {
  const res = await w.request(`/admin/dead-letters${query}`, { headers: admin });
  assert.equal(res.status, 200, `GET /admin/dead-letters${query}: ${res.status} ${res.text}`);
  return res.json;
}

/** Polls the dead-letter list until it holds `n` rows; returns the list. */
async function waitForDeadLetters(w, n, deadlineMs) {
  const t0 = Date.now();
  for (;;) {
    const list = await deadLetters(w);
    if (list.count >= n || Date.now() - t0 > deadlineMs) return list;
    await sleep(250);
  }
}

// ---------------------------------------------------------------------------------------------
// Signed signups: { provider, body, headers, userId, blocking }. `userId` is the Tencent UserID
// the documented mapping gives (verbatim when the id fits, the compact UUID for UUIDs), computed
// here rather than taken from the Worker.
// ---------------------------------------------------------------------------------------------

const hex = (n) => randomBytes(n).toString("hex");

const MAKERS = {
  // Svix (the official `svix` package).
  clerk() {
    const id = `user_q${hex(10)}`;
    const body = JSON.stringify(clerkEvent({ data: { id } }));
    return { provider: "clerk", body, headers: svixHeaders(body, { secret: S.clerk }), userId: id };
  },
  stytch() {
    const uuid = randomUUID();
    const e = fixture("stytch_user_create.json");
    e.id = `user-test-${uuid}`;
    e.user.user_id = e.id;
    e.event_id = `webhook-event-test-${randomUUID()}`;
    const body = JSON.stringify(e);
    return { provider: "stytch", body, headers: svixHeaders(body, { secret: S.stytch }), userId: compactUuid(uuid) };
  },
  // Standard Webhooks (the official `standardwebhooks` package).
  standard() {
    const e = e2eFixture("standard_user_created.json");
    e.data.id = newId("usr");
    const body = JSON.stringify(e);
    return { provider: "standard", body, headers: standardHeaders(body, { secret: S.standard }), userId: e.data.id };
  },
  // node:crypto HMAC-SHA256, from the documented schemes.
  workos() {
    const e = fixture("workos_user_created.json");
    e.id = newId("event");
    e.data.id = `user_01${hex(10).toUpperCase()}`;
    const body = JSON.stringify(e);
    return { provider: "workos", body, headers: workosHeaders(body), userId: e.data.id };
  },
  logto() {
    const e = e2eFixture("logto_post_register.json");
    e.createdAt = new Date().toISOString();
    const id = `lg${hex(10)}`;
    e.userId = id;
    e.user.id = id;
    const body = JSON.stringify(e);
    return { provider: "logto", body, headers: logtoHeaders(body), userId: id };
  },
  // A shared secret in the documented header.
  "supabase-db"() {
    const uuid = randomUUID();
    const e = fixture("supabase_db_insert.json");
    e.record.id = uuid;
    return { provider: "supabase-db", body: JSON.stringify(e), headers: { "x-webhook-secret": S.supabaseDb }, userId: compactUuid(uuid) };
  },
  // A blocking hook (Supabase Auth before-user-created), signed like GoTrue; answers `{}`.
  supabase() {
    const uuid = randomUUID();
    const e = fixture("supabase_before_user_created.json");
    e.metadata.uuid = randomUUID();
    e.user.id = uuid;
    const body = JSON.stringify(e);
    return { provider: "supabase", body, headers: supabaseHeaders(body), userId: compactUuid(uuid), blocking: true };
  },
};

/** A Firebase beforeCreate (a blocking function, answers `{}`): an RS256 JWT from `jose`. */
async function firebaseSignup() {
  const uid = `uid${hex(9)}`;
  const jwt = await signJwt(firebaseClaims({ uid }), s.jwks.keys.firebase);
  return { provider: "firebase", body: firebaseBody(jwt), headers: {}, userId: uid, blocking: true };
}

/** Delivers a signup; the response plus `ms`, the round trip the sender saw. */
async function deliver(w, signup) {
  const t0 = performance.now();
  const res = await w.deliverTo(signup.provider, signup.body, signup.headers);
  return { ...res, ms: performance.now() - t0 };
}

/** The immediate queue-mode answer: 200 queued with the UserID, or the blocking hook's `{}`. */
function assertQueued(signup, res) {
  assert.equal(res.status, 200, `${signup.provider} ${signup.userId}: ${res.status} ${res.text}`);
  if (signup.blocking) assert.equal(res.text, "{}", `${signup.provider}: ${res.text}`);
  else assert.deepEqual(res.json, { status: "queued", user_id: signup.userId }, `${signup.provider}: ${res.text}`);
}

/** Runs `fn` over `items`, at most `concurrency` at a time; results in order. */
async function pool(items, concurrency, fn) {
  const out = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  });
  await Promise.all(lanes);
  return out;
}

function quantile(xs, q) {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

// ---------------------------------------------------------------------------------------------
// The emulator: stats, waiting, restarting on the same port
// ---------------------------------------------------------------------------------------------

/** `GET /_emulator/stats`: `{calls: {api: n}, breaches: {api: n}}`. */
async function stats() {
  const res = await withTimeout(fetch(`${s.emulator.url}/_emulator/stats`), 10_000, "GET /_emulator/stats");
  const text = await res.text();
  observe("emulator GET /_emulator/stats", text);
  assert.equal(res.status, 200, `GET /_emulator/stats answered ${res.status}: ${text} (rebuild target/release/tim-emulator)`);
  return JSON.parse(text);
}

const sum = (m) => Object.values(m ?? {}).reduce((a, b) => a + b, 0);

/** Each expected UserID exists exactly once, and nothing else exists. */
function assertEachOnce(accounts, expected) {
  const seen = new Map();
  for (const a of accounts) seen.set(a.UserID, (seen.get(a.UserID) ?? 0) + 1);
  assert.deepEqual([...seen].filter(([, n]) => n > 1), [], "a UserID is listed more than once");
  const want = new Set(expected);
  assert.equal(want.size, expected.length, "test bug: the same UserID was signed up twice");
  assert.deepEqual(expected.filter((u) => !seen.has(u)), [], "signups that were never imported");
  assert.deepEqual([...seen.keys()].filter((u) => !want.has(u)), [], "accounts nobody signed up for");
}

// ---------------------------------------------------------------------------------------------

test("2,000 signed signups from seven providers under injected faults: each account once, <= 30 batch calls, no rate breach", { timeout: 300_000 }, async (t) => {
  const N = 2000;
  const w = await queueWorker();
  const kinds = ["clerk", "stytch", "standard", "workos", "logto", "supabase-db", "supabase"];
  const signups = Array.from({ length: N }, (_, i) => MAKERS[kinds[i % kinds.length]]());
  const expected = signups.map((x) => x.userId);

  // Per call: 5% HTTP 502, 5% ErrorCode 70169, 5% truncated JSON (the import happened); per account
  // of a batch: 10% in FailAccounts; the first calls are slow. With seed 9 about a third of the
  // signups meet at least one of them (8 of the 27 batch calls, ~210 accounts land in
  // FailAccounts). The Worker retries a failed call within the consumer invocation first (up to 6
  // attempts), so the queue's own retry delays (30 s and more) are rarely needed. Higher per-call
  // rates would break the bound of 30 batch calls by chance alone (at 15%, seed 4 needs
  // exactly 30), whatever the Worker does.
  await s.faults({
    script: ["latency:1500", "ok", "latency:700", "502", "70169", "malformed"],
    http502_rate: 0.05,
    codes: { 70169: 0.05 },
    malformed_rate: 0.05,
    fail_accounts_rate: 0.1,
  });

  const t0 = Date.now();
  const results = await pool(signups, 32, (x) => deliver(w, x));
  const sentMs = Date.now() - t0;
  signups.forEach((x, i) => assertQueued(x, results[i]));
  const ms = results.map((r) => r.ms);

  const { accounts, missing, ms: waited } = await s.waitForAccounts(expected, 120_000);
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${N} signups not imported within 120 s`);
  await s.waitForQuiet(2_000, 30_000);
  const doneMs = Date.now() - t0;
  const final = await s.accounts();
  assertEachOnce(final, expected);

  // The profile travelled through the queue (AccountList form with Nick and FaceUrl).
  const byId = new Map(final.map((a) => [a.UserID, a]));
  for (const x of signups.filter((x) => x.provider === "clerk")) {
    const a = byId.get(x.userId);
    assert.deepEqual([a.Nick, a.FaceUrl], ["Example Example", "https://img.clerk.com/xxxxxx"], x.userId);
  }

  const st = await stats();
  const { calls } = await s.calls();
  const batchCalls = st.calls.multiaccount_import;
  const singleCalls = st.calls.account_import;
  const batchLog = calls.filter((c) => c.api === "multiaccount_import");
  // FailAccounts the Worker could read (a truncated reply hides them; the batch is then sent again).
  const failAccounts = batchLog.filter((c) => c.fault !== "malformed").flatMap((c) => c.fail_accounts ?? []);
  const batchFaults = batchLog.map((c) => c.fault ?? "ok").join(",");
  const malformedBatch = calls.filter((c) => c.api === "multiaccount_import" && c.fault === "malformed").length;
  const malformedSingle = calls.filter((c) => c.api === "account_import" && c.fault === "malformed").length;
  const faulted = calls.filter((c) => c.fault !== null && c.fault !== "ok").length;
  const extraImports = final.reduce((n, a) => n + a.imports, 0) - N;
  t.diagnostic(
    `seed ${SEED}: ${N} signups sent in ${sentMs} ms (webhook p50 ${quantile(ms, 0.5).toFixed(1)} ms, ` +
      `p99 ${quantile(ms, 0.99).toFixed(1)} ms), all imported after ${doneMs} ms; Tencent calls: ` +
      `${batchCalls} multiaccount_import (${batchLog.filter((c) => c.fault === null || c.fault.startsWith("latency")).length} answered OK), ` +
      `${singleCalls} account_import, ${faulted} with an injected fault, ` +
      `${failAccounts.length} FailAccounts entries, ${extraImports} repeated imports after ${malformedBatch + malformedSingle} truncated replies; ` +
      `batch calls in order: ${batchFaults}; breaches ${JSON.stringify(st.breaches)}`,
  );

  assert.ok(batchCalls <= (N / 100) * 1.5, `${batchCalls} multiaccount_import calls for ${N} signups (at most 30)`);
  assert.ok(batchCalls >= N / 100, `only ${batchCalls} multiaccount_import calls: were the signups batched at all?`);
  assert.ok(failAccounts.length > 0, "no FailAccounts were injected: the fault mix did not apply");
  // Every account a batch could not import got a call of its own.
  const singles = new Set(calls.filter((c) => c.api === "account_import").map((c) => c.user_id));
  assert.deepEqual(failAccounts.filter((u) => !singles.has(u)), [], "FailAccounts without a single-account follow-up");
  // A truncated reply hides a successful import, so its accounts may be imported again; nothing else may.
  assert.ok(extraImports <= 100 * malformedBatch + malformedSingle, `${extraImports} repeated imports, ${malformedBatch}+${malformedSingle} truncated replies`);
  assert.equal(sum(st.breaches), 0, `rate-limit breaches: ${JSON.stringify(st.breaches)}`);
  assert.deepEqual(Object.keys(st.calls).filter((api) => st.calls[api] > 0).sort(), ["account_import", "multiaccount_import"]);
  assert.equal((await deadLetters(w)).count, 0, "a signup was dead-lettered");
  await w.dispose();
});

test("a permanently refused job is a dead letter with its reason; listed, filtered, deleted, re-driven after the fix", { timeout: 120_000 }, async () => {
  const w = await queueWorker();
  assertError(await w.request("/admin/dead-letters"), 401, "unauthorized");
  const wrong = await w.request("/admin/dead-letters", { headers: { authorization: `Bearer ${S.otherToken}` } });
  assertError(wrong, 401, "unauthorized");
  assert.deepEqual(await deadLetters(w), { count: 0, items: [] });

  // 1. Tencent refuses every account for good (70402): two signups alone, each a single import.
  await s.faults({ codes: { 70402: 1 } });
  const t0 = Date.now();
  const a = MAKERS.clerk();
  assertQueued(a, await deliver(w, a));
  let list = await waitForDeadLetters(w, 1, 30_000);
  assert.equal(list.count, 1, JSON.stringify(list));
  const b = MAKERS.stytch();
  assertQueued(b, await deliver(w, b));
  list = await waitForDeadLetters(w, 2, 30_000);
  assert.equal(list.count, 2, JSON.stringify(list));
  assert.deepEqual(await s.accounts(), []);

  const rowA = list.items.find((it) => it.job.user_id === a.userId);
  const rowB = list.items.find((it) => it.job.user_id === b.userId);
  assert.ok(rowA && rowB, JSON.stringify(list));
  assert.equal(typeof rowA.id, "string");
  assert.notEqual(rowA.id, rowB.id);
  assert.deepEqual(
    { ...rowA.job, event_id: undefined, at: undefined },
    { v: 1, op: "import", provider: "clerk", user_id: a.userId, nick: "Example Example", face_url: "https://img.clerk.com/xxxxxx", event_id: undefined, at: undefined },
  );
  assert.equal(rowA.code, 70402);
  assert.match(rowA.reason, /rejected/i);
  assert.equal(rowA.attempts, 1, "a permanent refusal is not retried");
  assert.ok(rowA.first_seen >= t0 && rowA.first_seen <= rowA.last_seen && rowA.last_seen <= Date.now(), JSON.stringify(rowA));
  assert.equal(rowB.job.provider, "stytch");
  // Newest first.
  assert.deepEqual(list.items.map((it) => it.job.user_id), [b.userId, a.userId]);

  // Filters.
  assert.deepEqual((await deadLetters(w, "?provider=stytch")).items.map((it) => it.id), [rowB.id]);
  assert.equal((await deadLetters(w, "?code=70402")).count, 2);
  assert.equal((await deadLetters(w, "?code=40601")).count, 0);
  assert.deepEqual((await deadLetters(w, `?user_id=${a.userId}`)).items.map((it) => it.id), [rowA.id]);
  const one = await deadLetters(w, "?limit=1");
  assert.equal(one.count, 2);
  assert.equal(one.items.length, 1);

  // The cause is removed; B is deleted, A re-driven.
  await s.faults({});
  const del = await w.request(`/admin/dead-letters/${rowB.id}`, { method: "DELETE", headers: admin });
  assert.equal(del.status, 200, del.text);
  assert.deepEqual(del.json, { deleted: 1 });
  const again = await w.request(`/admin/dead-letters/${rowB.id}`, { method: "DELETE", headers: admin });
  assert.equal(again.status, 404, again.text);
  const retry = await w.request("/admin/dead-letters/retry", {
    method: "POST",
    headers: { ...admin, "content-type": "application/json" },
    body: JSON.stringify({ ids: [rowA.id] }),
  });
  assert.equal(retry.status, 200, retry.text);
  assert.deepEqual(retry.json, { requeued: 1, remaining: 0 });
  const { missing } = await s.waitForAccounts([a.userId], 30_000);
  assert.deepEqual(missing, []);
  await s.waitForQuiet(1_500, 10_000);
  assert.deepEqual(await s.accounts(), [{ UserID: a.userId, Nick: "Example Example", FaceUrl: "https://img.clerk.com/xxxxxx", imports: 1 }]);
  assert.deepEqual(await deadLetters(w), { count: 0, items: [] });

  // 2. In a batch: FailAccounts, then the single-account follow-up of one of them is refused.
  await s.reset();
  await s.faults({ script: ["fail_accounts", "ok", "70402", "ok"] });
  const trio = [MAKERS.clerk(), MAKERS.workos(), MAKERS["supabase-db"]()];
  // At once, so the three are one queue batch (the consumer waits 1 s for a batch to fill).
  const answers = await Promise.all(trio.map((x) => deliver(w, x)));
  trio.forEach((x, i) => assertQueued(x, answers[i]));
  list = await waitForDeadLetters(w, 1, 30_000);
  await s.waitForQuiet(1_500, 10_000);
  const { calls } = await s.calls();
  assert.equal(calls[0]?.api, "multiaccount_import", `the three signups were not one batch: ${JSON.stringify(calls)}`);
  assert.deepEqual([...calls[0].fail_accounts].sort(), trio.map((x) => x.userId).sort());
  const refused = calls.filter((c) => c.api === "account_import" && c.error_code === 70402).map((c) => c.user_id);
  assert.equal(refused.length, 1, JSON.stringify(calls));
  assert.equal(list.count, 1, JSON.stringify(list));
  assert.equal(list.items[0].job.user_id, refused[0]);
  assert.equal(list.items[0].code, 70402);
  assert.match(list.items[0].reason, /rejected/i);
  const others = trio.map((x) => x.userId).filter((u) => u !== refused[0]);
  assert.deepEqual((await s.accounts()).map((x) => x.UserID).sort(), others.sort());

  // Re-drive everything ({}), now that the script is used up.
  const all = await w.request("/admin/dead-letters/retry", { method: "POST", headers: admin, body: "{}" });
  assert.deepEqual(all.json, { requeued: 1, remaining: 0 }, all.text);
  const done = await s.waitForAccounts(trio.map((x) => x.userId), 30_000);
  assert.deepEqual(done.missing, []);
  await s.waitForQuiet(1_500, 10_000);
  assertEachOnce(await s.accounts(), trio.map((x) => x.userId));
  assert.ok((await s.accounts()).every((x) => x.imports === 1), JSON.stringify(await s.accounts()));
  const empty = await w.request("/admin/dead-letters/retry", { method: "POST", headers: admin, body: "{}" });
  assert.deepEqual(empty.json, { requeued: 0, remaining: 0 }, empty.text);
  await w.dispose();
});

test("the queue refuses the job: the webhook imports directly within the sender's budget, else 503; no D1 is 503", { timeout: TEST_TIMEOUT_MS }, async () => {
  // TIM_QUEUE is a binding whose send/sendBatch throw what Queues throws when it refuses messages
  // (a wrappedBindings module: Miniflare's own queues cannot be made to refuse). No D1 either.
  const w = await s.startWorker({}, {
    queueProducers: undefined,
    queueConsumers: undefined,
    d1Databases: undefined,
    wrappedBindings: { TIM_QUEUE: "refusing-queue" },
    workers: [
      {
        name: "refusing-queue",
        modules: true,
        script: `export default function () {
          const refuse = async () => { throw new Error("Queue sendBatch failed: Too Many Requests"); };
          return { send: refuse, sendBatch: refuse };
        }`,
      },
    ],
  });

  const a = MAKERS.clerk();
  const res = await deliver(w, a);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { status: "imported", user_id: a.userId });
  assert.deepEqual(await s.accounts(), [{ UserID: a.userId, Nick: "Example Example", FaceUrl: "https://img.clerk.com/xxxxxx", imports: 1 }]);
  const { calls } = await s.calls();
  assert.deepEqual(calls.map((c) => [c.api, c.user_id]), [["account_import", a.userId]]);
  const logs = w.logs.join("");
  assert.match(logs, /"tim":"enqueue_failed"/);
  assert.match(logs, /Too Many Requests/);

  // Neither queue nor Tencent: a blocking hook gets 503 within its 3.5 s budget, nothing is
  // acknowledged, and the sender's retry imports once Tencent is back.
  await s.faults({ http502_rate: 1 });
  const b = MAKERS.supabase();
  const down = await deliver(w, b);
  assertError(down, 503, "tencent_unavailable");
  assert.ok(down.ms < 5_000, `503 after ${down.ms} ms`);
  assert.deepEqual((await s.accountsFor(b.userId)), []);
  await s.faults({});
  const retried = await deliver(w, { ...b, headers: supabaseHeaders(b.body) });
  assert.equal(retried.status, 200, retried.text);
  assert.equal(retried.text, "{}");
  assert.equal((await s.accountsFor(b.userId)).length, 1);

  // The dead-letter endpoints need D1.
  const list = await w.request("/admin/dead-letters", { headers: admin });
  assertError(list, 503, "storage_unavailable");
  const redrive = await w.request("/admin/dead-letters/retry", { method: "POST", headers: admin, body: "{}" });
  assertError(redrive, 503, "storage_unavailable");
  await w.dispose();
});

// Last: it replaces the suite's emulator with the one it restarts.
test(`Tencent down for ${OUTAGE_S} s while signups arrive: every webhook 2xx within 200 ms, every account imported after it is back`, { timeout: (OUTAGE_S + 180) * 1000 }, async (t) => {
  const w = await queueWorker();
  // Warm up (Firebase keys fetched, wasm compiled), before the outage.
  for (const warm of [MAKERS.clerk(), await firebaseSignup()]) {
    assertQueued(warm, await deliver(w, warm));
    assert.deepEqual((await s.waitForAccounts([warm.userId], 20_000)).missing, []);
  }
  await s.waitForQuiet(1_000, 10_000);

  const port = s.emulator.port;
  await s.emulator.crash();
  const downAt = Date.now();
  const kinds = ["supabase", "firebase", "clerk", "stytch", "standard", "workos", "logto", "supabase-db"];
  const sent = [];
  let k = 0;
  // Four senders, each about 10 signups a second, for the whole outage.
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (Date.now() - downAt < OUTAGE_S * 1000) {
        const kind = kinds[k++ % kinds.length];
        const signup = kind === "firebase" ? await firebaseSignup() : MAKERS[kind]();
        sent.push({ signup, res: await deliver(w, signup) });
        await sleep(100);
      }
    }),
  );
  s.emulator = await startEmulator(["--seed", SEED], { port });
  const upAt = Date.now();

  for (const { signup, res } of sent) {
    assertQueued(signup, res);
    assert.ok(res.ms < 200, `${signup.provider} answered after ${res.ms.toFixed(0)} ms`);
  }
  assert.ok(sent.some((x) => x.signup.provider === "supabase") && sent.some((x) => x.signup.provider === "firebase"));

  const expected = sent.map((x) => x.signup.userId);
  const { missing, ms } = await s.waitForAccounts(expected, 170_000);
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${expected.length} not imported ${ms} ms after the emulator came back`);
  await s.waitForQuiet(2_000, 30_000);
  // The restarted emulator starts empty: exactly the signups of the outage, each once.
  const accounts = await s.accounts();
  assertEachOnce(accounts, expected);
  assert.ok(accounts.every((a) => a.imports === 1), "an account was imported twice");
  assert.equal((await deadLetters(w)).count, 0);
  const st = await stats();
  assert.equal(sum(st.breaches), 0, JSON.stringify(st));
  const lat = sent.map((x) => x.res.ms);
  t.diagnostic(
    `outage ${((upAt - downAt) / 1000).toFixed(1)} s, ${sent.length} signups (webhook p50 ${quantile(lat, 0.5).toFixed(1)} ms, ` +
      `p99 ${quantile(lat, 0.99).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms); all imported ${ms} ms after the emulator ` +
      `came back, with ${st.calls.multiaccount_import} multiaccount_import + ${st.calls.account_import} account_import calls`,
  );
  await w.dispose();
});

test("no response body, Worker log or emulator output carried a secret or a UserSig", () => {
  assertNoLeaks(observedTexts());
});
