// Transient Tencent trouble: retried inside one request (HTTP 502, transient codes, truncated
// JSON, an attempt that outlives the client timeout) without ever creating a duplicate account;
// when it does not clear, 503 tencent_unavailable with Retry-After so the sender retries later.
import { test } from "node:test";
import {
  assert,
  assertError,
  assertNoLeaks,
  assertRetryAfter,
  clerkEvent,
  newUserId,
  observedTexts,
  TEST_TIMEOUT_MS,
} from "./helpers.mjs";
import { suite } from "./fixture.mjs";

const opts = { timeout: TEST_TIMEOUT_MS };
const s = suite();

test("502, 70169 and a truncated answer are retried: one delivery, 200, one account, 4 calls", opts, async () => {
  await s.faults({ script: ["502", "70169", "malformed", "ok"] });
  const userId = newUserId("flaky");
  const res = await s.deliverSigned(clerkEvent({ data: { id: userId } }));
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { status: "imported", user_id: userId });

  const accounts = await s.accounts();
  assert.equal(accounts.length, 1, JSON.stringify(accounts));
  assert.equal(accounts[0].UserID, userId);
  assert.equal(accounts[0].Nick, "Example Example");
  // The truncated answer came after a real import; the final retry updated the same account.
  assert.equal(accounts[0].imports, 2);

  const calls = await s.calls();
  assert.equal(calls.total, 4, JSON.stringify(calls));
  assert.deepEqual(
    calls.calls.map((c) => [c.user_id, c.fault, c.http_status, c.error_code]),
    [
      [userId, "502", 502, null],
      [userId, "70169", 200, 70169],
      [userId, "malformed", 200, 0],
      [userId, null, 200, 0],
    ],
  );
});

test("an answer slower than the client timeout is retried and stays idempotent", opts, async () => {
  await s.faults({ script: ["latency:5000", "ok"] });
  const userId = newUserId("slow");
  const started = Date.now();
  const res = await s.deliverSigned(clerkEvent({ data: { id: userId } }));
  const elapsed = Date.now() - started;
  assert.equal(res.status, 200, res.text);
  // The Worker must give up on the first attempt (4 s client timeout), not wait the full 5 s.
  assert.ok(elapsed < 5_000, `the delivery took ${elapsed} ms; the 4 s attempt timeout did not fire`);
  assert.ok(elapsed >= 3_500, `the delivery took only ${elapsed} ms; the slow attempt was not waited for`);

  const accounts = await s.accountsFor(userId);
  assert.equal(accounts.length, 1, JSON.stringify(accounts));
  assert.equal((await s.accounts()).length, 1);
  const calls = await s.calls();
  assert.equal(calls.total, 2, JSON.stringify(calls));
  assert.equal(calls.calls[0].fault, "latency:5000");
});

test("other transient codes (40006, 70202, 70500) are retried too", opts, async () => {
  await s.faults({ script: ["40006", "70202", "70500", "ok"] });
  const userId = newUserId("codes");
  const res = await s.deliverSigned(clerkEvent({ data: { id: userId } }));
  assert.equal(res.status, 200, res.text);
  assert.equal(await s.callTotal(), 4);
  assert.equal((await s.accountsFor(userId)).length, 1);
});

test("Tencent's rate limit (60007) is waited out and retried", opts, async () => {
  await s.faults({ script: ["60007", "ok"] });
  const userId = newUserId("rate");
  const res = await s.deliverSigned(clerkEvent({ data: { id: userId } }));
  assert.equal(res.status, 200, res.text);
  assert.equal(await s.callTotal(), 2);
  assert.equal((await s.accountsFor(userId)).length, 1);
});

test("an expired admin UserSig (70001) is re-signed and retried once", opts, async () => {
  await s.faults({ script: ["70001", "ok"] });
  const userId = newUserId("exp");
  const res = await s.deliverSigned(clerkEvent({ data: { id: userId } }));
  assert.equal(res.status, 200, res.text);
  assert.equal(await s.callTotal(), 2);
  assert.equal((await s.accountsFor(userId)).length, 1);
});

test("persistent transient errors (70500 every time) end in 503 tencent_unavailable with Retry-After", opts, async () => {
  await s.faults({ codes: { 70500: 1.0 } });
  const userId = newUserId("down");
  const started = Date.now();
  const res = await s.deliverSigned(clerkEvent({ data: { id: userId } }));
  const elapsed = Date.now() - started;
  assertError(res, 503, "tencent_unavailable");
  assertRetryAfter(res);
  // Retried, within the documented limits: at most 6 attempts and a 10 s budget.
  const calls = await s.calls();
  assert.ok(calls.total >= 2, `no retry: ${JSON.stringify(calls)}`);
  assert.ok(calls.total <= 6, `more than 6 attempts: ${calls.total}`);
  assert.ok(calls.calls.every((c) => c.error_code === 70500 && c.user_id === userId), JSON.stringify(calls));
  assert.ok(elapsed < 11_000, `took ${elapsed} ms, over the 10 s budget`);
  assert.deepEqual(await s.accounts(), []);
});

test("persistent HTTP 502 ends in 503 tencent_unavailable with Retry-After", opts, async () => {
  await s.faults({ http502_rate: 1.0 });
  const res = await s.deliverSigned(clerkEvent({ data: { id: newUserId("gw") } }));
  assertError(res, 503, "tencent_unavailable");
  assertRetryAfter(res);
  const total = await s.callTotal();
  assert.ok(total >= 2 && total <= 6, `attempts: ${total}`);
});

test("an upstream that never answers in time ends in 503 within the 10 s budget", opts, async () => {
  await s.faults({ latency_ms: 6000 });
  const started = Date.now();
  const res = await s.deliverSigned(clerkEvent({ data: { id: newUserId("hang") } }));
  const elapsed = Date.now() - started;
  assertError(res, 503, "tencent_unavailable");
  assertRetryAfter(res);
  // 10 s budget plus request overhead; what matters is ending well before Svix gives up (15 s).
  assert.ok(elapsed <= 11_000, `took ${elapsed} ms, over the 10 s budget`);
  assert.ok(elapsed >= 7_500, `gave up after ${elapsed} ms, well before the budget`);
  const total = await s.callTotal();
  assert.ok(total >= 2 && total <= 6, `attempts: ${total}`);
});

test("no response body, Worker log or emulator output carried a secret or a UserSig", opts, () => {
  assert.ok(s.logs.length > 0, "the Worker logged nothing during retries; the log leak check would be vacuous");
  assertNoLeaks(observedTexts());
});
