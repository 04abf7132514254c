// Operator faults: problems only a human can fix (account cap of the edition, wrong secret key)
// are 502 tencent_refused with Retry-After: 300, so the sender keeps the signup and retries later.
import { test } from "node:test";
import { randomBytes } from "node:crypto";
import {
  assert,
  assertError,
  assertNoLeaks,
  assertRetryAfter,
  clerkEvent,
  deliverSigned,
  newUserId,
  observedTexts,
  TEST_TIMEOUT_MS,
} from "./helpers.mjs";
import { suite } from "./fixture.mjs";

const opts = { timeout: TEST_TIMEOUT_MS };
const WRONG_KEY = randomBytes(32).toString("hex");
const s = suite({
  emulator: { args: ["--account-cap", "1"] },
  workers: { main: {}, wrongKey: { TIM_SECRET_KEY: WRONG_KEY } },
});

test("over the account cap (70398) the next new user is 502 tencent_refused, Retry-After 300", opts, async () => {
  const first = newUserId("cap1");
  const ok = await s.deliverSigned(clerkEvent({ data: { id: first } }));
  assert.equal(ok.status, 200, ok.text);

  const second = newUserId("cap2");
  const res = await s.deliverSigned(clerkEvent({ data: { id: second } }));
  assertError(res, 502, "tencent_refused");
  assertRetryAfter(res, 300);
  const calls = await s.calls();
  assert.equal(calls.total, 2, `an operator fault was retried: ${JSON.stringify(calls)}`);
  assert.equal(calls.calls[1].error_code, 70398);
  assert.deepEqual((await s.accounts()).map((a) => a.UserID), [first]);

  // Re-importing the existing user is not a new account, so the cap does not apply.
  const again = await s.deliverSigned(clerkEvent({ data: { id: first } }));
  assert.equal(again.status, 200, again.text);
});

test("a wrong TIM_SECRET_KEY (Tencent answers 70009) is 502 tencent_refused, Retry-After 300", opts, async () => {
  const res = await deliverSigned(s.workers.wrongKey, clerkEvent({ data: { id: newUserId("key") } }));
  assertError(res, 502, "tencent_refused");
  assertRetryAfter(res, 300);
  const calls = await s.calls();
  assert.ok(calls.total >= 1, "the emulator was never called");
  assert.ok(calls.calls.every((c) => c.error_code === 70009), JSON.stringify(calls));
  assert.equal(calls.total, 1, `a wrong key was retried: ${JSON.stringify(calls)}`);
  assert.deepEqual(await s.accounts(), []);
  assert.ok(!res.text.includes(WRONG_KEY), "the response echoes the configured key");
});

test("an admin the app does not have (70403) is 502 tencent_refused", opts, async () => {
  const w = await s.startWorker({ TIM_ADMIN: "not_an_admin" });
  try {
    const res = await deliverSigned(w, clerkEvent({ data: { id: newUserId("adm") } }));
    assertError(res, 502, "tencent_refused");
    assertRetryAfter(res, 300);
    assert.equal((await s.calls()).calls[0]?.error_code, 70403);
  } finally {
    await w.dispose();
  }
});

test("no response body, Worker log or emulator output carried a secret or a UserSig", opts, () => {
  assertNoLeaks(observedTexts(), [WRONG_KEY]);
});
