// Authenticity: every delivery that is not signed by the Clerk secret for this exact body and a
// timestamp within 300 s is refused with 401 before anything reaches Tencent.
import { test } from "node:test";
import {
  alignToSecond,
  assert,
  assertError,
  assertNoLeaks,
  clerkEvent,
  newUserId,
  observedTexts,
  OTHER_WEBHOOK_SECRET,
  standardHeaders,
  svixHeaders,
  TEST_TIMEOUT_MS,
} from "./helpers.mjs";
import { suite } from "./fixture.mjs";

const opts = { timeout: TEST_TIMEOUT_MS };
const s = suite();

const signupBody = () => JSON.stringify(clerkEvent({ data: { id: newUserId("sig") } }));

/** Delivers and asserts 401 with `code`, and that the emulator saw no call. */
async function assertRefused(body, headers, code) {
  const callsBefore = await s.callTotal();
  const res = await s.deliver(body, headers);
  assertError(res, 401, code);
  assert.equal(await s.callTotal(), callsBefore, "a refused delivery reached Tencent");
  assert.deepEqual(await s.accounts(), []);
  return res;
}

test("a well-formed signature made with another secret is 401 invalid_signature", opts, async () => {
  const body = signupBody();
  await assertRefused(body, svixHeaders(body, { secret: OTHER_WEBHOOK_SECRET }), "invalid_signature");
  await assertRefused(body, standardHeaders(body, { secret: OTHER_WEBHOOK_SECRET }), "invalid_signature");
});

test("a valid signature for a different body is 401 invalid_signature", opts, async () => {
  const signed = signupBody();
  const sent = signupBody();
  assert.notEqual(signed, sent);
  await assertRefused(sent, svixHeaders(signed), "invalid_signature");
  // One changed byte (a trailing space) is enough.
  await assertRefused(`${signed} `, svixHeaders(signed), "invalid_signature");
});

test("a valid signature under another message id is 401 invalid_signature", opts, async () => {
  const body = signupBody();
  const headers = svixHeaders(body);
  headers["svix-id"] = "msg_replayed_under_another_id";
  await assertRefused(body, headers, "invalid_signature");
});

test("a stale timestamp (now - 301 s, correctly signed for it) is 401 timestamp_out_of_tolerance", opts, async () => {
  const body = signupBody();
  const date = new Date(Date.now() - 301_000);
  await assertRefused(body, svixHeaders(body, { date }), "timestamp_out_of_tolerance");
  await assertRefused(body, standardHeaders(body, { date }), "timestamp_out_of_tolerance");
});

test("a future timestamp (now + 301 s, correctly signed for it) is 401 timestamp_out_of_tolerance", opts, async () => {
  const body = signupBody();
  // Start early in a second so that the Worker's clock reads the same second as ours.
  await alignToSecond();
  const date = new Date(Date.now() + 301_000);
  await assertRefused(body, svixHeaders(body, { date }), "timestamp_out_of_tolerance");
});

test("timestamps inside the tolerance (now -/+ 290 s) are accepted", opts, async () => {
  for (const offset of [-290_000, 290_000]) {
    const body = signupBody();
    const res = await s.deliver(body, svixHeaders(body, { date: new Date(Date.now() + offset) }));
    assert.equal(res.status, 200, `offset ${offset}: ${res.text}`);
  }
  assert.equal((await s.accounts()).length, 2);
});

test("a truncated signature (first 20 characters of a valid one) is 401 invalid_signature", opts, async () => {
  const body = signupBody();
  const headers = svixHeaders(body);
  headers["svix-signature"] = headers["svix-signature"].slice(0, 20);
  assert.equal(headers["svix-signature"].length, 20);
  await assertRefused(body, headers, "invalid_signature");
});

test("missing signature headers are 401 signature_missing", opts, async () => {
  const body = signupBody();
  await assertRefused(body, {}, "signature_missing");
  for (const name of ["svix-id", "svix-timestamp", "svix-signature"]) {
    const headers = svixHeaders(body);
    delete headers[name];
    await assertRefused(body, headers, "signature_missing");
  }
  for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
    const headers = standardHeaders(body);
    delete headers[name];
    await assertRefused(body, headers, "signature_missing");
  }
});

test("no response body, Worker log or emulator output carried a secret or a UserSig", opts, () => {
  assertNoLeaks(observedTexts());
});
