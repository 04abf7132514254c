// Happy path: Clerk's documented signup, signed by svix and by standardwebhooks, lands in the
// emulator exactly once; other events are acknowledged without an upstream call; routing errors.
import { test } from "node:test";
import {
  assert,
  assertError,
  assertNoLeaks,
  clerkEvent,
  clerkFixture,
  newUserId,
  observedTexts,
  standardHeaders,
  svixHeaders,
  TEST_TIMEOUT_MS,
} from "./helpers.mjs";
import { suite } from "./fixture.mjs";

const opts = { timeout: TEST_TIMEOUT_MS };
const s = suite();

test("Clerk's documented user.created, signed with svix, is imported once with its profile", opts, async () => {
  const body = JSON.stringify(clerkFixture());
  const res = await s.deliver(body, svixHeaders(body));
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { status: "imported", user_id: "user_29w83sxmDNGwOuEthce5gg56FcC" });
  assert.deepEqual(await s.accounts(), [
    {
      UserID: "user_29w83sxmDNGwOuEthce5gg56FcC",
      Nick: "Example Example",
      FaceUrl: "https://img.clerk.com/xxxxxx",
      imports: 1,
    },
  ]);
  const calls = await s.calls();
  assert.equal(calls.total, 1, JSON.stringify(calls));
  assert.deepEqual(calls.calls[0], { api: "account_import", user_id: "user_29w83sxmDNGwOuEthce5gg56FcC", error_code: 0, http_status: 200, fault: null });
});

test("a signup signed with standardwebhooks and webhook-* headers is imported", opts, async () => {
  const userId = newUserId("std");
  const body = JSON.stringify(clerkEvent({ data: { id: userId } }));
  const headers = standardHeaders(body);
  assert.ok(!Object.keys(headers).some((h) => h.startsWith("svix-")), "test bug: svix headers sent");
  const res = await s.deliver(body, headers);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { status: "imported", user_id: userId });
  assert.deepEqual(await s.accounts(), [
    { UserID: userId, Nick: "Example Example", FaceUrl: "https://img.clerk.com/xxxxxx", imports: 1 },
  ]);
  assert.equal(await s.callTotal(), 1);
});

test("a sender retry (same svix-id, signed anew) is a 200 duplicate and keeps one account", opts, async () => {
  const userId = newUserId("dup");
  const body = JSON.stringify(clerkEvent({ data: { id: userId } }));
  const msgId = `msg_dup_${userId}`;
  const first = await s.deliver(body, svixHeaders(body, { msgId }));
  assert.equal(first.status, 200, first.text);
  assert.equal(first.json.status, "imported");
  // Svix re-signs every attempt with a new timestamp.
  const retry = await s.deliver(body, svixHeaders(body, { msgId, date: new Date(Date.now() + 2000) }));
  assert.equal(retry.status, 200, retry.text);
  assert.equal(retry.json.status, "duplicate");
  assert.equal(await s.callTotal(), 1, "the duplicate reached Tencent");
  const accounts = await s.accountsFor(userId);
  assert.equal(accounts.length, 1, JSON.stringify(accounts));
  assert.equal((await s.accounts()).length, 1);
});

test("an event that is not about a user's life (session.created, signed) is acknowledged as ignored without an upstream call", opts, async () => {
  const body = JSON.stringify(clerkEvent({ type: "session.created", data: { id: newUserId("upd") } }));
  const res = await s.deliver(body, svixHeaders(body));
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json, { status: "ignored", event: "session.created" });
  assert.equal(await s.callTotal(), 0);
  assert.deepEqual(await s.accounts(), []);
});

test("a correctly signed body that is not JSON is 400 malformed_payload without an upstream call", opts, async () => {
  for (const body of ["this is not json", '{"type":"user.created","data":{"first_name":"no id"}}']) {
    const res = await s.deliver(body, svixHeaders(body));
    assertError(res, 400, "malformed_payload");
  }
  assert.equal(await s.callTotal(), 0);
});

test("wrong method is 405 with Allow, unknown path is 404", opts, async () => {
  const get = await s.request("/webhooks/clerk");
  assertError(get, 405, "method_not_allowed");
  assert.equal(get.headers.get("allow"), "POST");
  const post = await s.request("/health", { method: "POST", body: "{}" });
  assertError(post, 405, "method_not_allowed");
  assert.equal(post.headers.get("allow"), "GET");
  const missing = await s.request("/webhooks/unknown", { method: "POST", body: "{}" });
  assertError(missing, 404, "not_found");
  assert.equal(await s.callTotal(), 0);
});

test("no response body, Worker log or emulator output carried a secret or a UserSig", opts, () => {
  assertNoLeaks(observedTexts());
});
